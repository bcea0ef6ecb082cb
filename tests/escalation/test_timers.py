"""Escalation timers on SQLite and PostgreSQL: pages in order, stopped by an acknowledgement,
carried on after a restart, and never sent twice by two workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.paging import page_messages
from escalation.clock import FixedClock
from escalation.db import make_engine, session
from escalation.models import StepStatus
from escalation.oncall import SAMPLE_ONCALL, active_overrides, add_override, load_oncall
from escalation.outbox import pending
from escalation.tickets import acknowledge, open_ticket
from escalation.timers import (
    EscalationWorker,
    Page,
    paged_users,
    pending_steps,
    start_escalation,
)
from knowledge.article import Severity
from tests.dbfixtures import run_at_once

SCHEDULE = load_oncall(SAMPLE_ONCALL)
NOW = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)
# network that week: primary U0NET002, secondary U0NET003; ack 5 min, secondary 10 min.
PRIMARY, SECONDARY, NETWORK_CHANNEL = "U0NET002", "U0NET003", "C0NETWORK"
ENGINEERS = "C0ENGINEERS"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def worker(engine: Engine, clock: FixedClock) -> EscalationWorker:
    return EscalationWorker(
        engine, clock, schedule=SCHEDULE, compose=page_messages, channel=ENGINEERS
    )


def escalate(
    engine: Engine,
    clock: FixedClock,
    team: str = "network",
    severity: Severity = Severity.NORMAL,
    text: str = "the office wifi is down",
) -> int:
    with session(engine) as db:
        ticket = open_ticket(
            db,
            reporter="U0REPORTER",
            source="test",
            text=text,
            decision=None,
            clock=clock,
            team=team,
            severity=severity,
        )
        start_escalation(db, ticket, SCHEDULE, active_overrides(db, team, clock.now()), clock)
        assert ticket.id is not None
        return ticket.id


def sent(engine: Engine) -> list[dict[str, Any]]:
    """Every page queued for Slack so far, oldest first."""
    with session(engine) as db:
        return [message.args for message in pending(db)]


def dms(engine: Engine) -> list[str]:
    return [args["channel"] for args in sent(engine) if args["channel"].startswith("U")]


def test_the_primary_is_paged_at_once_by_direct_message(engine: Engine, clock: FixedClock) -> None:
    ticket = escalate(engine, clock, text="wifi down <!here> @channel")
    with session(engine) as db:
        assert paged_users(db, ticket) == [PRIMARY]  # named before the page even goes out

    assert worker(engine, clock).run_once() == 1

    [page] = sent(engine)
    assert page["channel"] == PRIMARY
    assert f"ticket #{ticket}" in page["text"] and "<#C0NETWORK>" in page["text"]
    assert "<!here>" not in page["text"] and "&lt;!here&gt;" in page["text"]
    assert "@channel" not in page["text"]


def test_without_an_ack_the_secondary_then_the_channel_are_paged(
    engine: Engine, clock: FixedClock
) -> None:
    ticket = escalate(engine, clock)
    jethro = worker(engine, clock)
    jethro.run_once()

    clock.advance(minutes=4, seconds=59)
    assert jethro.run_once() == 0
    clock.advance(seconds=1)
    assert jethro.run_once() == 1
    assert dms(engine) == [PRIMARY, SECONDARY]
    assert f"<@{PRIMARY}> did not acknowledge" in sent(engine)[1]["text"]

    clock.advance(minutes=9)
    assert jethro.run_once() == 0
    clock.advance(minutes=1)
    jethro.run_once()
    here = sent(engine)[2]
    assert here["channel"] == NETWORK_CHANNEL
    assert here["text"].startswith(f"<!here> Ticket #{ticket}")
    assert f"<@{PRIMARY}>, <@{SECONDARY}>" in here["text"]
    with session(engine) as db:
        assert paged_users(db, ticket) == [PRIMARY, SECONDARY]
        assert pending_steps(db) == []


def test_an_acknowledgement_stops_the_escalation(engine: Engine, clock: FixedClock) -> None:
    ticket = escalate(engine, clock)
    jethro = worker(engine, clock)
    jethro.run_once()
    clock.advance(minutes=2)
    with session(engine) as db:
        acknowledge(db, ticket, PRIMARY, clock)

    clock.advance(hours=1)
    assert jethro.run_once() == 1  # the secondary's step, dropped
    assert dms(engine) == [PRIMARY]
    with session(engine) as db:
        assert pending_steps(db) == []


def test_a_critical_ticket_pages_primary_and_secondary_together(
    engine: Engine, clock: FixedClock
) -> None:
    escalate(engine, clock, severity=Severity.CRITICAL)
    jethro = worker(engine, clock)
    jethro.run_once()
    assert dms(engine) == [PRIMARY, SECONDARY]

    clock.advance(minutes=5)
    jethro.run_once()
    assert sent(engine)[-1]["text"].startswith("<!here>")


def test_a_high_ticket_pages_the_secondary_sooner(engine: Engine, clock: FixedClock) -> None:
    escalate(engine, clock, severity=Severity.HIGH)
    jethro = worker(engine, clock)
    jethro.run_once()
    clock.advance(minutes=3)
    jethro.run_once()

    assert dms(engine) == [PRIMARY, SECONDARY]


def test_an_override_made_meanwhile_is_who_gets_paged(engine: Engine, clock: FixedClock) -> None:
    escalate(engine, clock)
    jethro = worker(engine, clock)
    jethro.run_once()
    with session(engine) as db:
        end = NOW + timedelta(hours=4)
        add_override(db, "network", "secondary", "U0COVER1", NOW, end, "U0LEAD", clock)

    clock.advance(minutes=5)
    jethro.run_once()

    assert dms(engine) == [PRIMARY, "U0COVER1"]


def test_nobody_on_call_goes_straight_to_the_channel(engine: Engine) -> None:
    before_the_rota = FixedClock(datetime(2025, 12, 1, 12, 0, tzinfo=UTC))
    escalate(engine, before_the_rota, team="facilities")

    worker(engine, before_the_rota).run_once()

    [here] = sent(engine)
    assert here["channel"] == ENGINEERS and "nobody" in here["text"]


def test_a_team_without_a_schedule_is_not_paged(engine: Engine, clock: FixedClock) -> None:
    escalate(engine, clock, team="hr")

    assert worker(engine, clock).run_once() == 0
    assert sent(engine) == []


def test_a_restart_mid_policy_carries_on_without_repeating_a_step(
    engine: Engine, database_url: str, clock: FixedClock
) -> None:
    escalate(engine, clock)
    worker(engine, clock).run_once()

    restarted = make_engine(database_url)
    try:
        clock.advance(minutes=5)
        again = worker(restarted, clock)
        assert again.run_once() == 1
        assert again.run_once() == 0
    finally:
        restarted.dispose()

    assert dms(engine) == [PRIMARY, SECONDARY]


def test_two_workers_never_page_anyone_twice(
    engine: Engine, database_url: str, clock: FixedClock
) -> None:
    tickets = [escalate(engine, clock) for _ in range(8)]
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        workers = [worker(e, clock) for e in engines]
        first = run_at_once(*(w.run_once for w in workers))
        clock.advance(minutes=5)
        second = run_at_once(*(w.run_once for w in workers))
    finally:
        for e in engines:
            e.dispose()

    assert sum(first) == sum(second) == len(tickets), (first, second)
    assert sorted(dms(engine)) == sorted([PRIMARY] * 8 + [SECONDARY] * 8)
    with session(engine) as db:
        steps = pending_steps(db)
    assert [s.position for s in steps] == [2] * 8
    assert {s.status for s in steps} == {StepStatus.PENDING}


def test_a_step_that_fails_is_retried_later_and_holds_up_no_other(
    engine: Engine, clock: FixedClock
) -> None:
    escalate(engine, clock, text="first")
    escalate(engine, clock, text="second")

    def compose(page: Page) -> list[dict[str, Any]]:
        if page.report == "first":
            raise RuntimeError("a bug in the wording")
        return page_messages(page)

    flaky = EscalationWorker(engine, clock, schedule=SCHEDULE, compose=compose, channel=ENGINEERS)
    assert flaky.run_once() == 2
    assert dms(engine) == [PRIMARY]  # the second ticket's page went out

    clock.advance(minutes=1)
    worker(engine, clock).run_once()
    assert dms(engine) == [PRIMARY, PRIMARY]
