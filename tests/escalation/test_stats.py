"""The figures admins read: the report funnel, and acknowledge/resolve times per team."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.flow import TriageFlow
from escalation.clock import FixedClock
from escalation.db import session
from escalation.models import Ticket, TicketStatus
from escalation.sla import SlaState, sla_state
from escalation.stats import Times, collect_stats, daily_stats, escalated_reports
from escalation.threads import ADDED_LATER
from escalation.tickets import acknowledge, open_ticket, resolve
from knowledge.index import LexicalMatcher
from knowledge.loader import load_kb, sample_kb_path


class Targets:
    sla_ack_minutes = 30
    sla_resolve_hours = 24


def ticket(engine: Engine, clock: FixedClock, team: str, ack: int | None, done: int | None) -> int:
    """A ticket opened now, acknowledged after `ack` minutes and resolved after `done` minutes."""
    start = clock.now()
    with session(engine) as db:
        opened = open_ticket(
            db, reporter="U0REP", source="cli", text="x", decision=None, clock=clock, team=team
        )
        assert opened.id is not None
        number = opened.id
    if ack is not None:
        clock.set(start + timedelta(minutes=ack))
        with session(engine) as db:
            acknowledge(db, number, "U0ENG", clock)
    if done is not None:
        clock.set(start + timedelta(minutes=done))
        with session(engine) as db:
            resolve(db, number, "U0ENG", "fixed", clock)
    clock.set(start + timedelta(minutes=1))
    return number


def test_times_are_per_team_with_median_and_p90(engine: Engine, clock: FixedClock) -> None:
    since = clock.now()
    for minutes in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100):
        ticket(engine, clock, "network", minutes, minutes + 60)
    ticket(engine, clock, "facilities", 5, None)
    ticket(engine, clock, "facilities", None, None)

    with session(engine) as db:
        stats = collect_stats(
            db, since=since, until=clock.now() + timedelta(days=1), default_team="it"
        )

    network, facilities = stats.teams
    assert (network.team, network.escalated, network.unresolved) == ("network", 10, 0)
    assert network.acknowledge == Times(10, timedelta(minutes=55), timedelta(minutes=90))
    assert network.resolve.p90 == timedelta(minutes=150)
    assert (facilities.escalated, facilities.unresolved, facilities.acknowledge.count) == (2, 2, 1)
    assert facilities.resolve == Times(0, None, None)
    assert stats.escalated == 12 and stats.acknowledge.count == 11


def test_the_funnel_counts_answers_suggestions_deflections_and_escalations(
    engine: Engine, clock: FixedClock
) -> None:
    kb = load_kb(sample_kb_path())
    flow = TriageFlow(LexicalMatcher(kb.articles), engine, clock=clock)
    since = clock.now()
    answered = flow.report(
        reporter="U1", source="cli", text="my vpn keeps dropping", conversation="a"
    )
    flow.report(
        reporter="U2", source="cli", text="the quantum flux capacitor hums", conversation="b"
    )
    assert answered.decision.article is not None
    flow.solved(reporter="U1", conversation="a", article=answered.decision.article)

    with session(engine) as db:
        stats = collect_stats(
            db, since=since, until=clock.now() + timedelta(seconds=1), default_team="it"
        )
        later = collect_stats(
            db,
            since=clock.now() + timedelta(seconds=1),
            until=clock.now() + timedelta(days=1),
            default_team="it",
        )

    assert (stats.reports, stats.answered, stats.deflected, stats.escalated) == (2, 1, 1, 1)
    assert [team.team for team in stats.teams] == ["it"]
    assert (later.reports, later.escalated, later.teams) == (0, 0, ())
    assert stats.to_json()["teams"][0]["time_to_acknowledge"]["median_seconds"] is None


def test_a_ticket_is_flagged_near_and_past_its_sla(engine: Engine, clock: FixedClock) -> None:
    start = clock.now()
    with session(engine) as db:
        opened = open_ticket(
            db, reporter="U0REP", source="cli", text="x", decision=None, clock=clock
        )

    def state_after(minutes: float) -> str:
        return sla_state(opened, start + timedelta(minutes=minutes), Targets())

    assert [state_after(m) for m in (0, 23, 24, 30, 31)] == ["ok", "ok", "near", "near", "past"]
    acked = Ticket.model_validate(
        {**opened.model_dump(), "status": TicketStatus.ACKNOWLEDGED, "acknowledged_at": start}
    )
    assert sla_state(acked, start + timedelta(hours=2), Targets()) == SlaState.OK
    assert sla_state(acked, start + timedelta(hours=20), Targets()) == SlaState.NEAR
    assert sla_state(acked, start + timedelta(hours=25), Targets()) == SlaState.PAST


def test_the_funnel_per_day_splits_at_utc_midnight_and_keeps_quiet_days(
    engine: Engine, clock: FixedClock
) -> None:
    kb = load_kb(sample_kb_path())
    flow = TriageFlow(LexicalMatcher(kb.articles), engine, clock=clock)
    first = clock.now().replace(hour=0, minute=0)
    clock.set(first + timedelta(hours=23, minutes=59))
    answered = flow.report(
        reporter="U1", source="cli", text="my vpn keeps dropping", conversation="a"
    )
    clock.set(first + timedelta(days=1, minutes=1))
    assert answered.decision.article is not None
    flow.solved(reporter="U1", conversation="a", article=answered.decision.article)
    flow.report(
        reporter="U2", source="cli", text="the quantum flux capacitor hums", conversation="b"
    )

    with session(engine) as db:
        days = daily_stats(db, since=first, until=first + timedelta(days=3))

    assert [d.day.isoformat() for d in days] == ["2025-01-06", "2025-01-07", "2025-01-08"]
    assert [(d.reports, d.answered, d.deflected, d.escalated) for d in days] == [
        (1, 1, 0, 0),
        (1, 0, 1, 1),
        (0, 0, 0, 0),
    ]
    assert [d.deflection for d in days] == [0.0, 1.0, None]
    with session(engine) as db:
        week = collect_stats(db, since=first, until=first + timedelta(days=3), default_team="it")
    assert sum(d.reports for d in days) == week.reports and sum(d.escalated for d in days) == 1


def test_escalated_reports_leave_out_details_added_later(engine: Engine, clock: FixedClock) -> None:
    with session(engine) as db:
        opened = open_ticket(
            db,
            reporter="U0REP",
            source="dm",
            text=f"the printer jams{ADDED_LATER}\n- on floor 3",
            decision=None,
            clock=clock,
        )
        reports = escalated_reports(db, since=clock.now() - timedelta(days=1))

    assert reports == [(opened.id, "the printer jams")]
