"""Escalation steps: a ticket's paging policy, one due step at a time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Plain SQLAlchemy types only (never the model classes), so this file means the same thing forever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "escalation_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("notify", sa.JSON(), nullable=False),
        sa.Column("wait_minutes", sa.Integer(), nullable=False),
        sa.Column("rest", sa.JSON(), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_escalation_step_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_step")),
        sa.UniqueConstraint(
            "ticket_id", "position", name=op.f("uq_escalation_step_ticket_id_position")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_escalation_step_ticket_id"), "escalation_step", ["ticket_id"])
    op.create_index(op.f("ix_escalation_step_status"), "escalation_step", ["status"])
    op.create_index(op.f("ix_escalation_step_due_at"), "escalation_step", ["due_at"])


def downgrade() -> None:
    op.drop_table("escalation_step")
