"""The Slack help desk: what a report, a reply in its thread, or a button click does.

Listeners parse Slack's payloads into a `Report` or a `Click` and call one method. Each method
does its database work and enqueues every message it causes in ONE transaction, with the Slack
event's key when there is one: a retried event finds its key and does nothing, and an outage of
Slack delays the answer (the outbox keeps it) but never loses or doubles it. Then the workers
it gave work to (`escalation.worker.queued`) are woken. No Bolt here and no direct Web API
calls: acks, ephemeral refusals and the App Home are the listeners' business. The knowledge
base is read afresh on every call (hot reload).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.acks_first import AcksFirst
from bot.answered import Answered, AnsweredWriter
from bot.blocks import Block, Message, api_args, fit_message
from bot.channel import EngineersChannel
from bot.config import Settings
from bot.figures import home_figures
from bot.flow import Decided, TriageFlow, unjudged
from bot.intent import Intent, asks_for_help, is_courtesy, reply_intent
from bot.learning import LessonSync
from bot.logs import log_context
from bot.metrics import Metrics
from bot.render import Renderer
from escalation import outbox, threads
from escalation.clock import Clock
from escalation.conversations import log_turn
from escalation.db import plain, session
from escalation.inbox import claim_event
from escalation.lessons import learned_in
from escalation.models import (
    OutboxMessage,
    Role,
    SlackConversation,
    SlackEvent,
    ThreadState,
    Ticket,
    TicketStatus,
)
from escalation.schedule import OncallSchedule
from escalation.sla_watch import STALE
from escalation.stats import collect_stats
from escalation.storms import reporters
from escalation.tickets import assignee, list_tickets
from escalation.worker import Work, queued
from knowledge.article import Article
from knowledge.decision import Candidate, Decision, Outcome
from knowledge.live import KnowledgeSnapshot, LiveKnowledge

log = logging.getLogger(__name__)

THREAD_STARTED = "slack.thread_started"
TICKET_POSTED = "slack.ticket_posted"
HOME_TICKETS = 10
HOME_PROBLEMS = 15
STORM_NOTES = 5
"""Joined reports whose words go into the ticket's thread; past that only the count changes, so
an outage of hundreds does not queue hundreds of messages in the engineers' channel."""
HOME_STATS_WINDOW = timedelta(days=7)
"""The admins' App Home shows `jethro stats --since 7d`."""
QUIET = {"unfurl_links": False, "unfurl_media": False}
"""Article links would otherwise fold out into big previews under every answer."""
VERDICT_WINDOW = timedelta(days=1)
BUSY_THREADS = 2
"""Reports worked on at once, matching aside. The rest is Python holding the interpreter lock
(reads, rendering, one transaction): more threads at it only take turns with each other and
with the acknowledgements' threads. At 80 reports a second on SQLite, 8 at once gave an ack p99
of 2.1 s, 4 gave 0.7 s, 2 gave 0.13 s, for the same throughput (`bench/load.py`)."""
"""How long a bare "still broken" or "that worked" written outside the thread in a DM still
speaks of the last report there: people answer a DM's latest message, not its thread."""
VERDICT_WORDS = 6
"""Longer than this, a message outside the thread is more likely a new problem than a verdict."""


class Source(StrEnum):
    """Where a report came from; stored on its ticket as `slack-<source>`."""

    DM = "dm"
    MENTION = "mention"
    COMMAND = "command"
    SHORTCUT = "shortcut"


class Action(StrEnum):
    """The buttons' `action_id`s: a public contract with the templates, never renamed."""

    SOLVED = "kb_solved"
    NOT_SOLVED = "kb_not_solved"
    PICK = "kb_pick"
    NONE = "kb_none"


@dataclass(frozen=True)
class Report:
    """Words from a reporter. `channel` is where answers go (a conversation id, or the reporter's
    user id for a new DM); `thread_ts` is the thread the words were written in, or None when the
    bot's first message starts one. `event_key` makes a redelivered event a no-op."""

    reporter: str
    text: str
    source: Source
    channel: str
    thread_ts: str | None
    event_key: str | None = None


@dataclass(frozen=True)
class Click:
    """A button press; only `value` and the clicked message's place come from the payload."""

    action: Action
    value: str
    user: str
    channel: str
    message_ts: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class _Work:
    """One request's transaction, and the one version of the knowledge base it reads.
    `broadcast`: the person wrote outside the thread, so replies in it are also shown there."""

    db: Session
    snapshot: KnowledgeSnapshot
    broadcast: bool = False


