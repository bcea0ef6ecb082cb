"""Learned lessons (examples and counter-examples from outcomes) and what solved a ticket.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Plain SQLAlchemy types only (never the model classes), so this file means the same thing forever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("solved_by", sa.String(length=255), nullable=True))
        batch.create_index(batch.f("ix_ticket_solved_by"), ["solved_by"])
    op.create_table(
        "learned_lesson",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("article_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("teacher", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("conversation_key", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_learned_lesson_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_lesson")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_learned_lesson_article_id"), "learned_lesson", ["article_id"])
    op.create_index(
        op.f("ix_learned_lesson_conversation_key"), "learned_lesson", ["conversation_key"]
    )
    op.create_index(op.f("ix_learned_lesson_ticket_id"), "learned_lesson", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("learned_lesson")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index(batch.f("ix_ticket_solved_by"))
        batch.drop_column("solved_by")
