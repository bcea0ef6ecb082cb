"""The triage flow: a report in, an answer, a suggestion or a ticket out, every step logged.

The CLI shell and the Slack listeners are thin adapters over this class, so an employee gets the
same treatment wherever they ask. No Slack and no rendering here; storage through `escalation/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy.engine import Engine
from sqlmodel import Session

from escalation.clock import Clock, SystemClock
from escalation.conversations import log_turn, record_feedback
from escalation.db import session
from escalation.models import Role, Ticket
from escalation.oncall import active_overrides
from escalation.schedule import OncallSchedule
from escalation.tickets import open_ticket
from escalation.timers import start_escalation
from knowledge.article import Article, Severity
from knowledge.decision import Decision, Outcome
from knowledge.index import Matcher
from knowledge.triage import TriagePolicy, decide


@dataclass(frozen=True)
class ReportResult:
    decision: Decision
    ticket: Ticket | None


class TriageFlow:
    """One employee conversation's steps: report, then feedback, a pick or a hand-over."""

    def __init__(
        self,
        matcher: Matcher,
        engine: Engine,
        *,
        policy: TriagePolicy | None = None,
        default_team: str = "it",
        clock: Clock | None = None,
        schedule: OncallSchedule | None = None,
    ) -> None:
        """With `schedule`, every ticket opened starts paging its team's on-call engineers."""
        self.matcher = matcher
        self.engine = engine
        self.policy = policy or TriagePolicy()
        self.default_team = default_team
        self.clock = clock or SystemClock()
        self.schedule = schedule

    def report(
        self,
        *,
        reporter: str,
        source: str,
        text: str,
        conversation: str,
        db: Session | None = None,
    ) -> ReportResult:
        """Decide on a new report; an escalation opens its ticket in the same transaction.

        With `db`, the work joins the caller's transaction (which commits); else it is its own.
        """
        decision = decide(text, self.matcher, self.policy)
        with self._unit(db) as db:
            log_turn(
                db,
                conversation_key=conversation,
                user_id=reporter,
                role=Role.EMPLOYEE,
                text=text,
                clock=self.clock,
            )
            ticket = None
            if decision.outcome is Outcome.ESCALATE:
                ticket = self._open(db, reporter, source, text, decision, decision.article)
            log_turn(
                db,
                conversation_key=conversation,
                user_id=reporter,
                role=Role.BOT,
                text=decision.reason,
                decision=decision,
                ticket_id=ticket.id if ticket else None,
                clock=self.clock,
            )
        return ReportResult(decision, ticket)

    def solved(
        self, *, reporter: str, conversation: str, article: Article, db: Session | None = None
    ) -> None:
        """The employee confirmed the article fixed it: a deflection."""
        with self._unit(db) as db:
            record_feedback(
                db,
                conversation_key=conversation,
                user_id=reporter,
                article_id=article.id,
                solved=True,
                clock=self.clock,
            )

    def picked(
        self, *, reporter: str, conversation: str, article: Article, db: Session | None = None
    ) -> None:
        """The employee chose one of the suggested articles; it is shown next."""
        with self._unit(db) as db:
            log_turn(
                db,
                conversation_key=conversation,
                user_id=reporter,
                role=Role.BOT,
                text=f"showed '{article.title}', picked by the employee from the suggestions",
                clock=self.clock,
            )

    def not_solved(
        self,
        *,
        reporter: str,
        source: str,
        conversation: str,
        text: str,
        decision: Decision,
        article: Article | None,
        db: Session | None = None,
    ) -> Ticket:
        """The answer did not help (or nothing suggested fits): hand over to a human."""
        with self._unit(db) as db:
            if article is not None:
                record_feedback(
                    db,
                    conversation_key=conversation,
                    user_id=reporter,
                    article_id=article.id,
                    solved=False,
                    clock=self.clock,
                )
            why = (
                f"the employee said '{article.title}' did not solve it"
                if article is not None
                else "none of the suggested articles fit, said the employee"
            )
            ticket = self._open(db, reporter, source, text, replace(decision, reason=why), article)
            log_turn(
                db,
                conversation_key=conversation,
                user_id=reporter,
                role=Role.BOT,
                text=f"escalated as ticket #{ticket.id}",
                ticket_id=ticket.id,
                clock=self.clock,
            )
        return ticket

    @contextmanager
    def _unit(self, db: Session | None) -> Iterator[Session]:
        """The caller's transaction if given (it commits), else a new one committed here."""
        if db is not None:
            yield db
            return
        with session(self.engine) as own:
            yield own

    def _open(
        self,
        db: Session,
        reporter: str,
        source: str,
        text: str,
        decision: Decision,
        article: Article | None,
    ) -> Ticket:
        ticket = open_ticket(
            db,
            reporter=reporter,
            source=source,
            text=text,
            decision=decision,
            team=(article.team if article and article.team else self.default_team),
            severity=article.severity if article else Severity.NORMAL,
            clock=self.clock,
        )
        if self.schedule is not None:
            overrides = active_overrides(db, ticket.team, self.clock.now())
            start_escalation(db, ticket, self.schedule, overrides, self.clock)
        return ticket
