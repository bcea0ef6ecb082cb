"""Slack requests received and handled: the receiving half of exactly-once (the outbox sends).

Two tables. `slack_receipt` holds each request that needs an answer from before its ack until
the work it causes commits, so a process killed in between loses nothing: a replica finds the
receipt after its lease and handles it again. `slack_event` holds the key of every request
handled, written in the same transaction as the work (which also deletes the receipt), so a
redelivered event (`X-Slack-Retry-Num`), a copy on another replica, or a replayed receipt finds
the key and does nothing, across restarts and replicas alike. Functions flush but never commit.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from escalation.clock import Clock
from escalation.models import SlackEvent, SlackReceipt, metadata

log = logging.getLogger(__name__)

_DROPPING = "jethro_dropping_receipts"
_committed = threading.local()
"""Per thread: receipt keys whose drop committed, until `receipt_dropped_here` reads them."""

RECEIPT_LEASE = timedelta(seconds=30)
"""How long the process that received a request has to handle it before another one may. Handling
takes milliseconds; a replay of work that did finish changes nothing (its key is claimed)."""
REPLAY_BACKOFF_CAP = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=12)
"""Receipts are replayed for this long, then dropped (logged): well before the handled keys are
forgotten (a day), so a late replay can never handle an event twice."""


@dataclass(frozen=True)
class Receipt:
    """A stored request to replay: the body exactly as Slack sent it."""

    key: str
    body: str
    content_type: str
    attempts: int


def claim_event(session: Session, key: str, clock: Clock) -> bool:
    """Record `key` as handled and drop its receipt; False when it was handled before, by this
    process or another one (the caller then does nothing, and the receipt is dropped all the same).

    A concurrent claim of the same key waits for the other transaction: if it commits, this one
    gets False; if it rolls back, this one gets the key.
    """
    claimed = claim_events(session.connection(), [key], clock.now())
    session.info.setdefault(_DROPPING, []).append(key)
    return key in claimed


def claim_events(connection: sa.Connection, keys: list[str], now: datetime) -> set[str]:
    """`claim_event` for several keys in two statements: the keys claimed now (the others were
    handled before). Their receipts are dropped; once the transaction has committed, each
    thread that asked for a key tells `dropped_here` (`claim_event` does that for its own)."""
    statement = insert_unless_kept(connection.dialect.name, SlackEvent.__tablename__, "key")
    rows = [{"key": key, "received_at": now} for key in keys]
    claimed = set(connection.execute(statement, rows).scalars())
    connection.execute(_DROP_RECEIPTS, {"keys": keys})
    return claimed


_DROP_RECEIPTS = sa.delete(SlackReceipt).where(
    col(SlackReceipt.key).in_(sa.bindparam("keys", expanding=True))
)


def dropped_here(*keys: str) -> None:
    """The receipts of `keys` were dropped by a transaction that has committed (this thread's,
    or one another thread wrote on its behalf): `receipt_dropped_here` is then true for them."""
    _committed.keys = getattr(_committed, "keys", set()) | set(keys)


def receipt_dropped_here(key: str) -> bool:
    """Whether a transaction of this thread that dropped `key`'s receipt (`claim_event`) has
    committed since the last call: the listener's completion then has nothing to check."""
    dropped: set[str] = getattr(_committed, "keys", set())
    _committed.keys = set()
    return key in dropped


@sa.event.listens_for(Session, "after_commit")
def _note_dropped(session: Session) -> None:
    keys = session.info.pop(_DROPPING, None)
    if keys:
        dropped_here(*keys)


def forget_events(session: Session, before: datetime) -> int:
    """Drop keys older than `before`; Slack stops retrying an event within the hour."""
    result = session.connection().execute(
        sa.delete(SlackEvent).where(col(SlackEvent.received_at) < before)
    )
    return result.rowcount


def store_receipt(
    connection: sa.Connection,
    *,
    key: str,
    body: str,
    content_type: str,
    owner: str,
    now: datetime,
) -> bool:
    """Keep a request until its work is done; False if a receipt with `key` is already kept (a
    copy delivered to another replica, which handles it or leaves it for a replay)."""
    table = metadata.tables[SlackReceipt.__tablename__]
    values = _receipt_row(key, body, content_type, owner, now)
    return _insert_new(connection, table, values, returning=table.c.key).scalar() is not None


