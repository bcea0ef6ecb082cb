"""Initial schema: tickets with their event trail, the conversation log, and feedback.

Revision ID: 0001
Revises:
Create Date: 2025-01-06

Plain SQLAlchemy types only (never the model classes), so this file means the same thing forever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
USER = sa.String(length=255)
ENUM = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporter", USER, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("severity", ENUM, nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("article_id", sa.String(length=255), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("acknowledged_by", USER, nullable=True),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_by", USER, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_ticket_reporter"), "ticket", ["reporter"])
    op.create_index(op.f("ix_ticket_status"), "ticket", ["status"])
    op.create_index(op.f("ix_ticket_team"), "ticket", ["team"])

    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("actor", USER, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_event_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_event")),
    )
    op.create_index(op.f("ix_ticket_event_ticket_id"), "ticket_event", ["ticket_id"])

    op.create_table(
        "conversation_turn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_key", sa.String(length=255), nullable=False),
        sa.Column("user_id", USER, nullable=False),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("outcome", ENUM, nullable=True),
        sa.Column("article_id", sa.String(length=255), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_conversation_turn_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_turn")),
    )
    op.create_index(
        op.f("ix_conversation_turn_conversation_key"), "conversation_turn", ["conversation_key"]
    )
    op.create_index(op.f("ix_conversation_turn_user_id"), "conversation_turn", ["user_id"])
    op.create_index(op.f("ix_conversation_turn_ticket_id"), "conversation_turn", ["ticket_id"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_key", sa.String(length=255), nullable=False),
        sa.Column("user_id", USER, nullable=False),
        sa.Column("article_id", sa.String(length=255), nullable=True),
        sa.Column("solved", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(op.f("ix_feedback_conversation_key"), "feedback", ["conversation_key"])
    op.create_index(op.f("ix_feedback_article_id"), "feedback", ["article_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("conversation_turn")
    op.drop_table("ticket_event")
    op.drop_table("ticket")
