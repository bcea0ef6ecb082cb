"""The figures admins watch: how many reports the bot answered, how many it deflected, how many
went to engineers, and how fast those were acknowledged and resolved, per team.

Read-only queries; `jethro stats`, the admins' App Home and the admin view show the same
`Stats`, and the admin view charts `daily_stats`, counted the same way per day. The report
funnel (reports, answered, suggested, deflected) counts every report; escalations and their times
are counted per team, from the tickets opened in the window. A report that joined an open ticket
(a storm, `escalation/storms.py`) is a report and is `joined`, not another escalation: the times
are per ticket, since one acknowledgement answers all its reporters.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from escalation.models import ConversationTurn, Feedback, Role, Ticket, TicketReport
from escalation.sla import time_to_acknowledge, time_to_resolve
from escalation.threads import first_report
from knowledge.decision import Outcome


@dataclass(frozen=True)
class Times:
    """Median and 90th percentile of a duration over `count` tickets; None without tickets."""

    count: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, durations: Sequence[timedelta]) -> Times:
        if not durations:
            return cls(0, None, None)
        ordered = sorted(durations)
        median = timedelta(seconds=statistics.median(d.total_seconds() for d in ordered))
        return cls(len(ordered), median, ordered[math.ceil(0.9 * len(ordered)) - 1])

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "median_seconds": _seconds(self.median),
            "p90_seconds": _seconds(self.p90),
        }


@dataclass(frozen=True)
class TeamStats:
    team: str
    escalated: int
    joined: int
    """Reports that joined one of the team's open tickets instead of opening their own."""
    unresolved: int
    acknowledge: Times
    resolve: Times

    def to_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "escalated": self.escalated,
            "joined": self.joined,
            "unresolved": self.unresolved,
            "time_to_acknowledge": self.acknowledge.to_json(),
            "time_to_resolve": self.resolve.to_json(),
        }


@dataclass(frozen=True)
class Stats:
    since: datetime
    until: datetime
    reports: int
    answered: int
    suggested: int
    deflected: int
    """Answers the employee confirmed solved their problem."""
    escalated: int
    joined: int
    """Reports that joined an open ticket (a storm): reports, but no new escalation."""
    acknowledge: Times
    resolve: Times
    teams: tuple[TeamStats, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "reports": self.reports,
            "answered": self.answered,
            "suggested": self.suggested,
            "deflected": self.deflected,
            "escalated": self.escalated,
            "joined": self.joined,
            "time_to_acknowledge": self.acknowledge.to_json(),
            "time_to_resolve": self.resolve.to_json(),
            "teams": [team.to_json() for team in self.teams],
        }


@dataclass(frozen=True)
class Day:
    """One UTC day of the report funnel, counted as `collect_stats` counts the whole window."""

    day: date
    reports: int = 0
    answered: int = 0
    deflected: int = 0
    escalated: int = 0

    @property
    def deflection(self) -> float | None:
        """Share of the day's reports confirmed solved; None on a day without reports."""
        return self.deflected / self.reports if self.reports else None


def collect_stats(
    session: Session, *, since: datetime, until: datetime, default_team: str
) -> Stats:
    """Everything that happened from `since` up to `until`; teams by most escalations."""
    outcomes = _outcome_counts(session, since, until)
    deflected = session.exec(
        select(sa.func.count()).select_from(Feedback).where(*_solved(since, until))
    ).one()
    tickets = list(session.exec(select(Ticket).where(_between(Ticket.created_at, since, until))))
    by_team: dict[str, list[Ticket]] = {}
    for ticket in tickets:
        by_team.setdefault(ticket.team or default_team, []).append(ticket)
    joined = _joined_by_team(session, since, until, default_team)
    for name in joined:
        by_team.setdefault(name, [])
    teams = sorted(
        (_team(name, rows, joined.get(name, 0)) for name, rows in by_team.items()), key=_busiest
    )
    return Stats(
        since=since,
        until=until,
        reports=sum(outcomes.values()),
        answered=outcomes.get(Outcome.ANSWER, 0),
        suggested=outcomes.get(Outcome.SUGGEST, 0),
        deflected=int(deflected),
        escalated=len(tickets),
        joined=sum(joined.values()),
        acknowledge=Times.of(_durations(tickets, time_to_acknowledge)),
        resolve=Times.of(_durations(tickets, time_to_resolve)),
        teams=tuple(teams),
    )


