"""The ticket lifecycle (open -> acknowledged -> resolved) and who may make each change.

Every change writes a `TicketEvent` in the same transaction. Functions flush but never commit:
the caller's `escalation.db.session()` block decides, so a ticket and whatever is sent about it
(later: the outbox) are stored together or not at all. Nothing here talks to Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from escalation.clock import Clock
from escalation.errors import TicketNotFoundError, TicketPermissionError, TicketStateError
from escalation.models import Ticket, TicketEvent, TicketEventKind, TicketReport, TicketStatus
from knowledge.article import Action, Severity
from knowledge.decision import Decision

log = logging.getLogger(__name__)


def open_ticket(
    session: Session,
    *,
    reporter: str,
    source: str,
    text: str,
    decision: Decision | None,
    clock: Clock,
    team: str | None = None,
    severity: Severity | None = None,
) -> Ticket:
    """Open a ticket for a report, keeping the matcher's evidence for the engineer.

    `team` and `severity` default to those of the matched `action: escalate` article.
    """
    article = decision.article if decision else None
    escalate_article = article if article and article.action is Action.ESCALATE else None
    now = clock.now()
    ticket = Ticket(
        reporter=reporter,
        source=source,
        text=text,
        status=TicketStatus.OPEN,
        severity=severity or (escalate_article.severity if escalate_article else Severity.NORMAL),
        team=team or (escalate_article.team if escalate_article else None),
        article_id=escalate_article.id if escalate_article else None,
        candidates=cast(list[dict[str, Any]], decision.to_json()["candidates"]) if decision else [],
        reason=decision.reason if decision else "",
        created_at=now,
        updated_at=now,
        sla_check_at=now,
    )
    session.add(ticket)
    session.flush()
    assert ticket.id is not None
    session.add(
        TicketReport(
            ticket_id=ticket.id,
            reporter=reporter,
            text=text,
            topic=decision.article.id if decision and decision.article else None,
            lead=decision.candidates[0].article.id if decision and decision.candidates else None,
            reported_at=now,
        )
    )
    detail: dict[str, Any] = {"source": source}
    if decision:
        detail |= {"outcome": decision.outcome.value, "confidence": round(decision.confidence, 4)}
    _record(session, ticket, TicketEventKind.OPENED, reporter, now, detail)
    return ticket


def acknowledge(session: Session, ticket_id: int, actor: str, clock: Clock) -> Ticket:
    """An engineer takes the ticket. The reporter may not: acknowledging is what tells everyone
    (and, later, the escalation timers) that an engineer is on it."""
    ticket = get_ticket(session, ticket_id)
    if actor == ticket.reporter:
        raise TicketPermissionError(
            f"You reported ticket #{ticket.id}, so an engineer must acknowledge it, not you."
        )
    now = _not_before(clock.now(), ticket.updated_at)
    _transition(
        session,
        ticket,
        allowed_from={TicketStatus.OPEN},
        status=TicketStatus.ACKNOWLEDGED,
        updated_at=now,
        acknowledged_at=now,
        acknowledged_by=actor,
    )
    _record(session, ticket, TicketEventKind.ACKNOWLEDGED, actor, now, {})
    return ticket


def resolve(session: Session, ticket_id: int, actor: str, resolution: str, clock: Clock) -> Ticket:
    """Close the ticket. Allowed straight from open (an engineer fixes it at once, or the reporter
    says it works now); the event records that the acknowledgement was skipped and by whom."""
    ticket = get_ticket(session, ticket_id)
    skipped_ack = ticket.status is TicketStatus.OPEN
    now = _not_before(clock.now(), ticket.updated_at)
    _transition(
        session,
        ticket,
        allowed_from={TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED},
        status=TicketStatus.RESOLVED,
        updated_at=now,
        resolved_at=now,
        resolved_by=actor,
        resolution=resolution,
    )
    detail = {
        "resolution": resolution,
        "skipped_acknowledge": skipped_ack,
        "by_reporter": actor == ticket.reporter,
    }
    _record(session, ticket, TicketEventKind.RESOLVED, actor, now, detail)
    return ticket


def reassign(session: Session, ticket_id: int, actor: str, to: str, clock: Clock) -> Ticket:
    """Hand an unresolved ticket to another engineer. The status stays: the new owner still
    acknowledges it (or already did, if it was acknowledged). Reassigning to the current owner
    is refused, so a double submit records one event."""
    ticket = get_ticket(session, ticket_id)
    if ticket.status is TicketStatus.RESOLVED:
        raise TicketStateError(_resolved_already(ticket, "reassigned"))
    if to == ticket.reporter:
        raise TicketPermissionError(
            f"<@{to}> reported ticket #{ticket.id}, so it cannot be assigned to them."
        )
    before = assignee(session, ticket)
    if to == before:
        raise TicketStateError(f"Ticket #{ticket.id} is already assigned to <@{to}>.")
    now = _not_before(clock.now(), ticket.updated_at)
    try:
        _transition(
            session,
            ticket,
            allowed_from={ticket.status},
            status=ticket.status,
            updated_at=now,
        )
    except TicketStateError:
        raise TicketStateError(_resolved_already(ticket, "reassigned")) from None
    _record(session, ticket, TicketEventKind.REASSIGNED, actor, now, {"from": before, "to": to})
    return ticket


def assignee(session: Session, ticket: Ticket) -> str | None:
    """Who owns the ticket: the last person it was reassigned to, else whoever acknowledged it."""
    query = (
        select(TicketEvent)
        .where(
            col(TicketEvent.ticket_id) == ticket.id,
            col(TicketEvent.kind) == TicketEventKind.REASSIGNED,
        )
        .order_by(col(TicketEvent.at).desc(), col(TicketEvent.id).desc())
        .limit(1)
    )
    last = session.exec(query).first()
    return str(last.detail["to"]) if last is not None else ticket.acknowledged_by


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFoundError(f"There is no ticket #{ticket_id}.")
    return ticket


def list_tickets(
    session: Session,
    status: TicketStatus | None = None,
    reporter: str | None = None,
    limit: int = 50,
) -> list[Ticket]:
    """Newest first."""
    query = select(Ticket).order_by(col(Ticket.id).desc()).limit(limit)
    if status is not None:
        query = query.where(col(Ticket.status) == status)
    if reporter is not None:
        query = query.where(col(Ticket.reporter) == reporter)
    return list(session.exec(query))


def ticket_events(session: Session, ticket_id: int) -> list[TicketEvent]:
    """The audit trail of one ticket, oldest first."""
    query = (
        select(TicketEvent)
        .where(col(TicketEvent.ticket_id) == ticket_id)
        .order_by(col(TicketEvent.at), col(TicketEvent.id))
    )
    return list(session.exec(query))


def _transition(
    session: Session,
    ticket: Ticket,
    *,
    allowed_from: Collection[TicketStatus],
    **values: Any,
) -> None:
    """Change the ticket only if its stored status still allows it (compare-and-set), so two
    engineers clicking at once cannot both succeed, on SQLite as on PostgreSQL."""
    update = (
        sa.update(Ticket)
        .where(col(Ticket.id) == ticket.id, col(Ticket.status).in_(allowed_from))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = session.exec(update)
    session.refresh(ticket)
    if result.rowcount == 0:
        raise TicketStateError(_refusal(ticket, values["status"]))


def _refusal(ticket: Ticket, wanted: TicketStatus) -> str:
    verb = {TicketStatus.ACKNOWLEDGED: "acknowledge", TicketStatus.RESOLVED: "resolve"}[wanted]
    if ticket.status is TicketStatus.RESOLVED:
        return _resolved_already(ticket, f"{verb}d")
    return (
        f"Ticket #{ticket.id} was already acknowledged by {ticket.acknowledged_by} "
        f"at {_shown(ticket.acknowledged_at)}."
    )


def _resolved_already(ticket: Ticket, done: str) -> str:
    return (
        f"Ticket #{ticket.id} was already resolved by {ticket.resolved_by} "
        f"at {_shown(ticket.resolved_at)}, so it cannot be {done}."
    )


def _record(
    session: Session,
    ticket: Ticket,
    kind: TicketEventKind,
    actor: str,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    assert ticket.id is not None
    session.add(TicketEvent(ticket_id=ticket.id, kind=kind, actor=actor, at=at, detail=detail))
    session.flush()
    log.info("ticket #%s %s by %s", ticket.id, kind.value, actor, extra={"ticket_id": ticket.id})


def _not_before(now: datetime, previous: datetime) -> datetime:
    """Keep a ticket's timestamps in order even if the system clock steps back."""
    return max(now, previous)


def _shown(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "an unknown time"