def store_receipts(connection: sa.Connection, receipts: list[dict[str, Any]]) -> None:
    """`store_receipt` for several requests in one statement (`bot.receipts.GroupCommit`); each
    dict has `key`, `body`, `content_type`, `owner` and `now`. A key already kept is skipped."""
    rows = [_receipt_row(**receipt) for receipt in receipts]
    statement = insert_unless_kept(connection.dialect.name, SlackReceipt.__tablename__, None)
    connection.execute(statement, rows)


def _receipt_row(
    key: str, body: str, content_type: str, owner: str, now: datetime
) -> dict[str, Any]:
    return {
        "key": key,
        "body": body,
        "content_type": content_type,
        "received_at": now,
        "claimed_by": owner,
        "claimed_until": now + RECEIPT_LEASE,
        "attempts": 0,
    }


def drop_receipt(connection: sa.Connection, key: str) -> None:
    connection.execute(_DROP_RECEIPT, {"key": key})


_DROP_RECEIPT = sa.delete(SlackReceipt).where(col(SlackReceipt.key) == sa.bindparam("key"))


def receipt_kept(connection: sa.Connection, key: str) -> bool:
    """Whether `key` still has a receipt: a read, so checking first spares a write (and on
    SQLite the write lock) when the work already dropped it, as it nearly always has."""
    return connection.execute(_RECEIPT_KEPT, {"key": key}).first() is not None


_RECEIPT_KEPT = sa.select(col(SlackReceipt.key)).where(col(SlackReceipt.key) == sa.bindparam("key"))


def claim_receipts(
    session: Session,
    *,
    owner: str,
    now: datetime,
    limit: int,
    taking_over: datetime | None = None,
) -> list[Receipt]:
    """Lease up to `limit` receipts whose lease ran out, oldest first, for `owner` to replay.

    `taking_over`: also those another process received at or before this time, whatever their
    lease (a process just started takes over what the one it replaces left; a live replica's
    receipt taken this way is handled once all the same). Receipts past `GIVE_UP_AFTER` are
    dropped and logged. Rows are locked `SKIP LOCKED` on PostgreSQL; on SQLite the caller holds
    the write lock (`BEGIN IMMEDIATE`).
    """
    _give_up(session, now)
    due = col(SlackReceipt.claimed_until) <= now
    if taking_over is not None:
        orphaned = sa.and_(
            col(SlackReceipt.claimed_by) != owner, col(SlackReceipt.received_at) <= taking_over
        )
        due = sa.or_(due, orphaned)
    query = (
        select(SlackReceipt)
        .where(due)
        .order_by(col(SlackReceipt.received_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.exec(query))
    for receipt in claimed:
        receipt.attempts += 1
        receipt.claimed_by = owner
        receipt.claimed_until = now + _replay_lease(receipt.attempts)
    session.flush()
    return [Receipt(r.key, r.body, r.content_type, r.attempts) for r in claimed]


def pending_receipts(session: Session) -> list[SlackReceipt]:
    """Requests received and not yet known to be handled, oldest first: for operators and tests."""
    return list(session.exec(select(SlackReceipt).order_by(col(SlackReceipt.received_at))))


def _replay_lease(attempts: int) -> timedelta:
    """The lease doubles with each replay, so a request that keeps failing is not a busy loop."""
    return min(REPLAY_BACKOFF_CAP, RECEIPT_LEASE * (1 << min(attempts, 10)))


def _give_up(session: Session, now: datetime) -> None:
    old = col(SlackReceipt.received_at) < now - GIVE_UP_AFTER
    gone = session.connection().execute(
        sa.delete(SlackReceipt).where(old).returning(col(SlackReceipt.key))
    )
    for key in gone.scalars():
        log.error("gave up on Slack request %s: still not handled after %s", key, GIVE_UP_AFTER)


def _insert_new(
    connection: sa.Connection, table: sa.Table, values: dict[str, Any], *, returning: Any
) -> sa.CursorResult[Any]:
    """INSERT unless the `key` exists, safely against a concurrent insert of the same key."""
    statement = insert_unless_kept(connection.dialect.name, table.name, returning.name)
    return connection.execute(statement, values)


@functools.cache
def insert_unless_kept(dialect: str, table_name: str, returning: str | None) -> sa.Insert:
    """INSERT ... ON CONFLICT (key) DO NOTHING [RETURNING `returning`], built once per table:
    building it was a good part of what a claim cost."""
    table = metadata.tables[table_name]
    statement: sa.Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:
        raise NotImplementedError(f"keys are deduplicated on PostgreSQL and SQLite, not {dialect}")
    return statement if returning is None else statement.returning(table.c[returning])
