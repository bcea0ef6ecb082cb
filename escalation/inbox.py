"""Slack events already handled: the receiving half of exactly-once (the outbox sends).

Slack redelivers an event it thinks was lost (`X-Slack-Retry-Num`), and with several replicas the
copies can land on different processes. The event's key is stored in the same transaction as the
work it caused, so a copy finds it and does nothing, across restarts and replicas alike. Functions
flush but never commit.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from escalation.clock import Clock
from escalation.models import SlackEvent, metadata


def claim_event(session: Session, key: str, clock: Clock) -> bool:
    """Record `key`; False when it was recorded before, by this process or another one.

    A concurrent claim of the same key waits for the other transaction: if it commits, this one
    gets False; if it rolls back, this one gets the key.
    """
    table = metadata.tables[SlackEvent.__tablename__]
    dialect = session.get_bind().dialect.name
    values = {"key": key, "received_at": clock.now()}
    statement: sa.Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:
        raise NotImplementedError(
            f"events are deduplicated on PostgreSQL and SQLite, not {dialect}"
        )
    inserted = session.connection().execute(statement.values(**values).returning(table.c.key))
    return inserted.scalar() is not None


def forget_events(session: Session, before: datetime) -> int:
    """Drop keys older than `before`; Slack stops retrying an event within the hour."""
    result = session.connection().execute(
        sa.delete(SlackEvent).where(col(SlackEvent.received_at) < before)
    )
    return result.rowcount
