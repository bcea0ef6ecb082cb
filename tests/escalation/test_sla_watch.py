"""The SLA watch on SQLite and PostgreSQL: each change of a ticket's SLA state refreshes its
message once, whatever the number of workers, and a resolved ticket leaves the watch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from escalation import outbox
from escalation.clock import FixedClock
from escalation.db import make_engine, session
from escalation.models import Ticket
from escalation.sla import next_sla_change
from escalation.sla_watch import SlaWorker, due_checks, mark_stale
from escalation.tickets import acknowledge, open_ticket, resolve
from tests.dbfixtures import run_at_once


@dataclass(frozen=True)
class Targets:
    sla_ack_minutes: int = 30
    sla_resolve_hours: int = 24


def refresh(db: Session, ticket: Ticket) -> bool:
    """What the engineers' channel does, minus the rendering: one queued edit per refresh."""
    args = {"channel": "C0ENGINEERS", "ts": f"1.{ticket.id}", "text": ticket.sla_shown}
    outbox.enqueue(db, method="chat.update", args=args, clock=FixedClock())
    return True


def watch(engine: Engine, clock: FixedClock) -> SlaWorker:
    return SlaWorker(engine, clock, targets=Targets(), refresh=refresh)


def edits(engine: Engine) -> int:
    with session(engine) as db:
        return len(outbox.pending(db))


def open_one(engine: Engine, clock: FixedClock) -> int:
    with session(engine) as db:
        ticket = open_ticket(
            db, reporter="U0R", source="test", text="x", decision=None, clock=clock
        )
        assert ticket.id is not None
        return ticket.id


def test_the_next_change_is_near_then_past_of_each_running_clock(clock: FixedClock) -> None:
    ticket = Ticket(reporter="U0R", source="t", text="x", created_at=clock.now())

    first = next_sla_change(ticket, clock.now(), Targets())
    then = next_sla_change(ticket, clock.now() + timedelta(minutes=24), Targets())

    assert first == clock.now() + timedelta(minutes=24)
    assert then == clock.now() + timedelta(minutes=30, seconds=1)


def test_each_change_refreshes_once_and_resolving_ends_the_watch(
    engine: Engine, clock: FixedClock
) -> None:
    ticket = open_one(engine, clock)
    worker = watch(engine, clock)
    worker.run_once()
    assert edits(engine) == 0

    clock.advance(minutes=24)
    worker.run_once()
    worker.run_once()
    assert edits(engine) == 1

    clock.advance(minutes=7)
    worker.run_once()
    assert edits(engine) == 2
    with session(engine) as db:
        acknowledge(db, ticket, "U0ENGINEER", clock)
        resolve(db, ticket, "U0ENGINEER", "fixed", clock)

    clock.advance(days=3)
    worker.run_once()
    assert edits(engine) == 2
    with session(engine) as db:
        assert db.get(Ticket, ticket).sla_check_at is None  # type: ignore[union-attr]
        assert due_checks(db, clock.now() + timedelta(days=365)) == []


def test_two_workers_refresh_each_ticket_once(
    engine: Engine, database_url: str, clock: FixedClock
) -> None:
    for _ in range(8):
        open_one(engine, clock)
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        clock.advance(minutes=24)
        workers = [watch(e, clock) for e in engines]
        looked = run_at_once(*(w.run_once for w in workers))
    finally:
        for e in engines:
            e.dispose()

    assert sum(looked) == 8, looked
    assert edits(engine) == 8


def test_a_ticket_resolved_before_its_message_could_be_edited_is_edited_once_then_left(
    engine: Engine, clock: FixedClock
) -> None:
    """Resolved in the moment its message's `ts` was not stored yet: marked stale, so the
    watch edits it once even though a resolved ticket's SLA no longer changes."""
    ticket_id = open_one(engine, clock)
    with session(engine) as db:
        resolve(db, ticket_id, "U0ENGINEER", "fixed", clock)
        mark_stale(db, db.get_one(Ticket, ticket_id), clock)
    worker = watch(engine, clock)

    worker.run_once()
    worker.run_once()

    assert edits(engine) == 1
    with session(engine) as db:
        assert due_checks(db, clock.now() + timedelta(days=30)) == []
