"""The work waiting in the database: unsent and dead outbox messages, escalation steps past due.

Read at scrape time by `/metrics` and by `jethro doctor`, so every replica reports the same, true
figures (in-process counters could not: any replica's worker may send any message). Read only;
nothing here changes a row or talks to Slack.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from escalation.models import (
    EscalationStep,
    OutboxMessage,
    OutboxStatus,
    StepStatus,
    Ticket,
    TicketStatus,
)

STEP_GRACE = timedelta(minutes=2)
"""A step this late means no escalation worker is running it: the workers poll every second."""


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_pending: datetime | None
    dead: int
    overdue_steps: int
    oldest_overdue_step: datetime | None
    open_tickets: dict[tuple[str, str], int]
    """(team, status) -> how many tickets are open or acknowledged; team "" when none was set."""


def read_backlog(session: Session, now: datetime, *, step_grace: timedelta = STEP_GRACE) -> Backlog:
    """Counts in a handful of indexed queries, cheap enough for every scrape."""
    outbox = {
        status: (count, oldest)
        for status, count, oldest in session.exec(
            select(
                col(OutboxMessage.status),
                func.count(),
                func.min(col(OutboxMessage.created_at)),
            )
            .where(col(OutboxMessage.status) != OutboxStatus.SENT)
            .group_by(col(OutboxMessage.status))
        )
    }
    steps_count, steps_oldest = session.exec(
        select(func.count(), func.min(col(EscalationStep.due_at))).where(
            col(EscalationStep.status) == StepStatus.PENDING,
            col(EscalationStep.due_at) < now - step_grace,
        )
    ).one()
    pending = outbox.get(OutboxStatus.PENDING, (0, None))
    return Backlog(
        pending=pending[0],
        oldest_pending=pending[1],
        dead=outbox.get(OutboxStatus.DEAD, (0, None))[0],
        overdue_steps=steps_count,
        oldest_overdue_step=steps_oldest,
        open_tickets=_open_tickets(session),
    )


def stuck_messages(session: Session, created_before: datetime) -> list[OutboxMessage]:
    """Pending messages waiting since before `created_before`, oldest first."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
        .where(col(OutboxMessage.created_at) < created_before)
        .order_by(col(OutboxMessage.id))
    )
    return list(session.exec(query))


def recent_dead(session: Session, limit: int) -> list[OutboxMessage]:
    """The last messages given up on, newest first, with `last_error` saying why."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.status) == OutboxStatus.DEAD)
        .order_by(col(OutboxMessage.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


def overdue_steps(
    session: Session, now: datetime, *, step_grace: timedelta = STEP_GRACE
) -> list[EscalationStep]:
    """Escalation steps that should have run by now, most overdue first."""
    query = (
        select(EscalationStep)
        .where(col(EscalationStep.status) == StepStatus.PENDING)
        .where(col(EscalationStep.due_at) < now - step_grace)
        .order_by(col(EscalationStep.due_at), col(EscalationStep.id))
    )
    return list(session.exec(query))


def errors_by_count(messages: list[OutboxMessage]) -> list[tuple[str, int]]:
    """The messages' last errors, most frequent first: what an operator fixes first."""
    counted = Counter(message.last_error or "not tried yet" for message in messages)
    return counted.most_common()


def _open_tickets(session: Session) -> dict[tuple[str, str], int]:
    query = (
        select(col(Ticket.team), col(Ticket.status), func.count())
        .where(col(Ticket.status) != TicketStatus.RESOLVED)
        .group_by(col(Ticket.team), col(Ticket.status))
    )
    return {(team or "", str(status)): count for team, status, count in session.exec(query)}
