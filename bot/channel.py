"""The engineers' channel: what Acknowledge, Resolve and Reassign do, and the two-way thread.

Like `bot.desk`, each method does its database work and enqueues every message it causes (the
ticket message updated in place, news for the reporter, a note in the ticket's thread) in ONE
transaction, then wakes the outbox. Who may act (channel membership) is checked by the listener
before it calls here; the ticket's own rules (who acknowledged first) are checked here, in the
database, so a double click by two engineers changes the ticket once. No Bolt, no direct Web API
calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.blocks import Message, api_args
from bot.config import Settings
from bot.figures import duration_text
from bot.learning import LessonSync
from bot.metrics import Metrics
from bot.render import Renderer
from bot.text_safety import safe_text
from escalation import outbox
from escalation.clock import Clock
from escalation.db import session
from escalation.errors import TicketError, TicketNotFoundError
from escalation.inbox import claim_event
from escalation.lessons import learned_in, record_lesson, record_outcome
from escalation.models import OutboxMessage, OutboxStatus, SlackConversation, Ticket, TicketStatus
from escalation.sla import SlaState, sla_reading
from escalation.sla_watch import mark_stale
from escalation.storms import reporters
from escalation.tickets import acknowledge, assignee, get_ticket, reassign, resolve
from knowledge.article import Article
from knowledge.decision import Candidate, Outcome
from knowledge.drafts import DraftSource, drafts_folder, write_draft
from knowledge.learning import NEW_PROBLEM, LessonKind, LessonSource

log = logging.getLogger(__name__)

QUIET = {"unfurl_links": False, "unfurl_media": False}
RESOLVE_MODAL = "ticket_resolve_modal"
RESOLUTION_BLOCK = "resolution"
RESOLUTION_INPUT = "text"
TEACH_BLOCK = "teach"
TEACH_INPUT = "add_to_kb"
TEACH_VALUE = "draft"
SOLVED_BY_BLOCK = "solved_by"
SOLVED_BY_INPUT = "ticket_solved_by"
"""The Resolve modal's article picker: an `external_select` whose options come, as the engineer
types, from the knowledge base (`article_options`); a base has more articles than the 100 a
static select may hold. Its value is an article id or `NEW_PROBLEM`; empty: none needed."""
OPTIONS_MAX = 100
"""Slack shows at most 100 options in a select menu's response."""
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
NEW_PROBLEM_TEXT = "none: a new problem"
RESOLUTION_MAX = 3000
REPORTERS_SHOWN = 10
"""A storm's ticket message names this many reporters, then says how many more."""


@dataclass(frozen=True)
class EngineerReply:
    """Words an engineer wrote in a ticket's thread, found by where they were written."""

    user: str
    text: str
    channel: str
    thread_ts: str
    event_key: str | None = None


