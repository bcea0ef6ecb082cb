"""Storms: reports of one problem arriving close together join one ticket instead of each paging.

Asked just before a ticket would open (`bot.flow.TriageFlow`): `find_storm` looks at the reports
(`ticket_report`) of the team's unresolved tickets made within the window, and `join_storm` adds
the new report to the best match. Two reports are the same problem when:

- the matcher was sure of an article for both (`topic`): the same article. Different sure
  articles are different problems, whatever the words say.
- otherwise, by their words: the Jaccard overlap of their stemmed terms, as `jethro kb gaps`
  groups reports, at least `SIMILAR`; or at least `SIMILAR_SAME_LEAD` when the matcher's best
  (unsure) candidate is the same article for both, which corroborates a short report ("jira is
  down" / "jira not loading").

A missed join costs what it did before storms (one more ticket and page); a wrong join hides a
problem inside another ticket, so the thresholds lean towards missing. The window slides: it is
counted from the ticket's latest report, so an outage reported all morning stays one ticket.

Race safety: `lock_team` upserts the team's `storm_lock` row first, which holds a row lock (the
write lock on SQLite) until the transaction ends, so two replicas receiving two reports of one
outage at once take turns, and the second finds the first's ticket. Functions flush, never commit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from escalation.clock import Clock
from escalation.models import (
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketReport,
    TicketStatus,
    UTCDateTime,
)
from knowledge.terms import terms, words

SIMILAR = 0.4
"""Word overlap at or above which two reports are one problem (`jethro kb gaps` uses 0.3 to
suggest articles, where a wrong group costs little)."""
SIMILAR_SAME_LEAD = 0.3
"""The overlap that is enough when the matcher's best candidate is the same for both (the
threshold `jethro kb gaps` uses)."""
RECENT = 500
"""At most this many recent reports are compared: a storm is decided by its latest reports."""


@dataclass(frozen=True)
class Said:
    """What is compared: the report's words, its sure article and the matcher's best guess."""

    text: str
    topic: str | None = None
    lead: str | None = None


@dataclass(frozen=True)
class StormMatch:
    ticket: Ticket
    similarity: float


def lock_team(session: Session, team: str, clock: Clock) -> None:
    """Take the team's storm lock until the transaction ends (see the module docstring)."""
    upsert = sa.text(
        "INSERT INTO storm_lock (team, touched_at) VALUES (:team, :now) "
        "ON CONFLICT (team) DO UPDATE SET touched_at = excluded.touched_at"
    ).bindparams(sa.bindparam("now", type_=UTCDateTime()))
    session.execute(upsert, {"team": team, "now": clock.now()})


def find_storm(
    session: Session, *, team: str, said: Said, now: datetime, window: timedelta
) -> StormMatch | None:
    """The team's unresolved ticket with a report in the window most like `said`, if any is
    alike enough; the newest ticket wins a tie.

    Only the reports' words are read, and then the one ticket that won: in a storm every
    escalation asks this, and loading each recent report's whole ticket (its JSON columns
    decoded once per report) took 6 ms an escalation with 80 reports in the window."""
    query = (
        select(
            col(TicketReport.ticket_id),
            col(TicketReport.text),
            col(TicketReport.topic),
            col(TicketReport.lead),
        )
        .join(Ticket, col(Ticket.id) == col(TicketReport.ticket_id))
        .where(
            col(Ticket.team) == team,
            col(Ticket.status) != TicketStatus.RESOLVED,
            col(TicketReport.reported_at) >= now - window,
        )
        .order_by(col(TicketReport.id).desc())
        .limit(RECENT)
    )
    best: tuple[int, float] | None = None
    for ticket_id, text, topic, lead in session.exec(query):
        score = similarity(said, Said(text, topic, lead))
        if score is not None and (best is None or score > best[1]):
            best = (ticket_id, score)
    if best is None:
        return None
    ticket = session.get(Ticket, best[0])
    assert ticket is not None  # joined above, in this transaction
    return StormMatch(ticket, best[1])


def similarity(new: Said, old: Said) -> float | None:
    """How alike two reports are (1.0: the same sure article), or None if not one problem."""
    if new.topic and old.topic:
        return 1.0 if new.topic == old.topic else None
    overlap = _jaccard(_bag(new.text), _bag(old.text))
    needed = SIMILAR_SAME_LEAD if new.lead and new.lead == old.lead else SIMILAR
    return overlap if overlap >= needed else None


def join_storm(
    session: Session,
    match: StormMatch,
    *,
    reporter: str,
    said: Said,
    clock: Clock,
    conversation_key: str | None = None,
) -> TicketReport:
    """Add a report to the ticket it matched, with an event for the ticket's history."""
    ticket = match.ticket
    assert ticket.id is not None
    now = clock.now()
    row = TicketReport(
        ticket_id=ticket.id,
        reporter=reporter,
        text=said.text,
        topic=said.topic,
        lead=said.lead,
        joined=True,
        conversation_key=conversation_key,
        similarity=round(match.similarity, 4),
        reported_at=now,
    )
    session.add(row)
    detail = {"similarity": row.similarity, "text": said.text[:500]}
    session.add(
        TicketEvent(
            ticket_id=ticket.id, kind=TicketEventKind.JOINED, actor=reporter, at=now, detail=detail
        )
    )
    session.flush()
    return row


def reporters(session: Session, ticket: Ticket) -> list[str]:
    """Everyone who reported the ticket's problem, first reporter first, each once."""
    query = (
        select(TicketReport.reporter)
        .where(col(TicketReport.ticket_id) == ticket.id)
        .order_by(col(TicketReport.id))
    )
    return _once([ticket.reporter, *session.exec(query)])


def _once(people: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(people))


@functools.lru_cache(maxsize=4096)
def _bag(text: str) -> frozenset[str]:
    """Cached: every escalation compares itself with the same recent reports (up to `RECENT`),
    and stemming them again each time was most of `find_storm`'s work."""
    return frozenset(terms(words(text)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
