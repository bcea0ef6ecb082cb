"""On-call overrides: someone standing in for a team's layer for a while.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Plain SQLAlchemy types only (never the model classes), so this file means the same thing forever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
USER = sa.String(length=255)


def upgrade() -> None:
    op.create_table(
        "oncall_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("layer", sa.String(length=32), nullable=False),
        sa.Column("user_id", USER, nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", USER, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_override")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_oncall_override_team"), "oncall_override", ["team"])
    op.create_index(op.f("ix_oncall_override_ends_at"), "oncall_override", ["ends_at"])


def downgrade() -> None:
    op.drop_table("oncall_override")
