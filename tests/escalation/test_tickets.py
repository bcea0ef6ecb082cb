from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from escalation.clock import FixedClock
from escalation.db import session
from escalation.errors import TicketNotFoundError, TicketPermissionError, TicketStateError
from escalation.models import Ticket, TicketEventKind, TicketStatus
from escalation.tickets import (
    acknowledge,
    get_ticket,
    list_tickets,
    open_ticket,
    resolve,
    ticket_events,
)
from knowledge.article import Action, Article, Severity
from knowledge.decision import Candidate, Decision, Outcome
from tests.dbfixtures import run_at_once

VPN = Article(
    id="vpn-outage",
    title="VPN is down for everyone",
    body="Page the network team.",
    action=Action.ESCALATE,
    severity=Severity.HIGH,
    team="network",
)
WIFI = Article(id="wifi-reset", title="Reset the office Wi-Fi profile", body="Forget the network.")
ESCALATION = Decision(
    outcome=Outcome.ESCALATE,
    article=VPN,
    confidence=0.8123456,
    candidates=(Candidate(VPN, 0.9123456), Candidate(WIFI, 0.41)),
    reason="matched an escalate article",
)


def report(
    engine: Engine,
    clock: FixedClock,
    reporter: str = "U_ALICE",
    decision: Decision | None = None,
    team: str | None = None,
    severity: Severity | None = None,
) -> int:
    with session(engine) as s:
        ticket = open_ticket(
            s,
            reporter=reporter,
            source="slack_dm",
            text="vpn is down",
            decision=decision,
            clock=clock,
            team=team,
            severity=severity,
        )
    assert ticket.id is not None
    return ticket.id


def test_a_ticket_goes_from_open_to_resolved_leaving_an_audit_trail(
    engine: Engine, clock: FixedClock
) -> None:
    number = report(engine, clock, decision=ESCALATION)
    clock.advance(minutes=3)
    with session(engine) as s:
        acknowledge(s, number, "U_BOB", clock)
    clock.advance(minutes=20)
    with session(engine) as s:
        resolve(s, number, "U_BOB", "restarted the VPN concentrator", clock)

    with session(engine) as s:
        ticket = get_ticket(s, number)
        events = ticket_events(s, number)
    assert ticket.status is TicketStatus.RESOLVED
    assert (ticket.acknowledged_by, ticket.resolved_by) == ("U_BOB", "U_BOB")
    assert ticket.resolution == "restarted the VPN concentrator"
    assert [(e.kind, e.actor) for e in events] == [
        (TicketEventKind.OPENED, "U_ALICE"),
        (TicketEventKind.ACKNOWLEDGED, "U_BOB"),
        (TicketEventKind.RESOLVED, "U_BOB"),
    ]
    assert events[0].detail == {"source": "slack_dm", "outcome": "escalate", "confidence": 0.8123}
    assert events[2].detail["skipped_acknowledge"] is False


def test_the_matchers_evidence_and_the_articles_routing_are_kept(
    engine: Engine, clock: FixedClock
) -> None:
    number = report(engine, clock, decision=ESCALATION)

    with session(engine) as s:
        ticket = get_ticket(s, number)
    assert ticket.candidates == [
        {"id": "vpn-outage", "title": "VPN is down for everyone", "score": 0.9123},
        {"id": "wifi-reset", "title": "Reset the office Wi-Fi profile", "score": 0.41},
    ]
    assert (ticket.article_id, ticket.team, ticket.severity) == ("vpn-outage", "network", "high")
    assert ticket.severity is Severity.HIGH
    assert ticket.reason == "matched an escalate article"


def test_explicit_routing_wins_and_a_report_without_a_decision_has_no_evidence(
    engine: Engine, clock: FixedClock
) -> None:
    routed = report(engine, clock, decision=ESCALATION, team="security", severity=Severity.LOW)
    bare = report(engine, clock)

    with session(engine) as s:
        assert (get_ticket(s, routed).team, get_ticket(s, routed).severity) == ("security", "low")
        ticket = get_ticket(s, bare)
    assert (ticket.candidates, ticket.article_id, ticket.reason) == ([], None, "")
    assert (ticket.team, ticket.severity) == (None, Severity.NORMAL)


def test_ticket_numbers_count_up_from_one(engine: Engine, clock: FixedClock) -> None:
    assert [report(engine, clock) for _ in range(3)] == [1, 2, 3]


def test_a_resolved_ticket_cannot_be_resolved_again_or_acknowledged(
    engine: Engine, clock: FixedClock
) -> None:
    number = report(engine, clock)
    with session(engine) as s:
        resolve(s, number, "U_BOB", "fixed", clock)

    with (
        pytest.raises(
            TicketStateError, match=r"#1 was already resolved by U_BOB at 2025-01-06 09:00"
        ),
        session(engine) as s,
    ):
        resolve(s, number, "U_CAROL", "fixed too", clock)
    with pytest.raises(TicketStateError, match="cannot be acknowledged"), session(engine) as s:
        acknowledge(s, number, "U_CAROL", clock)
    with session(engine) as s:
        assert get_ticket(s, number).resolved_by == "U_BOB"
        assert len(ticket_events(s, number)) == 2