@dataclass(frozen=True)
class _Prepared:
    """A new report's decision and, unless it escalates, its rendered answer: made before the
    report's transaction (see `Desk._take`)."""

    key: str
    decided: Decided
    answer: Message | None


@dataclass(frozen=True)
class _Answer:
    """An answered report's rows (`bot.answered`), and what is counted once they are stored."""

    rows: Answered
    outcome: Outcome
    matching_seconds: float


class _Ignored:
    """`Desk._prepare`: nothing to do for this event (overheard, or handled before)."""


_IGNORED = _Ignored()


def _report_thread(db: Session, report: Report) -> SlackConversation | None:
    """The conversation whose thread the report was written in, if any."""
    return threads.by_thread(db, report.channel, report.thread_ts) if report.thread_ts else None


def _handled(db: Session, event_key: str) -> bool:
    """The event's key is claimed already: a read, so a retry costs no matching and no lock."""
    return plain(db).execute(_HANDLED, {"key": event_key}).first() is not None


_HANDLED = sa.select(col(SlackEvent.key)).where(col(SlackEvent.key) == sa.bindparam("key"))
_LATEST = (
    sa.select(col(SlackConversation.id))
    .where(
        col(SlackConversation.channel) == sa.bindparam("channel"),
        col(SlackConversation.reporter) == sa.bindparam("reporter"),
        col(SlackConversation.updated_at) >= sa.bindparam("since"),
    )
    .order_by(col(SlackConversation.id).desc())
    .limit(1)
)


