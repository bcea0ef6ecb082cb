"""The triage flow: a report in, an answer, a suggestion or a ticket out, every step logged.

The CLI shell and the Slack listeners are thin adapters over this class, so an employee gets the
same treatment wherever they ask. No Slack and no rendering here; storage through `escalation/`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.text_safety import matchable
from escalation.clock import Clock, SystemClock
from escalation.conversations import INSERT_TURN, log_turn, record_feedback, turn_values
from escalation.db import session
from escalation.lessons import forget_examples, record_lesson, record_outcome
from escalation.models import Role, Ticket
from escalation.oncall import active_overrides
from escalation.schedule import OncallSchedule
from escalation.storms import Said, find_storm, join_storm, lock_team
from escalation.tickets import open_ticket
from escalation.timers import start_escalation
from knowledge.article import Article, Severity
from knowledge.decision import Decision, Outcome
from knowledge.index import Matcher
from knowledge.learning import LessonKind, LessonSource
from knowledge.triage import TriagePolicy, decide

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

UNJUDGED = "I could not judge this report ({why}), so a person has to"
"""The reason on a ticket opened because triage itself failed: the last line of defence."""


def unjudged(why: str) -> Decision:
    """The decision for a report the bot could not judge: a person sees it, with this note."""
    return Decision(Outcome.ESCALATE, None, 0.0, (), UNJUDGED.format(why=why))


@dataclass(frozen=True)
class ReportResult:
    decision: Decision
    ticket: Ticket | None
    joined: bool = False
    """The ticket was already open: this report joined it (a storm) and paged nobody."""


@dataclass(frozen=True)
class Decided:
    """A report's decision and how long matching took, made before any transaction is open."""

    decision: Decision
    matching_seconds: float


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
        storm_window: timedelta = timedelta(0),
        metrics: Metrics | None = None,
    ) -> None:
        """With `schedule`, every ticket opened starts paging its team's on-call engineers; with
        a `storm_window`, a report like a recent one of an unresolved ticket joins that ticket."""
        self.matcher = matcher
        self.engine = engine
        self.policy = policy or TriagePolicy()
        self.default_team = default_team
        self.clock = clock or SystemClock()
        self.schedule = schedule
        self.storm_window = storm_window
        self.metrics = metrics

    def report(
        self,
        *,
        reporter: str,
        source: str,
        text: str,
        conversation: str,
        db: Session | None = None,
        decided: Decided | None = None,
    ) -> ReportResult:
        """Decide on a new report; an escalation opens its ticket in the same transaction.

        With `db`, the work joins the caller's transaction (which commits); else it is its own.
        `decided`: `decide(text)`, done by the caller before its transaction began.
        """
        decided = decided or self.decide(text)
        decision = decided.decision
        with self._unit(db) as db:
            if self.metrics is not None:
                self.metrics.report_handled(db, decision.outcome, decided.matching_seconds)
            ticket, joined = None, False
            if decision.outcome is Outcome.ESCALATE:
                ticket, joined = self._open(
                    db, reporter, source, text, decision, decision.article, conversation
                )
            turns = self.report_turns(
                reporter=reporter,
                text=text,
                conversation=conversation,
                decision=decision,
                ticket_id=ticket.id if ticket else None,
            )
            db.connection().execute(INSERT_TURN, turns)
        return ReportResult(decision, ticket, joined)

    def report_turns(
        self,
        *,
        reporter: str,
        text: str,
        conversation: str,
        decision: Decision,
        ticket_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """What a new report adds to its conversation's log: the words, and what was decided."""
        said = turn_values(
            conversation_key=conversation,
            user_id=reporter,
            role=Role.EMPLOYEE,
            text=text,
            clock=self.clock,
        )
        decided = turn_values(
            conversation_key=conversation,
            user_id=reporter,
            role=Role.BOT,
            text=decision.reason,
            decision=decision,
            ticket_id=ticket_id,
            clock=self.clock,
        )
        return [said, decided]

    def decide(self, text: str) -> Decided:
        """Match a report: the slow, database-free part of `report`, to do before a transaction
        (on SQLite a transaction that has written holds the one write lock)."""
        started = time.perf_counter()
        try:
            decision = decide(matchable(text), self.matcher, self.policy)
        except Exception as exc:  # a bug or a model error must not lose the report
            log.exception("matching failed; the report goes to a person")
            decision = unjudged(f"matching failed: {type(exc).__name__}")
        return Decided(decision, time.perf_counter() - started)

    def solved(
        self,
        *,
        reporter: str,
        conversation: str,
        article: Article,
        db: Session | None = None,
        text: str = "",
        confidence: float | None = None,
    ) -> None:
        """The employee confirmed the article fixed it: a deflection, and `text` (their report)
        a learned example of it, which counts once someone else agrees (`knowledge.learning`).
        `confidence`: the answer's, for the verdicts a threshold refit reads."""
        with self._unit(db) as db:
            if self.metrics is not None:
                self.metrics.deflected(db)
            record_feedback(
                db,
                conversation_key=conversation,
                user_id=reporter,
                article_id=article.id,
                solved=True,
                clock=self.clock,
            )
            record_lesson(
                db,
                kind=LessonKind.EXAMPLE,
                article_id=article.id,
                source=LessonSource.VERDICT,
                teacher=reporter,
                text=text,
                clock=self.clock,
                conversation_key=conversation,
                confidence=confidence,
            )

    def picked(
        self,
        *,
        reporter: str,
        conversation: str,
        article: Article,
        db: Session | None = None,
        text: str = "",
        confidence: float | None = None,
        top: str | None = None,
    ) -> None:
        """The employee chose one of the suggested articles; it is shown next, and `text`
        becomes a learned example of it (counting once someone else agrees). `top`: the best
        candidate, whose would-be verdict (was it the one picked?) the threshold refit reads."""
        shown = f"showed '{article.title}', picked by the employee from the suggestions"
        with self._unit(db) as db:
            self._log(reporter, conversation, Role.BOT, shown, db)
            record_lesson(
                db,
                kind=LessonKind.EXAMPLE,
                article_id=article.id,
                source=LessonSource.PICK,
                teacher=reporter,
                text=text,
                clock=self.clock,
                conversation_key=conversation,
                confidence=confidence,
            )
            if top is not None and confidence is not None:
                record_outcome(
                    db,
                    top=top,
                    solved_by=article.id,
                    confidence=confidence,
                    teacher=reporter,
                    text=text,
                    clock=self.clock,
                    conversation_key=conversation,
                )

    def detail(
        self, *, reporter: str, conversation: str, text: str, db: Session | None = None
    ) -> None:
        """More words from the employee about the report, kept in its log for the engineer."""
        self._log(reporter, conversation, Role.EMPLOYEE, text, db)

    def _log(
        self, reporter: str, conversation: str, role: Role, text: str, db: Session | None
    ) -> None:
        with self._unit(db) as db:
            log_turn(
                db,
                conversation_key=conversation,
                user_id=reporter,
                role=role,
                text=text,
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
        lesson_text: str | None = None,
    ) -> Ticket:
        """The answer did not help (or nothing suggested fits): hand over to a human."""
        result = self.hand_over(
            reporter=reporter,
            source=source,
            conversation=conversation,
            text=text,
            decision=decision,
            article=article,
            db=db,
            lesson_text=lesson_text,
        )
        assert result.ticket is not None
        return result.ticket

    def hand_over(
        self,
        *,
        reporter: str,
        source: str,
        conversation: str,
        text: str,
        decision: Decision,
        article: Article | None,
        db: Session | None = None,
        lesson_text: str | None = None,
    ) -> ReportResult:
        """`not_solved`, saying whether the report joined an open ticket (a storm).

        With an `article` (it was shown and did not help), the report (`lesson_text`, else
        `text`) becomes its counter-example: close reports are no longer given it, and an
        earlier Solved of this conversation is taken back.
        """
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
            ticket, joined = self._open(
                db, reporter, source, text, replace(decision, reason=why), article, conversation
            )
            if article is not None:
                answered = decision.outcome is Outcome.ANSWER and (
                    decision.article is not None and decision.article.id == article.id
                )
                forget_examples(db, conversation)
                record_lesson(
                    db,
                    kind=LessonKind.COUNTER,
                    article_id=article.id,
                    source=LessonSource.VERDICT,
                    teacher=reporter,
                    text=text if lesson_text is None else lesson_text,
                    clock=self.clock,
                    conversation_key=conversation,
                    ticket_id=ticket.id,
                    confidence=decision.confidence if answered else None,
                )
            log_turn(
                db,
                conversation_key=conversation,
                user_id=reporter,
                role=Role.BOT,
                text=f"{'joined' if joined else 'escalated as'} ticket #{ticket.id}",
                ticket_id=ticket.id,
                clock=self.clock,
            )
        return ReportResult(decision, ticket, joined)

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
        conversation: str,
    ) -> tuple[Ticket, bool]:
        """A new ticket (paging its team), or the open one this report joins: (ticket, joined)."""
        team = article.team if article and article.team else self.default_team
        if self.storm_window > timedelta(0):
            said = Said(
                text,
                topic=decision.article.id if decision.article else None,
                lead=decision.candidates[0].article.id if decision.candidates else None,
            )
            lock_team(db, team, self.clock)
            now = self.clock.now()
            match = find_storm(db, team=team, said=said, now=now, window=self.storm_window)
            if match is not None:
                join_storm(
                    db,
                    match,
                    reporter=reporter,
                    said=said,
                    clock=self.clock,
                    conversation_key=conversation,
                )
                return match.ticket, True
        ticket = open_ticket(
            db,
            reporter=reporter,
            source=source,
            text=text,
            decision=decision,
            team=team,
            severity=article.severity if article else Severity.NORMAL,
            clock=self.clock,
        )
        if self.metrics is not None:
            self.metrics.escalated(db, ticket, team)
        if self.schedule is not None:
            overrides = active_overrides(db, ticket.team, self.clock.now())
            start_escalation(db, ticket, self.schedule, overrides, self.clock)
        return ticket, False