def test_acknowledging_twice_names_who_got_there_first(engine: Engine, clock: FixedClock) -> None:
    number = report(engine, clock)
    with session(engine) as s:
        acknowledge(s, number, "U_BOB", clock)

    with (
        pytest.raises(TicketStateError, match="already acknowledged by U_BOB"),
        session(engine) as s,
    ):
        acknowledge(s, number, "U_CAROL", clock)


def test_two_engineers_acknowledging_at_once_only_one_wins(
    engine: Engine, clock: FixedClock
) -> None:
    number = report(engine, clock)

    def ack(engineer: str) -> object:
        with session(engine) as s:
            return acknowledge(s, number, engineer, clock).acknowledged_by

    results = run_at_once(lambda: ack("U_BOB"), lambda: ack("U_CAROL"))

    winners = [r for r in results if isinstance(r, str)]
    refusals = [r for r in results if isinstance(r, TicketStateError)]
    assert len(winners) == 1 and len(refusals) == 1, results
    with session(engine) as s:
        assert get_ticket(s, number).acknowledged_by == winners[0]
        kinds = [e.kind for e in ticket_events(s, number)]
    assert kinds == [TicketEventKind.OPENED, TicketEventKind.ACKNOWLEDGED]


def test_the_reporter_cannot_acknowledge_but_may_resolve_their_own_ticket(
    engine: Engine, clock: FixedClock
) -> None:
    number = report(engine, clock)

    with (
        pytest.raises(TicketPermissionError, match="an engineer must acknowledge it"),
        session(engine) as s,
    ):
        acknowledge(s, number, "U_ALICE", clock)
    with session(engine) as s:
        resolve(s, number, "U_ALICE", "it works again", clock)
        events = ticket_events(s, number)
    assert events[-1].detail == {
        "resolution": "it works again",
        "skipped_acknowledge": True,
        "by_reporter": True,
    }


def test_an_unknown_ticket_number_is_refused_by_number(engine: Engine, clock: FixedClock) -> None:
    with pytest.raises(TicketNotFoundError, match="There is no ticket #99"), session(engine) as s:
        acknowledge(s, 99, "U_BOB", clock)


def test_timestamps_come_back_aware_in_utc_and_in_order(engine: Engine) -> None:
    clock = FixedClock(
        datetime(2025, 3, 30, 2, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    )
    opened = clock.now()
    number = report(engine, clock)
    clock.advance(seconds=1)
    with session(engine) as s:
        acknowledge(s, number, "U_BOB", clock)
    clock.set(opened - timedelta(hours=1))  # the system clock stepped back
    with session(engine) as s:
        resolve(s, number, "U_BOB", "done", clock)

    with session(engine) as s:
        ticket = get_ticket(s, number)
        events = ticket_events(s, number)
    assert ticket.created_at == datetime(2025, 3, 30, 0, 30, 15, 123456, tzinfo=UTC)
    stamps = [ticket.created_at, ticket.acknowledged_at, ticket.resolved_at, ticket.updated_at]
    stamps += [e.at for e in events]
    assert all(t is not None and t.utcoffset() == timedelta(0) for t in stamps)
    assert ticket.acknowledged_at is not None
    assert ticket.created_at < ticket.acknowledged_at == ticket.resolved_at
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_lists_filter_by_status_and_reporter_newest_first(
    engine: Engine, clock: FixedClock
) -> None:
    first = report(engine, clock, reporter="U_ALICE")
    second = report(engine, clock, reporter="U_DAVE")
    third = report(engine, clock, reporter="U_ALICE")
    with session(engine) as s:
        acknowledge(s, second, "U_BOB", clock)

    def numbers(
        status: TicketStatus | None = None, reporter: str | None = None, limit: int = 50
    ) -> list[int | None]:
        with session(engine) as s:
            return [t.id for t in list_tickets(s, status, reporter, limit)]

    assert numbers() == [third, second, first]
    assert numbers(status=TicketStatus.OPEN) == [third, first]
    assert numbers(status=TicketStatus.ACKNOWLEDGED) == [second]
    assert numbers(reporter="U_ALICE") == [third, first]
    assert numbers(reporter="U_ALICE", status=TicketStatus.ACKNOWLEDGED) == []
    assert numbers(limit=1) == [third]


def test_ticket_objects_stay_readable_after_their_session_ends(
    engine: Engine, clock: FixedClock
) -> None:
    with session(engine) as s:
        ticket: Ticket = open_ticket(
            s, reporter="U_ALICE", source="cli", text="printer jam", decision=None, clock=clock
        )
    assert (ticket.id, ticket.text, ticket.status) == (1, "printer jam", TicketStatus.OPEN)
