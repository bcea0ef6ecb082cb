"""SLA watch (the state a ticket message shows, and when to look again) and storms (the reports
of each ticket, joined ones included, and a lock row per team).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

Plain SQLAlchemy types only (never the model classes), so this file means the same thing forever.
Existing tickets get their opening report as their first `ticket_report` row, and unresolved ones
are looked at by the SLA watch at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
USER = sa.String(length=255)


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(
            sa.Column("sla_shown", sa.String(length=16), server_default="ok", nullable=False)
        )
        batch.add_column(sa.Column("sla_check_at", TIMESTAMP, nullable=True))
        batch.create_index(batch.f("ix_ticket_sla_check_at"), ["sla_check_at"])
    op.create_table(
        "ticket_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("reporter", USER, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=True),
        sa.Column("lead", sa.String(length=255), nullable=True),
        sa.Column("joined", sa.Boolean(), nullable=False),
        sa.Column("conversation_key", sa.String(length=64), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("reported_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_report_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_report")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_ticket_report_ticket_id"), "ticket_report", ["ticket_id"])
    op.create_index(op.f("ix_ticket_report_reporter"), "ticket_report", ["reporter"])
    op.create_index(op.f("ix_ticket_report_reported_at"), "ticket_report", ["reported_at"])
    op.create_table(
        "storm_lock",
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("touched_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("team", name=op.f("pk_storm_lock")),
    )
    op.execute(
        "INSERT INTO ticket_report (ticket_id, reporter, text, topic, joined, reported_at) "
        "SELECT id, reporter, text, article_id, false, created_at FROM ticket"
    )
    op.execute("UPDATE ticket SET sla_check_at = created_at WHERE status <> 'resolved'")


def downgrade() -> None:
    op.drop_table("storm_lock")
    op.drop_table("ticket_report")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index(batch.f("ix_ticket_sla_check_at"))
        batch.drop_column("sla_check_at")
        batch.drop_column("sla_shown")