class EngineersChannel:
    """Stateless between calls; `kb_root` is where drafts go unless `JETHRO_DRAFTS_DIR` says."""

    def __init__(
        self,
        *,
        engine: Engine,
        renderer: Renderer,
        settings: Settings,
        clock: Clock,
        kb_root: Path,
        wake: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
        learning: LessonSync | None = None,
    ) -> None:
        self.engine = engine
        self.learning = learning
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.kb_root = kb_root
        self.wake = wake
        self.metrics = metrics

    # The buttons.

    def acknowledge(self, ticket_id: int, user: str) -> Message | None:
        """`user` takes the ticket; a refusal (for them only) if someone was quicker."""
        with session(self.engine) as db:
            try:
                ticket = acknowledge(db, ticket_id, user, self.clock)
            except TicketError:
                db.rollback()
                return self._refusal(db, ticket_id, user)
            if self.metrics is not None:
                team = ticket.team or self.settings.default_team
                self.metrics.ticket_acknowledged(db, ticket, team)
            self._update_ticket(db, ticket)
            self._tell_reporter(db, ticket, "acknowledged", user)
        self.wake()
        return None

    def resolve(
        self,
        ticket_id: int,
        user: str,
        resolution: str,
        *,
        teach: bool,
        solved_by: str | None = None,
    ) -> Message | None:
        """Close the ticket with `resolution`; `teach` also drafts a KB article from it.

        `solved_by`: the article that solved it, whose examples the ticket's reports join at
        once (an engineer's word needs nobody to agree); `NEW_PROBLEM` when no article covers
        it yet (kept on the ticket, for proposed articles); None when none is needed.
        """
        with session(self.engine) as db:
            try:
                ticket = resolve(db, ticket_id, user, resolution.strip(), self.clock)
            except TicketError:
                db.rollback()
                return self._refusal(db, ticket_id, user)
            if self.metrics is not None:
                self.metrics.ticket_resolved(db, ticket, ticket.team or self.settings.default_team)
            conversations = self._judge_top(db, ticket, user, solved_by)
            if solved_by:
                self._learn(db, ticket, user, solved_by, conversations)
            self._update_ticket(db, ticket)
            self._tell_reporter(db, ticket, "resolved", user, ticket.resolution or "")
            if teach:
                path = self._draft(ticket, user)
                self._note(db, ticket, "drafted", user, path=path)
        if self.learning is not None and learned_in(db):
            self.learning.pull()
        self.wake()
        return None

    def _judge_top(
        self, db: Session, ticket: Ticket, engineer: str, solved_by: str | None
    ) -> list[SlackConversation]:
        """The ticket's reports; each one the bot did not answer gets a would-be verdict on its
        top candidate (`record_outcome`), at once (an engineer's word): right when it is the
        article named, wrong otherwise, also when none is named (nothing in the base solved it;
        an engineer skipping the picker can only make the bot answer less)."""
        query = (
            select(SlackConversation)
            .where(col(SlackConversation.ticket_id) == ticket.id)
            .order_by(col(SlackConversation.id))
        )
        conversations = list(db.exec(query))
        for c in conversations:
            if c.outcome is not Outcome.ANSWER and c.candidates:
                record_outcome(
                    db,
                    top=str(c.candidates[0]["id"]),
                    solved_by=solved_by,
                    confidence=c.confidence,
                    teacher=engineer,
                    text=c.text,
                    clock=self.clock,
                    conversation_key=c.key,
                    ticket_id=ticket.id,
                )
        return conversations

    def _learn(
        self,
        db: Session,
        ticket: Ticket,
        engineer: str,
        solved_by: str,
        conversations: list[SlackConversation],
    ) -> None:
        """Store what solved the ticket; each of its `conversations` (a storm has several)
        becomes an example of the article named."""
        ticket.solved_by = solved_by
        db.add(ticket)
        db.flush()
        if solved_by == NEW_PROBLEM:
            return
        reports: dict[tuple[str | None, str], None] = {(c.key, c.text): None for c in conversations}
        for key, text in reports or {(None, ticket.text): None}:
            record_lesson(
                db,
                kind=LessonKind.EXAMPLE,
                article_id=solved_by,
                source=LessonSource.ENGINEER,
                teacher=engineer,
                text=text,
                clock=self.clock,
                conversation_key=key,
                ticket_id=ticket.id,
            )

    def reassign(self, ticket_id: int, user: str, to: str) -> Message | None:
        with session(self.engine) as db:
            try:
                ticket = reassign(db, ticket_id, user, to, self.clock)
            except TicketError:
                db.rollback()
                return self._refusal(db, ticket_id, user, to=to)
            self._update_ticket(db, ticket)
            self._note(db, ticket, "reassigned", user, to=to)
        self.wake()
        return None

    def refresh(self, ticket_id: int) -> None:
        """Re-render the ticket message as it is now (e.g. its SLA flag, from a timer)."""
        with session(self.engine) as db:
            self._update_ticket(db, get_ticket(db, ticket_id))
        self.wake()

    def update_message(self, db: Session, ticket: Ticket, *, coalesce: bool = False) -> bool:
        """Enqueue the ticket message's update in `db` (the SLA watch's `refresh`); False if the
        message is not posted yet (then it is marked for the watch to update once it is).
        `coalesce`: rewrite an update still waiting to be sent rather
        than queue another, so a storm of joins is one edit, not one per reporter."""
        return self._update_ticket(db, ticket, coalesce=coalesce)

    # The thread.

    def suggested(self, ticket_id: int) -> list[str]:
        """The ids of the articles the bot ranked for the ticket, best first."""
        with session(self.engine) as db:
            ticket = db.get(Ticket, ticket_id)
            return [str(c["id"]) for c in ticket.candidates] if ticket else []

    def ticket_at(self, channel: str, ts: str) -> int | None:
        """The ticket whose channel message is at `ts`, if any."""
        with session(self.engine) as db:
            return _ticket_id_at(db, channel, ts)

    def engineer_reply(self, reply: EngineerReply) -> bool:
        """Pass words from a ticket's thread to the reporter; False if it is no ticket's thread."""
        with session(self.engine) as db:
            ticket_id = _ticket_id_at(db, reply.channel, reply.thread_ts)
            if ticket_id is None:
                return False
            if reply.event_key and not claim_event(db, reply.event_key, self.clock):
                log.info("event %s was handled before: Slack retried it", reply.event_key)
                return True
            ticket = get_ticket(db, ticket_id)
            if reply.user != ticket.reporter:
                self._tell_reporter(db, ticket, "reply", reply.user, reply.text)
        self.wake()
        return True

    # The messages.

    def ticket_message(self, db: Session, ticket: Ticket) -> Message:
        """The engineers' channel message for `ticket` as it stands now."""
        assert ticket.id is not None
        reading = sla_reading(ticket, self.clock.now(), self.settings)
        sla = None
        if reading.state is not SlaState.OK:
            sla = {
                "state": reading.state.value,
                "what": reading.what,
                "elapsed": duration_text(reading.elapsed),
                "target": duration_text(reading.target),
            }
        candidates = [
            Candidate(
                Article(id=str(c["id"]), title=str(c.get("title", c["id"])), body=""),
                float(c["score"]),
                confidence=c.get("confidence"),
            )
            for c in ticket.candidates
        ]
        everyone = reporters(db, ticket)
        return self.renderer.message(
            "ticket",
            ticket_number=ticket.id,
            reporter=ticket.reporter,
            reporters=everyone[:REPORTERS_SHOWN],
            reported_by=len(everyone),
            report=ticket.text,
            severity=ticket.severity,
            team=ticket.team or self.settings.default_team,
            candidates=candidates,
            reason=ticket.reason,
            status=ticket.status.value,
            owner=assignee(db, ticket),
            acknowledged_by=ticket.acknowledged_by,
            acknowledged_at=time_text(ticket.acknowledged_at),
            resolved_by=ticket.resolved_by or "",
            resolved_at=time_text(ticket.resolved_at),
            resolution=ticket.resolution or "",
            sla=sla,
        )

    def _update_ticket(self, db: Session, ticket: Ticket, *, coalesce: bool = False) -> bool:
        """Enqueue the message as it stands now, and remember which SLA state it shows.

        Not posted yet (or Slack answered the post and its `ts` is not stored yet: a click in
        that window): the ticket is marked stale, and once the `ts` is stored the SLA watch
        re-renders the message as the ticket is then, so it never keeps showing an old state.
        """
        if not (ticket.slack_channel and ticket.slack_ts):
            log.info("ticket #%s changed before its channel message was posted", ticket.id)
            mark_stale(db, ticket, self.clock)
            return False
        message = self.ticket_message(db, ticket)
        args = {"channel": ticket.slack_channel, "ts": ticket.slack_ts, **api_args(message)}
        if not (coalesce and _rewrite_waiting_update(db, args)):
            outbox.enqueue(db, method="chat.update", args=args, clock=self.clock)
        ticket.sla_shown = sla_reading(ticket, self.clock.now(), self.settings).state.value
        db.add(ticket)
        db.flush()
        return True

    def _tell_reporter(
        self, db: Session, ticket: Ticket, event: str, engineer: str, text: str = ""
    ) -> None:
        """Every reporter of the ticket (a storm has several), in the thread where they asked."""
        query = (
            select(SlackConversation)
            .where(col(SlackConversation.ticket_id) == ticket.id)
            .order_by(col(SlackConversation.id))
        )
        conversations = list(db.exec(query))
        news = self.renderer.message(
            "ticket_news", event=event, ticket_number=ticket.id, engineer=engineer, text=text
        )
        if not conversations:  # a ticket from the CLI shell: the reporter's DM
            args = {**api_args(news), **QUIET, "channel": ticket.reporter}
            outbox.enqueue(db, method="chat.postMessage", args=args, clock=self.clock)
        for conversation in conversations:
            args = {**api_args(news), **QUIET, "channel": conversation.channel}
            if conversation.thread_ts:
                args["thread_ts"] = conversation.thread_ts
            outbox.enqueue(db, method="chat.postMessage", args=args, clock=self.clock)

    def _note(
        self,
        db: Session,
        ticket: Ticket,
        event: str,
        engineer: str,
        *,
        to: str = "",
        path: str = "",
    ) -> None:
        note = self.renderer.message(
            "ticket_note", event=event, ticket_number=ticket.id, engineer=engineer, to=to, path=path
        )
        args: dict[str, Any] = {
            "channel": ticket.slack_channel or self.settings.escalation_channel,
            **api_args(note),
            **QUIET,
        }
        if ticket.slack_ts:
            args["thread_ts"] = ticket.slack_ts
        outbox.enqueue(db, method="chat.postMessage", args=args, clock=self.clock)

    def _draft(self, ticket: Ticket, user: str) -> str:
        assert ticket.id is not None
        folder = drafts_folder(self.kb_root, self.settings.drafts_dir)
        source = DraftSource(
            ticket_number=ticket.id,
            report=ticket.text,
            resolution=ticket.resolution or "",
            team=ticket.team or self.settings.default_team,
            severity=ticket.severity,
            resolved_by=user,
        )
        path = write_draft(folder, source)
        try:
            return path.relative_to(self.kb_root).as_posix()
        except ValueError:
            return str(path)

    def _refusal(self, db: Session, ticket_id: int, user: str, *, to: str = "") -> Message:
        """Why the click changed nothing, worded for the engineer who clicked."""
        try:
            ticket = get_ticket(db, ticket_id)
        except TicketNotFoundError:
            return self.refusal("gone")
        if ticket.status is TicketStatus.RESOLVED:
            return self.refusal("resolved", ticket_id, ticket.resolved_by or "")
        if to and to == ticket.reporter:
            return self.refusal("reporter", ticket_id, to)
        if to:
            return self.refusal("same_owner", ticket_id, to)
        if user == ticket.reporter:
            return self.refusal("reporter", ticket_id, user)
        return self.refusal("acknowledged", ticket_id, ticket.acknowledged_by or "")

    def refusal(
        self,
        why: str,
        ticket_id: int | None = None,
        who: str = "",
        members: tuple[str, ...] = (),
    ) -> Message:
        return self.renderer.message(
            "engineer_refusal", why=why, ticket_number=ticket_id, who=who, members=list(members)
        )