class Desk:
    """Stateless between calls, so the listeners' threads share one; hooks are registered here
    because the outbox runs them after a send, possibly in another process after a restart."""

    def __init__(
        self,
        *,
        engine: Engine,
        knowledge: LiveKnowledge,
        renderer: Renderer,
        settings: Settings,
        clock: Clock,
        wake: Callable[[frozenset[Work]], None] = lambda work: None,
        schedule: OncallSchedule | None = None,
        metrics: Metrics | None = None,
        acks: AcksFirst | None = None,
        learning: LessonSync | None = None,
    ) -> None:
        """`learning`: pulled after a transaction that stored a lesson, so this process's next
        report already sees it."""
        self.engine = engine
        self.learning = learning
        self.acks = acks or AcksFirst()
        self.schedule = schedule
        self.metrics = metrics
        self.knowledge = knowledge
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.wake = wake
        self._turns = threading.BoundedSemaphore(BUSY_THREADS)
        self.answered = AnsweredWriter(engine, clock)
        outbox.register_hook(THREAD_STARTED, _thread_started)
        outbox.register_hook(TICKET_POSTED, _ticket_posted)

    # Reports and replies.

    def take(self, report: Report, *, replies_only: bool = False) -> None:
        """`_take`, with the event's id and channel on every log record it causes, holding one
        of the desk's `BUSY_THREADS` turns except while the report is matched, and while an
        answered report waits to be stored with others (`_store`)."""
        self.acks.wait_turn()
        with log_context(event_id=report.event_key, channel=report.channel):
            with self._turns:
                answered = self._take(report, replies_only=replies_only)
            if answered is not None:  # stored without a turn: the more wait, the bigger the group
                self._store(answered)

    def take_unjudged(self, report: Report, why: str, *, replies_only: bool = False) -> bool:
        """The last line of defence, when `take` raised: the report goes to a person with its
        text and a note that the bot could not judge it (`why`), instead of an apology that
        loses it. False when there is nobody to hand it to: a message the bot overheard in no
        report's thread. The event's key is claimed here, as `take` would have."""
        self.acks.wait_turn()
        with log_context(event_id=report.event_key, channel=report.channel), self._turns:
            with session(self.engine) as db:
                work = _Work(db, self.knowledge.current)
                existing = _report_thread(db, report)
                if replies_only and existing is None:
                    return False
                if report.event_key and not claim_event(db, report.event_key, self.clock):
                    return True  # stored after all: the failure came after its commit
                if existing is not None and existing.state is ThreadState.ESCALATED:
                    self._add_to_ticket(work, existing, report)
                elif existing is not None:
                    threads.add_detail(db, existing, report.text, self.clock)
                    self._escalate(work, existing)
                else:
                    decided = Decided(unjudged(why), 0.0)
                    self._new_report(work, report, _Prepared(threads.new_key(), decided, None))
                log.warning("report handed to a person unjudged: %s", why)
            self.wake(queued(db))
        return True

    def _take(self, report: Report, *, replies_only: bool = False) -> _Answer | None:
        """A new report, or a reply in the thread of one: answered, suggested or escalated.

        `replies_only`: a channel message the bot merely overheard; only a reply in the thread
        of a report counts, and nothing is stored for the rest.

        A new report is matched and its answer rendered before the transaction that stores it
        (`_prepare`): the transaction's first write takes SQLite's one write lock, and holding it
        through matching made every other thread, the acknowledgements' receipts included, wait.
        The transaction looks again and claims the event's key first, so a copy handled
        meanwhile finds it claimed and its prepared work is dropped.

        A new report the knowledge base answers (or gives suggestions for) is returned instead,
        its rows ready, for `_store` to write with others (`bot.answered`).
        """
        snapshot = self.knowledge.current
        prepared = self._prepare(report, snapshot, replies_only=replies_only)
        if isinstance(prepared, _Ignored):
            return None
        if (
            isinstance(prepared, _Prepared)
            and prepared.answer is not None
            and not _private(report, prepared.decided.decision)  # those go on in the DM
        ):
            return self._answered(report, prepared, snapshot)
        with session(self.engine) as db:
            work = _Work(db, snapshot)
            existing = _report_thread(work.db, report)
            if replies_only and existing is None:
                return None
            if report.event_key and not claim_event(work.db, report.event_key, self.clock):
                log.info("event %s was handled before: Slack retried it", report.event_key)
                return None
            latest = None if existing else self._awaiting_verdict(work, report)
            if existing is not None:
                self._follow_up(work, existing, report)
            elif latest is not None:
                self._follow_up(replace(work, broadcast=True), latest, report)
            elif asks_for_help(report.text):
                self._reply_to(work, report, self.renderer.message("help"))
            elif is_courtesy(report.text) or reply_intent(report.text) is Intent.SOLVED:
                self._reply_to(work, report, self.renderer.message("welcome"))
            else:
                self._new_report(work, report, prepared)
        self._learned(db)
        self.wake(queued(db))
        return None

    def _learned(self, db: Session) -> None:
        """After a commit that stored a lesson (a verdict), this process catches up with it."""
        if self.learning is not None and learned_in(db):
            self.learning.pull()

    def _answered(
        self, report: Report, prepared: _Prepared, snapshot: KnowledgeSnapshot
    ) -> _Answer:
        """The rows `_new_report` would write for an answer or a suggestion, written by
        `_store`. Nothing is looked up again: `_prepare` found this to be a new report, and a
        copy of the event stored meanwhile has claimed its key, which `_store` finds."""
        decision = prepared.decided.decision
        flow = self._flow(snapshot)
        turns = flow.report_turns(
            reporter=report.reporter, text=report.text, conversation=prepared.key, decision=decision
        )
        conversation = self._conversation(report, prepared.key, decision)
        assert prepared.answer is not None
        post = self._post(report.channel, report.thread_ts, prepared.key, prepared.answer)
        message = outbox.message_values(now=self.clock.now(), **post)
        rows = Answered(report.event_key, turns, conversation, message)
        return _Answer(rows, decision.outcome, prepared.decided.matching_seconds)

    def _conversation(
        self, report: Report, key: str, decision: Decision, ticket_id: int | None = None
    ) -> dict[str, Any]:
        """A new report's conversation row (`threads.conversation_values`)."""
        state = {
            Outcome.ANSWER: ThreadState.ANSWERED,
            Outcome.SUGGEST: ThreadState.SUGGESTED,
            Outcome.ESCALATE: ThreadState.ESCALATED,
        }[decision.outcome]
        return threads.conversation_values(
            key=key,
            reporter=report.reporter,
            source=report.source,
            channel=report.channel,
            thread_ts=report.thread_ts,
            text=report.text,
            decision=decision,
            state=state,
            clock=self.clock,
            ticket_id=ticket_id,
        )

    def _store(self, answer: _Answer) -> None:
        if not self.answered.store(answer.rows):
            log.info("event %s was handled before: Slack retried it", answer.rows.event_key)
            return
        if self.metrics is not None:
            self.metrics.report_stored(answer.outcome, answer.matching_seconds)
        log.info("report handled: %s", answer.outcome.value)
        self.wake(frozenset({Work.OUTBOX}))

    def _prepare(
        self, report: Report, snapshot: KnowledgeSnapshot, *, replies_only: bool
    ) -> _Prepared | _Ignored | None:
        """Read (no write, so no lock) what `_take` will do; for a new report, match it and
        render its answer now. `_IGNORED` when there is nothing to do (overheard, or the event
        was handled before); None when it is no new report."""
        with session(self.engine) as db:
            if report.event_key and _handled(db, report.event_key):
                return _IGNORED
            work = _Work(db, snapshot)
            existing = _report_thread(db, report)
            if existing is None and replies_only:
                return _IGNORED
            if existing is not None or self._awaiting_verdict(work, report) is not None:
                return None
        if asks_for_help(report.text) or is_courtesy(report.text):
            return None
        if reply_intent(report.text) is Intent.SOLVED:
            return None
        decided = self._matched(self._flow(work.snapshot), report.text)
        key = threads.new_key()
        return _Prepared(key, decided, self._answer(decided.decision, key))

    def _matched(self, flow: TriageFlow, text: str) -> Decided:
        """Match without holding a turn: the semantic matcher spends it in numpy, which lets
        the interpreter go, and reports matched at the same moment share one encoder pass
        (`knowledge.batching`), so the more threads match at once the cheaper each report."""
        self._turns.release()
        try:
            self.acks.wait_turn()
            return flow.decide(text)
        finally:
            self.acks.wait_turn()
            self._turns.acquire()

    def _answer(self, decision: Decision, key: str) -> Message | None:
        """The reporter's message for an answer or a suggestion; None for an escalation, whose
        message names the ticket it opens."""
        if decision.outcome is Outcome.SUGGEST:
            return self.renderer.message("suggest", candidates=decision.candidates, ref=key)
        if decision.outcome is Outcome.ANSWER:
            assert decision.article is not None
            return self.renderer.message(
                "answer",
                article=decision.article,
                ref=key,
                full_url=self.settings.article_url(decision.article.path),
            )
        return None

    def _awaiting_verdict(self, work: _Work, report: Report) -> SlackConversation | None:
        """The reporter's latest conversation in this DM, when their top-level message is a
        verdict on it ("still broken", "that worked") rather than a new problem."""
        if report.source is not Source.DM or len(report.text.split()) > VERDICT_WORDS:
            return None
        if reply_intent(report.text) is Intent.DETAIL:
            return None
        params = {
            "channel": report.channel,
            "reporter": report.reporter,
            "since": self.clock.now() - VERDICT_WINDOW,
        }
        latest = plain(work.db).execute(_LATEST, params).scalar()
        return None if latest is None else work.db.get(SlackConversation, latest)

    def _new_report(self, work: _Work, report: Report, prepared: _Prepared | None) -> None:
        """Stored and answered; a private one asked where others read goes on in the reporter's
        DM (the conversation lives there), and where it was asked gets only a neutral note."""
        flow = self._flow(work.snapshot)
        if prepared is None:  # it looked like something else before the transaction
            decided = flow.decide(report.text)
            key = threads.new_key()
            prepared = _Prepared(key, decided, self._answer(decided.decision, key))
        if _private(report, prepared.decided.decision):
            asked = report
            report = replace(report, channel=report.reporter, thread_ts=None)
            note = self.renderer.message("private_note", reporter=report.reporter)
            self._reply_to(work, asked, note)
            log.info("private answer: sent to the reporter's DM, a note where it was asked")
        key = prepared.key
        result = flow.report(
            reporter=report.reporter,
            source=f"slack-{report.source}",
            text=report.text,
            conversation=key,
            db=work.db,
            decided=prepared.decided,
        )
        decision, ticket = result.decision, result.ticket
        log.info(
            "report handled: %s%s",
            decision.outcome.value,
            f" (ticket #{ticket.id})" if ticket else "",
            extra={"ticket_id": ticket.id if ticket else None},
        )
        values = self._conversation(report, key, decision, ticket.id if ticket else None)
        conversation = threads.start_conversation(work.db, values)
        if ticket is not None and result.joined:
            self._announce_join(work, conversation, ticket, report.reporter, report.text)
        elif ticket is not None:
            self._announce(work, conversation, ticket, decision)
        else:
            assert prepared.answer is not None
            self._reply(work, conversation, prepared.answer)

    def _follow_up(self, work: _Work, conversation: SlackConversation, report: Report) -> None:
        """Words in a report's thread belong to that report; only its reporter gives verdicts."""
        log_turn(
            work.db,
            conversation_key=conversation.key,
            user_id=report.reporter,
            role=Role.EMPLOYEE,
            text=report.text,
            clock=self.clock,
        )
        verdict = (
            reply_intent(report.text) if report.reporter == conversation.reporter else Intent.DETAIL
        )
        if conversation.state is ThreadState.ESCALATED:
            self._add_to_ticket(work, conversation, report)
        elif verdict is Intent.NOT_SOLVED:
            threads.add_detail(work.db, conversation, report.text, self.clock)  # "still 0x42"
            self._escalate(work, conversation)
        elif verdict is Intent.SOLVED and self._mark_solved(work, conversation):
            self._reply(work, conversation, self.renderer.message("thanks"))
        else:
            threads.add_detail(work.db, conversation, report.text, self.clock)
            self._reply(work, conversation, self.renderer.message("noted", ticket_number=None))

    def _reply_to(self, work: _Work, report: Report, message: Message) -> None:
        """Answer words that are not a report (a greeting, a thanks) where they were written."""
        args: dict[str, Any] = {"channel": report.channel, **api_args(message)}
        if report.thread_ts:
            args["thread_ts"] = report.thread_ts
        outbox.enqueue(work.db, method="chat.postMessage", args=args, clock=self.clock)

    # Clicks.

    def click(self, click: Click) -> Message | None:
        """Do what the button says; a refusal (shown only to the clicker) when it cannot be done."""
        with session(self.engine) as db:
            work = _Work(db, self.knowledge.current)
            if click.action is Action.PICK:
                root = click.thread_ts or click.message_ts
                conversation = threads.by_thread(work.db, click.channel, root)
            else:
                conversation = threads.by_key(work.db, click.value)
            if conversation is None:
                return self._refusal("gone")
            if click.user != conversation.reporter:
                return self._refusal("not_reporter", conversation)
            handle = {
                Action.SOLVED: self._solved,
                Action.NOT_SOLVED: self._not_solved,
                Action.PICK: self._pick,
                Action.NONE: self._none,
            }[click.action]
            refusal = handle(work, conversation, click)
        self._learned(db)
        if refusal is None:
            self.wake(queued(db))
        return refusal

    def _solved(self, work: _Work, conversation: SlackConversation, click: Click) -> Message | None:
        if not self._mark_solved(work, conversation):
            return self._already(conversation)
        self._update(work, click, self._closed_answer(work, conversation, "solved"))
        return None

    def _not_solved(
        self, work: _Work, conversation: SlackConversation, click: Click
    ) -> Message | None:
        ticket = self._escalate(work, conversation)
        if ticket is None:
            return self._already(conversation)
        self._update(work, click, self._closed_answer(work, conversation, "not_solved", ticket))
        return None

    def _pick(self, work: _Work, conversation: SlackConversation, click: Click) -> Message | None:
        offered = {candidate["id"] for candidate in conversation.candidates}
        if conversation.state is not ThreadState.SUGGESTED:
            return self._already(conversation)
        article = work.snapshot.kb.by_id(click.value)
        if click.value not in offered:
            return self._refusal("gone")
        if article is None:
            return self._refusal("article_gone")
        moved = threads.move(
            work.db,
            conversation,
            allowed_from={ThreadState.SUGGESTED},
            to=ThreadState.ANSWERED,
            clock=self.clock,
            article_id=article.id,
        )
        if not moved:
            return self._already(conversation)
        self._flow(work.snapshot).picked(
            reporter=conversation.reporter,
            conversation=conversation.key,
            article=article,
            db=work.db,
            text=conversation.text,
            confidence=conversation.confidence,
            top=str(conversation.candidates[0]["id"]),
        )
        shown = self.renderer.message(
            "answer",
            article=article,
            ref=conversation.key,
            full_url=self.settings.article_url(article.path),
        )
        self._update(work, click, shown)
        return None

    def _none(self, work: _Work, conversation: SlackConversation, click: Click) -> Message | None:
        if conversation.state is not ThreadState.SUGGESTED:
            return self._already(conversation)
        decision = self._decision(work, conversation)
        ticket = self._escalate(work, conversation)
        if ticket is None:
            return self._already(conversation)
        shown = self.renderer.message("suggest", candidates=decision.candidates, ref="-")
        note = self.renderer.message(
            "closed", verdict="none", reporter=conversation.reporter, ticket_number=ticket.id
        )
        self._update(work, click, _without_buttons(shown, note))
        return None

    # The App Home.

    def home(self, user: str) -> dict[str, Any]:
        """The App Home view for `user`: open tickets, how to ask, and KB problems for admins."""
        admin = user in self.settings.admins
        with session(self.engine) as db:
            mine = [
                ticket
                for status in (TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED)
                for ticket in list_tickets(db, status=status, reporter=user, limit=100)
            ]
            now = self.clock.now()
            figures = (
                home_figures(
                    collect_stats(
                        db,
                        since=now - HOME_STATS_WINDOW,
                        until=now,
                        default_team=self.settings.default_team,
                    ),
                    "7 days",
                )
                if admin
                else None
            )
        mine.sort(key=lambda ticket: ticket.id or 0, reverse=True)
        snapshot = self.knowledge.current
        problems = [str(problem) for problem in snapshot.problems]
        message = self.renderer.message(
            "home",
            user=user,
            tickets=[_home_ticket(ticket) for ticket in mine[:HOME_TICKETS]],
            more_tickets=max(0, len(mine) - HOME_TICKETS),
            is_admin=admin,
            articles=len(snapshot.kb.articles),
            problems=problems[:HOME_PROBLEMS] if admin else [],
            more_problems=max(0, len(problems) - HOME_PROBLEMS) if admin else 0,
            stats=figures,
            thresholds=self.settings.thresholds(snapshot.matcher).describe() if admin else "",
        )
        return {"type": "home", "blocks": message["blocks"]}

    def help(self) -> Message:
        return self.renderer.message("help")

    def on_it(self, text: str) -> Message:
        return self.renderer.message("on_it", report=text)

    def sorry(self) -> Message:
        return self.renderer.message("sorry")

    # Steps shared by reports, replies and clicks.

    def _mark_solved(self, work: _Work, conversation: SlackConversation) -> bool:
        moved = threads.move(
            work.db,
            conversation,
            allowed_from={ThreadState.ANSWERED},
            to=ThreadState.SOLVED,
            clock=self.clock,
        )
        if moved:
            answered = conversation.outcome is Outcome.ANSWER
            self._flow(work.snapshot).solved(
                reporter=conversation.reporter,
                conversation=conversation.key,
                article=self._article(work, conversation.article_id or "", conversation),
                db=work.db,
                text=conversation.text,
                confidence=conversation.confidence if answered else None,
            )
        return moved

    def _escalate(self, work: _Work, conversation: SlackConversation) -> Ticket | None:
        """Open a ticket for a conversation that has none; None if it was escalated meanwhile."""
        shown = (
            self._article(work, conversation.article_id, conversation)
            if conversation.article_id and conversation.state is not ThreadState.SUGGESTED
            else None
        )
        decision = self._decision(work, conversation)
        moved = threads.move(
            work.db,
            conversation,
            allowed_from={ThreadState.ANSWERED, ThreadState.SUGGESTED, ThreadState.SOLVED},
            to=ThreadState.ESCALATED,
            clock=self.clock,
        )
        if not moved:
            return None
        text = threads.full_report(conversation)
        result = self._flow(work.snapshot).hand_over(
            reporter=conversation.reporter,
            source=f"slack-{conversation.source}",
            conversation=conversation.key,
            text=text,
            decision=decision,
            article=shown,
            db=work.db,
            lesson_text=conversation.text,
        )
        ticket = result.ticket
        assert ticket is not None
        conversation.ticket_id = ticket.id
        work.db.add(conversation)
        work.db.flush()
        if result.joined:
            self._announce_join(work, conversation, ticket, conversation.reporter, text)
        else:
            self._announce(work, conversation, ticket, decision)
        return ticket

    def _announce(
        self, work: _Work, conversation: SlackConversation, ticket: Ticket, decision: Decision
    ) -> None:
        """The ticket in the engineers' channel, and word to the reporter of who has it."""
        team = ticket.team or self.settings.default_team
        message = self.renderer.message(
            "ticket",
            ticket_number=ticket.id,
            reporter=ticket.reporter,
            report=ticket.text,
            severity=ticket.severity,
            team=team,
            candidates=decision.candidates,
            reason=ticket.reason,
        )
        outbox.enqueue(
            work.db,
            method="chat.postMessage",
            args={"channel": self.settings.escalation_channel, **api_args(message), **QUIET},
            clock=self.clock,
            after_sent=TICKET_POSTED,
            ref={"ticket": ticket.id},
        )
        escalated = self.renderer.message("escalated", ticket_number=ticket.id, team=team)
        self._reply(work, conversation, escalated)

    def _announce_join(
        self,
        work: _Work,
        conversation: SlackConversation,
        ticket: Ticket,
        reporter: str,
        text: str,
    ) -> None:
        """A storm: the ticket's message shows one more reporter (edited, not re-posted; nobody
        is paged again), the first few joiners' words go to its thread (once there is one), and
        the reporter hears it is known, and who has it."""
        everyone = reporters(work.db, ticket)
        self._channel().update_message(work.db, ticket, coalesce=True)  # or once it is posted
        if ticket.slack_ts and len(everyone) <= STORM_NOTES + 1:
            self._post_in_ticket_thread(
                work, ticket, "detail", reporter=reporter, detail=text, joined=True
            )
        known = self.renderer.message(
            "joined",
            ticket_number=ticket.id,
            team=ticket.team or self.settings.default_team,
            owner=assignee(work.db, ticket),
            reported_by=len(everyone),
        )
        self._reply(work, conversation, known)

    def _post_in_ticket_thread(
        self, work: _Work, ticket: Ticket, template: str, **context: Any
    ) -> None:
        message = self.renderer.message(template, ticket_number=ticket.id, **context)
        args: dict[str, Any] = {
            "channel": ticket.slack_channel or self.settings.escalation_channel,
            **api_args(message),
            **QUIET,
        }
        if ticket.slack_ts:
            args["thread_ts"] = ticket.slack_ts
        outbox.enqueue(work.db, method="chat.postMessage", args=args, clock=self.clock)

    def _channel(self) -> EngineersChannel:
        return EngineersChannel(
            engine=self.engine,
            renderer=self.renderer,
            settings=self.settings,
            clock=self.clock,
            kb_root=self.knowledge.root,
        )

    def _add_to_ticket(self, work: _Work, conversation: SlackConversation, report: Report) -> None:
        threads.add_detail(work.db, conversation, report.text, self.clock)
        ticket = work.db.get(Ticket, conversation.ticket_id) if conversation.ticket_id else None
        if ticket is None:
            return
        self._post_in_ticket_thread(
            work, ticket, "detail", reporter=report.reporter, detail=report.text
        )
        self._reply(work, conversation, self.renderer.message("noted", ticket_number=ticket.id))

    def _reply(self, work: _Work, conversation: SlackConversation, message: Message) -> None:
        """Post in the conversation's thread; its first bot message starts the thread if needed."""
        post = self._post(
            conversation.channel,
            conversation.thread_ts,
            conversation.key,
            message,
            broadcast=work.broadcast,
        )
        outbox.enqueue(work.db, clock=self.clock, **post)

    @staticmethod
    def _post(
        channel: str, thread_ts: str | None, key: str, message: Message, *, broadcast: bool = False
    ) -> dict[str, Any]:
        """`outbox.enqueue`'s arguments for a message in conversation `key`'s thread."""
        args: dict[str, Any] = {"channel": channel, **api_args(message), **QUIET}
        if thread_ts:
            args["thread_ts"] = thread_ts
            if broadcast:
                args["reply_broadcast"] = True
            return {"method": "chat.postMessage", "args": args}
        return {
            "method": "chat.postMessage",
            "args": args,
            "after_sent": THREAD_STARTED,
            "ref": {"conversation": key},
        }

    def _update(self, work: _Work, click: Click, message: Message) -> None:
        args = {"channel": click.channel, "ts": click.message_ts, **api_args(message)}
        outbox.enqueue(work.db, method="chat.update", args=args, clock=self.clock)

    def _closed_answer(
        self,
        work: _Work,
        conversation: SlackConversation,
        verdict: str,
        ticket: Ticket | None = None,
    ) -> Message:
        article = self._article(work, conversation.article_id or "", conversation)
        shown = self.renderer.message(
            "answer",
            article=article,
            ref=conversation.key,
            full_url=self.settings.article_url(article.path),
        )
        note = self.renderer.message(
            "closed",
            verdict=verdict,
            reporter=conversation.reporter,
            ticket_number=ticket.id if ticket else None,
        )
        return _without_buttons(shown, note)

    def _refusal(self, why: str, conversation: SlackConversation | None = None) -> Message:
        return self.renderer.message(
            "refusal",
            why=why,
            reporter=conversation.reporter if conversation else "",
            ticket_number=conversation.ticket_id if conversation else None,
        )

    def _already(self, conversation: SlackConversation) -> Message:
        return self._refusal(conversation.state.value, conversation)

    def _flow(self, snapshot: KnowledgeSnapshot) -> TriageFlow:
        return TriageFlow(
            snapshot.matcher,
            self.engine,
            policy=self.settings.policy(snapshot.matcher),
            default_team=self.settings.default_team,
            clock=self.clock,
            schedule=self.schedule,
            storm_window=timedelta(minutes=self.settings.storm_window_minutes),
            metrics=self.metrics,
        )

    def _decision(self, work: _Work, conversation: SlackConversation) -> Decision:
        """The decision as it was made, with today's articles where they still exist."""
        candidates = tuple(
            Candidate(
                self._article(work, c["id"], conversation),
                float(c["score"]),
                confidence=c.get("confidence"),
            )
            for c in conversation.candidates
        )
        article = (
            self._article(work, conversation.article_id, conversation)
            if conversation.article_id
            else None
        )
        return Decision(
            conversation.outcome, article, conversation.confidence, candidates, conversation.reason
        )

    def _article(self, work: _Work, article_id: str, conversation: SlackConversation) -> Article:
        """The article now; if it was deleted since, a stand-in with the title it had."""
        found = work.snapshot.kb.by_id(article_id)
        if found is not None:
            return found
        titles = {c["id"]: c["title"] for c in conversation.candidates}
        return Article(id=article_id, title=str(titles.get(article_id, article_id)), body="")


