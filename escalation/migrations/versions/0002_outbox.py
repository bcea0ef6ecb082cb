"""The outbox: Slack Web API calls stored with the change that caused them, sent by a worker.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-13

Plain SQLAlchemy types only (never the model classes), so this file means the same thing forever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ENUM = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("after_sent", sa.String(length=64), nullable=True),
        sa.Column("ref", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("attempted_at", TIMESTAMP, nullable=True),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_message_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_outbox_message_channel"), "outbox_message", ["channel"])
    op.create_index(op.f("ix_outbox_message_status"), "outbox_message", ["status"])
    op.create_index(
        op.f("ix_outbox_message_next_attempt_at"), "outbox_message", ["next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("outbox_message")
