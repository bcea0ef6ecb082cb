"""Slack: conversations by thread, events already handled, and where each ticket's message is.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-20

Plain SQLAlchemy types only (never the model classes), so this file means the same thing forever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
USER = sa.String(length=255)
ENUM = sa.String(length=32)
TS = sa.String(length=32)


def upgrade() -> None:
    op.add_column("ticket", sa.Column("slack_channel", sa.String(length=255), nullable=True))
    op.add_column("ticket", sa.Column("slack_ts", TS, nullable=True))

    op.create_table(
        "slack_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("reporter", USER, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("thread_ts", TS, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("outcome", ENUM, nullable=False),
        sa.Column("article_id", sa.String(length=255), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("state", ENUM, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_slack_conversation_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_conversation")),
        sa.UniqueConstraint("key", name=op.f("uq_slack_conversation_key")),
        sa.UniqueConstraint(
            "channel", "thread_ts", name=op.f("uq_slack_conversation_channel_thread_ts")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_slack_conversation_reporter"), "slack_conversation", ["reporter"])
    op.create_index(op.f("ix_slack_conversation_state"), "slack_conversation", ["state"])
    op.create_index(op.f("ix_slack_conversation_ticket_id"), "slack_conversation", ["ticket_id"])

    op.create_table(
        "slack_event",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_slack_event")),
    )
    op.create_index(op.f("ix_slack_event_received_at"), "slack_event", ["received_at"])


def downgrade() -> None:
    op.drop_table("slack_event")
    op.drop_table("slack_conversation")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("slack_ts")
        batch.drop_column("slack_channel")