def resolve_view(ticket_id: int) -> dict[str, Any]:
    """The Resolve modal: the resolution, and whether to draft an article from it."""
    return {
        "type": "modal",
        "callback_id": RESOLVE_MODAL,
        "private_metadata": str(ticket_id),
        "title": {"type": "plain_text", "text": f"Resolve ticket #{ticket_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": RESOLUTION_BLOCK,
                "label": {"type": "plain_text", "text": "What fixed it?"},
                "hint": {
                    "type": "plain_text",
                    "text": "The reporter sees this. Write it as steps someone could follow.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": RESOLUTION_INPUT,
                    "multiline": True,
                    "max_length": RESOLUTION_MAX,
                },
            },
            {
                "type": "input",
                "block_id": SOLVED_BY_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Which article solved it?"},
                "hint": {
                    "type": "plain_text",
                    "text": "The report becomes an example of it, so the bot answers the next "
                    "one. Pick 'none: a new problem' if no article covers it; leave empty if "
                    "none is needed.",
                },
                "element": {
                    "type": "external_select",
                    "action_id": SOLVED_BY_INPUT,
                    "placeholder": {"type": "plain_text", "text": "Type to search the articles"},
                    "min_query_length": 0,
                },
            },
            {
                "type": "input",
                "block_id": TEACH_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Teach the bot"},
                "element": {
                    "type": "checkboxes",
                    "action_id": TEACH_INPUT,
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": "Add to knowledge base"},
                            "description": {
                                "type": "plain_text",
                                "text": "Drafts an article for an admin to review; "
                                "nothing is published without them.",
                            },
                            "value": TEACH_VALUE,
                        }
                    ],
                },
            },
        ],
    }


