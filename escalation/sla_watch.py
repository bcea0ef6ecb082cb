"""The SLA watch: a ticket's channel message is re-rendered when its SLA flag changes, unclicked.

Each unresolved ticket carries `sla_check_at`, the next moment its SLA state may change
(`escalation.sla.next_sla_change`), and `sla_shown`, the state its message shows now. `run_due`
claims due tickets one transaction each, locking the row (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
`BEGIN IMMEDIATE` on SQLite, as the escalation timers do). When the state differs from the one
shown, the caller's `refresh` enqueues the message update in that same transaction and the new
state is stored with it, so each change is shown once across replicas and restarts. A resolved
ticket leaves the watch. Nothing here renders or talks to Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from escalation.clock import Clock
from escalation.db import session as unit_of_work
from escalation.models import Ticket
from escalation.sla import SlaTargets, next_sla_change, sla_state
from escalation.worker import DueWorker, Work, claim_each_due, note_queued

log = logging.getLogger(__name__)

BATCH = 20
RECHECK = timedelta(hours=1)
"""Looked at at least this often, so new targets (a restart with other settings) apply soon."""
NOT_POSTED_RETRY = timedelta(minutes=1)
"""A ticket whose channel message is not posted yet (Slack away) is looked at again this soon."""
RETRY = timedelta(minutes=1)
"""A check that failed (a bug, the database away) is tried again this much later."""

STALE = "stale"
"""`sla_shown` of a ticket whose message changed while it could not be edited (a storm's report
joined, or an engineer acknowledged, before its `ts` was stored): no SLA state equals it, so the
watch edits the message, resolved or not."""

Refresh = Callable[[Session, Ticket], bool]
"""Enqueue the ticket message's update in the session; False if it has no message yet."""


def run_due(
    engine: Engine, clock: Clock, *, targets: SlaTargets, refresh: Refresh, limit: int = BATCH
) -> int:
    """Look at up to `limit` due tickets; returns how many were looked at."""
    return claim_each_due(
        engine,
        clock,
        _DUE,
        lambda s, ticket: _check(s, ticket, clock.now(), targets, refresh),
        any_due=_ANY_DUE,
        postpone=lambda ticket_id, until: _postpone(engine, ticket_id, until),
        retry=RETRY,
        what="SLA check of ticket #{}",
        limit=limit,
    )


def _postpone(engine: Engine, ticket_id: int, until: datetime) -> None:
    """One ticket whose message cannot be rendered must not hold up every other one."""
    with unit_of_work(engine) as s:
        ticket = s.get(Ticket, ticket_id, with_for_update=True)
        if ticket is not None and ticket.sla_check_at is not None:
            ticket.sla_check_at = until
            s.add(ticket)


def _check(
    s: Session, ticket: Ticket, now: datetime, targets: SlaTargets, refresh: Refresh
) -> None:
    state = sla_state(ticket, now, targets)
    upcoming = next_sla_change(ticket, now, targets)
    if upcoming is not None:
        upcoming = min(upcoming, now + RECHECK)
    stale = ticket.sla_shown == STALE  # changed while unpostable: re-rendered even if resolved
    if state != ticket.sla_shown and (upcoming is not None or stale):
        if refresh(s, ticket):
            log.info("ticket #%s: SLA %s -> %s", ticket.id, ticket.sla_shown, state)
            ticket.sla_shown = state
        else:
            upcoming = now + NOT_POSTED_RETRY
    ticket.sla_check_at = upcoming
    s.add(ticket)
    s.flush()


def mark_stale(session: Session, ticket: Ticket, clock: Clock) -> None:
    """Have the watch re-render the ticket message as soon as it can be edited."""
    ticket.sla_shown = STALE
    ticket.sla_check_at = clock.now()
    session.add(ticket)
    session.flush()
    note_queued(session, Work.SLA)


def _due_query() -> SelectOfScalar[Ticket]:
    """Built once, with the parameter `now`: building a query costs more Python time than
    running it, and the watch asks at every poll."""
    return (
        select(Ticket)
        .where(col(Ticket.sla_check_at) <= sa.bindparam("now"))
        .order_by(col(Ticket.sla_check_at), col(Ticket.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )


_DUE = _due_query()
_ANY_DUE = sa.select(col(Ticket.id)).where(col(Ticket.sla_check_at) <= sa.bindparam("now")).limit(1)


def due_checks(session: Session, now: datetime) -> list[Ticket]:
    """Tickets the watch should look at by `now`: for operators and tests."""
    query = select(Ticket).where(col(Ticket.sla_check_at) <= now)
    return list(session.exec(query))


class SlaWorker(DueWorker):
    """Re-renders the messages of tickets whose SLA flag is due to change."""

    name = "jethro-sla"
    batch = BATCH

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        targets: SlaTargets,
        refresh: Refresh,
        after: Callable[[], None] = lambda: None,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__(engine, clock, after=after, poll_seconds=poll_seconds)
        self.targets = targets
        self.refresh = refresh

    def run_due(self) -> int:
        return run_due(self.engine, self.clock, targets=self.targets, refresh=self.refresh)