def daily_stats(session: Session, *, since: datetime, until: datetime) -> list[Day]:
    """The funnel per UTC day of [`since`, `until`), days without reports included:
    what the admin view charts. Timestamps are bucketed here rather than in SQL, where SQLite and
    PostgreSQL spell a day differently; a window holds a month's rows at most."""
    counts: Counter[tuple[date, str]] = Counter()
    turns = select(ConversationTurn.at, ConversationTurn.outcome).where(
        *_report_turns(since, until)
    )
    for at, outcome in session.exec(turns):
        counts[at.date(), "reports"] += 1
        counts[at.date(), "answered"] += outcome == Outcome.ANSWER
    for at in session.exec(select(Feedback.at).where(*_solved(since, until))):
        counts[at.date(), "deflected"] += 1
    opened = select(Ticket.created_at).where(_between(Ticket.created_at, since, until))
    for at in session.exec(opened):
        counts[at.date(), "escalated"] += 1
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    every = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [
        Day(
            day,
            *(counts[day, figure] for figure in ("reports", "answered", "deflected", "escalated")),
        )
        for day in every
    ]


def escalated_reports(session: Session, *, since: datetime) -> list[tuple[int, str]]:
    """Tickets opened since `since`, oldest first, as (number, the report's first words): what
    `jethro kb gaps` groups, without the details added later (they repeat the report)."""
    query = select(Ticket).where(col(Ticket.created_at) >= since).order_by(col(Ticket.id))
    return [(ticket.id or 0, first_report(ticket.text)) for ticket in session.exec(query)]


def _report_turns(since: datetime, until: datetime) -> tuple[Any, ...]:
    """One bot turn with a decision is written per report (`bot.flow.TriageFlow.report`)."""
    return (
        col(ConversationTurn.role) == Role.BOT,
        col(ConversationTurn.outcome).is_not(None),
        _between(ConversationTurn.at, since, until),
    )


def _solved(since: datetime, until: datetime) -> tuple[Any, ...]:
    return (col(Feedback.solved).is_(True), _between(Feedback.at, since, until))


def _outcome_counts(session: Session, since: datetime, until: datetime) -> dict[Outcome, int]:
    query = (
        select(ConversationTurn.outcome, sa.func.count())
        .where(*_report_turns(since, until))
        .group_by(col(ConversationTurn.outcome))
    )
    return {Outcome(outcome): int(count) for outcome, count in session.exec(query) if outcome}


def _joined_by_team(
    session: Session, since: datetime, until: datetime, default_team: str
) -> dict[str, int]:
    query = (
        select(Ticket.team, sa.func.count())
        .select_from(TicketReport)
        .join(Ticket, col(Ticket.id) == col(TicketReport.ticket_id))
        .where(col(TicketReport.joined).is_(True), _between(TicketReport.reported_at, since, until))
        .group_by(col(Ticket.team))
    )
    counts: dict[str, int] = {}
    for team, count in session.exec(query):
        name = team or default_team
        counts[name] = counts.get(name, 0) + int(count)
    return counts


def _team(name: str, tickets: list[Ticket], joined: int) -> TeamStats:
    return TeamStats(
        team=name,
        escalated=len(tickets),
        joined=joined,
        unresolved=sum(1 for t in tickets if t.resolved_at is None),
        acknowledge=Times.of(_durations(tickets, time_to_acknowledge)),
        resolve=Times.of(_durations(tickets, time_to_resolve)),
    )


def _busiest(team: TeamStats) -> tuple[int, str]:
    return (-team.escalated, team.team)


def _durations(
    tickets: list[Ticket], measure: Callable[[Ticket], timedelta | None]
) -> list[timedelta]:
    return [d for d in (measure(t) for t in tickets) if d is not None]


def _between(column: Any, since: datetime, until: datetime) -> Any:
    return sa.and_(col(column) >= since, col(column) < until)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 1)