def read_resolve_view(view: dict[str, Any]) -> tuple[int, str, bool]:
    """The ticket number, the resolution and the checkbox from a submitted Resolve modal."""
    values = view.get("state", {}).get("values", {})
    text = values.get(RESOLUTION_BLOCK, {}).get(RESOLUTION_INPUT, {}).get("value") or ""
    chosen = values.get(TEACH_BLOCK, {}).get(TEACH_INPUT, {}).get("selected_options") or []
    teach = any(option.get("value") == TEACH_VALUE for option in chosen)
    return int(view.get("private_metadata") or 0), safe_text(str(text)), teach


def read_solved_by(view: dict[str, Any]) -> str | None:
    """The article picked in a submitted Resolve modal (an id or `NEW_PROBLEM`), or None."""
    values = view.get("state", {}).get("values", {})
    chosen = values.get(SOLVED_BY_BLOCK, {}).get(SOLVED_BY_INPUT, {}).get("selected_option")
    value = (chosen or {}).get("value")
    return str(value) if value else None


def article_options(
    articles: Sequence[Article], query: str, suggested: Sequence[str] = ()
) -> dict[str, Any]:
    """The picker's options for what the engineer typed: the ticket's `suggested` articles
    first, then the articles whose title or id holds every typed word, then "a new problem";
    at most `OPTIONS_MAX` in all, as Slack's `option_groups`."""
    words = query.lower().split()
    by_id = {article.id: article for article in articles}

    def fits(article: Article) -> bool:
        haystack = f"{article.title} {article.id}".lower()
        return len(article.id) <= OPTION_VALUE_MAX and all(w in haystack for w in words)

    first = [by_id[i] for i in dict.fromkeys(suggested) if i in by_id and fits(by_id[i])]
    shown = {article.id for article in first}
    room = OPTIONS_MAX - 1 - len(first)
    rest = sorted((a for a in articles if a.id not in shown and fits(a)), key=lambda a: a.title)
    groups = []
    if first:
        groups.append(_option_group("Suggested for this ticket", first))
    if rest[:room]:
        groups.append(_option_group("Articles", rest[:room]))
    new = {"text": {"type": "plain_text", "text": NEW_PROBLEM_TEXT}, "value": NEW_PROBLEM}
    groups.append({"label": {"type": "plain_text", "text": "No article fits"}, "options": [new]})
    return {"option_groups": groups}


