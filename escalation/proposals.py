"""The tickets behind proposed articles (`knowledge.learning.proposals`), read and published.

A ticket resolved as a new problem stays one until an article made from it is published; then
its `solved_by` names that article, so it leaves the proposals and the record says what solved
it.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlmodel import Session, col

from escalation.lessons import new_problem_tickets
from escalation.models import Ticket
from escalation.threads import first_report
from knowledge.learning import NEW_PROBLEM
from knowledge.learning.proposals import Resolved


def new_problem_reports(db: Session) -> list[Resolved]:
    """Every ticket resolved as a new problem and not published yet, oldest first."""
    return [
        Resolved(
            ticket=ticket.id,
            report=first_report(ticket.text),
            resolution=ticket.resolution or "",
            team=ticket.team,
            severity=ticket.severity,
            resolved_by=ticket.resolved_by or "",
        )
        for ticket in new_problem_tickets(db)
        if ticket.id is not None
    ]


def mark_published(db: Session, tickets: Collection[int], article_id: str) -> int:
    """The tickets are solved by the published article now: no longer a new problem."""
    done = db.exec(
        sa.update(Ticket)
        .where(col(Ticket.id).in_(list(tickets)), col(Ticket.solved_by) == NEW_PROBLEM)
        .values(solved_by=article_id)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)
