"""Receipts: Slack requests stored before they are acknowledged, until the work they cause is done.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

Plain SQLAlchemy types only (never the model classes), so this file means the same thing forever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "slack_receipt",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("claimed_until", TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_slack_receipt")),
    )
    op.create_index(op.f("ix_slack_receipt_claimed_until"), "slack_receipt", ["claimed_until"])


def downgrade() -> None:
    op.drop_table("slack_receipt")