def _option_group(label: str, articles: Sequence[Article]) -> dict[str, Any]:
    return {
        "label": {"type": "plain_text", "text": label},
        "options": [
            {"text": {"type": "plain_text", "text": _shorter(a.title)}, "value": a.id}
            for a in articles
        ],
    }


def _shorter(text: str) -> str:
    one = " ".join(text.split()) or "(untitled)"
    return one if len(one) <= OPTION_TEXT_MAX else one[: OPTION_TEXT_MAX - 1] + "…"


def time_text(at: datetime | None) -> str:
    return at.strftime("%d %b %H:%M UTC") if at else ""


def _rewrite_waiting_update(db: Session, args: dict[str, Any]) -> bool:
    """Put `args` into the message's `chat.update` still waiting in the outbox, if there is one
    no sender has claimed; False if there is none (then a new one is queued)."""
    waiting = (
        select(OutboxMessage.id)
        .where(
            col(OutboxMessage.method) == "chat.update",
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.claimed_by).is_(None),
            col(OutboxMessage.channel) == outbox.pace_key("chat.update", args),
        )
        .order_by(col(OutboxMessage.id).desc())
        .limit(20)
    )
    for message_id in db.exec(waiting):
        row = db.get(OutboxMessage, message_id)
        if row is None or row.args.get("ts") != args["ts"]:
            continue
        rewritten = db.exec(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.claimed_by).is_(None))
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
            .values(args=args)
            .execution_options(synchronize_session=False)
        )
        return bool(rewritten.rowcount)
    return False


def _ticket_id_at(db: Session, channel: str, ts: str) -> int | None:
    query = select(Ticket.id).where(
        col(Ticket.slack_channel) == channel, col(Ticket.slack_ts) == ts
    )
    found = db.exec(query).first()
    return int(found) if found is not None else None
