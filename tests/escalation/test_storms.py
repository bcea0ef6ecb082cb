"""Storms on SQLite and PostgreSQL: when reports are one problem, the window, the race between
replicas, and how the figures count joined reports."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.flow import ReportResult, TriageFlow
from escalation.clock import FixedClock
from escalation.db import make_engine, session
from escalation.stats import collect_stats
from escalation.storms import Said, similarity
from escalation.tickets import resolve
from knowledge.index import LexicalMatcher
from knowledge.loader import load_kb, sample_kb_path
from tests.dbfixtures import run_at_once

MATCHER = LexicalMatcher(load_kb(sample_kb_path()).articles)
WINDOW = timedelta(minutes=15)
CAPACITOR = "the quantum flux capacitor on floor 3 is humming"


def flow(engine: Engine, clock: FixedClock, window: timedelta = WINDOW) -> TriageFlow:
    return TriageFlow(MATCHER, engine, clock=clock, storm_window=window)


def report(flow: TriageFlow, text: str, reporter: str = "U0R1") -> ReportResult:
    return flow.report(reporter=reporter, source="test", text=text, conversation=f"k-{reporter}")


def test_the_same_sure_article_is_one_problem_and_different_ones_are_not() -> None:
    assert similarity(Said("jira is down", "tool-down"), Said("wiki 500s", "tool-down")) == 1.0
    assert similarity(Said("vpn is down", "vpn"), Said("vpn is down", "wifi")) is None


def test_without_a_sure_article_the_words_decide_and_a_shared_guess_helps() -> None:
    printer = Said("the printer on floor 2 is jammed", lead="printer")
    coffee = Said("the coffee machine on floor 2 is broken", lead="office-repairs")
    vpn = Said("vpn is down", lead="vpn")

    assert similarity(printer, coffee) is None  # "floor 2" is not a problem
    assert similarity(vpn, Said("cant connect to vpn", lead="vpn")) is not None
    assert similarity(vpn, Said("cant connect to vpn", lead="wifi")) is None


def test_a_similar_report_joins_within_the_window_and_not_after(
    engine: Engine, clock: FixedClock
) -> None:
    jethro = flow(engine, clock)
    first = report(jethro, CAPACITOR, "U0R1")
    clock.advance(minutes=14)
    second = report(jethro, "flux capacitor humming loudly on floor 3", "U0R2")
    clock.advance(minutes=14)  # 28 minutes after the first, 14 after the latest: still a storm
    third = report(jethro, "is the flux capacitor on floor 3 broken? it hums", "U0R3")
    clock.advance(minutes=16)
    fourth = report(jethro, CAPACITOR, "U0R4")

    assert first.ticket and not first.joined
    assert second.joined and third.joined and not fourth.joined
    assert second.ticket and third.ticket and fourth.ticket
    assert second.ticket.id == third.ticket.id == first.ticket.id != fourth.ticket.id


def test_resolved_tickets_and_a_zero_window_never_gather_reports(
    engine: Engine, clock: FixedClock
) -> None:
    first = report(flow(engine, clock), CAPACITOR).ticket
    assert first is not None and first.id is not None
    with session(engine) as db:
        resolve(db, first.id, "U0ENGINEER", "fixed", clock)

    after_fix = report(flow(engine, clock), CAPACITOR, "U0R2")
    storms_off = report(flow(engine, clock, timedelta(0)), CAPACITOR, "U0R3")

    assert not after_fix.joined and not storms_off.joined


def test_two_replicas_reporting_one_outage_at_once_open_one_ticket(
    engine: Engine, database_url: str, clock: FixedClock
) -> None:
    engines = [make_engine(database_url) for _ in range(4)]
    try:
        flows = [flow(e, clock) for e in engines]
        results = run_at_once(
            *(
                lambda f=f, n=n: report(f, f"{CAPACITOR} {n}", f"U0R{n}")
                for n, f in enumerate(flows)
            )
        )
    finally:
        for e in engines:
            e.dispose()

    assert all(isinstance(r, ReportResult) for r in results), results
    assert len({r.ticket.id for r in results}) == 1
    assert sorted(r.joined for r in results) == [False, True, True, True]
    with session(engine) as db:
        stats = collect_stats(db, since=clock.now(), until=clock.now() + WINDOW, default_team="it")
    assert (stats.reports, stats.escalated, stats.joined) == (4, 1, 3)
    assert (stats.teams[0].escalated, stats.teams[0].joined) == (1, 3)