def _private(report: Report, decision: Decision) -> bool:
    """Whether the report was asked where others read (a mention in a channel or a thread) about
    a `visibility: private` article: its answer, suggestions or escalation name it."""
    if report.source is not Source.MENTION:
        return False  # a DM, or /triage and the shortcut, which answer in the DM anyway
    shown = [decision.article] if decision.article is not None else []
    if decision.outcome is Outcome.SUGGEST:
        shown += [candidate.article for candidate in decision.candidates]
    return any(article.private for article in shown)


def _without_buttons(message: Message, note: Message) -> Message:
    """The message as it was, minus its buttons and their prompt, plus a note of what happened."""
    blocks = message["blocks"]
    kept: list[Block] = []
    for number, block in enumerate(blocks):
        following = blocks[number + 1]["type"] if number + 1 < len(blocks) else None
        if block["type"] == "actions" or (block["type"] == "context" and following == "actions"):
            continue
        if block["type"] == "section" and "accessory" in block:
            block = {key: value for key, value in block.items() if key != "accessory"}  # type: ignore[assignment]
        kept.append(block)
    return fit_message([*kept, *note["blocks"]], message["text"])


def _home_ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.id,
        "status": ticket.status.value,
        "summary": ticket.text,
        "opened": ticket.created_at.strftime("%d %b %Y %H:%M UTC"),
    }


def _thread_started(db: Session, message: OutboxMessage, data: dict[str, Any]) -> None:
    threads.thread_started(db, str(message.ref["conversation"]), data["channel"], data["ts"])


def _ticket_posted(db: Session, message: OutboxMessage, data: dict[str, Any]) -> None:
    ticket = db.get(Ticket, int(message.ref["ticket"]), with_for_update=True)
    if ticket is not None:  # locked: a click changing it now is seen as STALE, or waits
        ticket.slack_channel = str(data["channel"])
        ticket.slack_ts = str(data["ts"])
        if ticket.sla_shown == STALE:
            ticket.sla_check_at = message.sent_at or ticket.created_at  # the watch updates it
        db.add(ticket)
        db.flush()
