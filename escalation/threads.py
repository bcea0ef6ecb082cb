"""Slack conversations: which thread holds which report, what the bot decided, and where it stands.

Buttons carry only a conversation's `key`; everything else is read back from here, so a click acts
on what was stored, never on what a payload claims. State changes are compare-and-set, so a double
click or two replicas handling the same click change it once. Functions flush but never commit;
nothing here talks to Slack.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from escalation.clock import Clock
from escalation.db import plain
from escalation.models import SlackConversation, ThreadState
from knowledge.decision import Decision

KEY_PREFIX = "c-"
ADDED_LATER = "\n\nAdded later:"
"""Where `full_report` appends the details added after a report: what precedes it is the report."""


def first_report(text: str) -> str:
    """A ticket's report as it was first made, without the details added to it later."""
    return text.split(ADDED_LATER)[0]


def new_key() -> str:
    """Short, unguessable: a button value, not a secret, but not a counter either."""
    return KEY_PREFIX + secrets.token_hex(6)


def start_conversation(session: Session, values: dict[str, Any]) -> SlackConversation:
    """Store a new report's conversation, its row made by `conversation_values`. Its `thread_ts`
    is None when the bot's first message will start the thread (see `thread_started`).

    Written with a plain insert, then attached to the session as the stored row it now is (no
    second statement), so later changes to it in the transaction are saved as usual: the ORM's
    insert of this one object was a fifth of a report's CPU.
    """
    new_id = plain(session).execute(_INSERT, values).scalar_one()
    conversation = SlackConversation(id=new_id, **values)
    make_transient_to_detached(conversation)
    session.add(conversation)
    return conversation


_INSERT = sa.insert(SlackConversation).returning(col(SlackConversation.id))
INSERT_CONVERSATION = sa.insert(SlackConversation)


def conversation_values(
    *,
    key: str,
    reporter: str,
    source: str,
    channel: str,
    thread_ts: str | None,
    text: str,
    decision: Decision,
    state: ThreadState,
    clock: Clock,
    ticket_id: int | None = None,
) -> dict[str, Any]:
    """A new report's conversation row: for `start_conversation`, or for `INSERT_CONVERSATION`
    with many rows (`bot.answered`)."""
    now = clock.now()
    return {
        "key": key,
        "reporter": reporter,
        "source": source,
        "channel": channel,
        "thread_ts": thread_ts,
        "text": text,
        "details": [],
        "outcome": decision.outcome,
        "article_id": decision.article.id if decision.article else None,
        "confidence": decision.confidence,
        "reason": decision.reason,
        "candidates": cast(list[dict[str, Any]], decision.to_json()["candidates"]),
        "state": state,
        "ticket_id": ticket_id,
        "created_at": now,
        "updated_at": now,
    }


def by_key(session: Session, key: str) -> SlackConversation | None:
    query = select(SlackConversation).where(col(SlackConversation.key) == key)
    return session.exec(query).first()


def by_thread(session: Session, channel: str, thread_ts: str) -> SlackConversation | None:
    """The conversation in this thread: looked up by id first, since nearly every message asked
    about is a new report with no conversation yet."""
    found = plain(session).execute(_BY_THREAD, {"channel": channel, "thread_ts": thread_ts})
    conversation_id = found.scalar()
    return None if conversation_id is None else session.get(SlackConversation, conversation_id)


_BY_THREAD = sa.select(col(SlackConversation.id)).where(
    col(SlackConversation.channel) == sa.bindparam("channel"),
    col(SlackConversation.thread_ts) == sa.bindparam("thread_ts"),
)


def thread_started(session: Session, key: str, channel: str, ts: str) -> None:
    """The bot's first message of a conversation was posted: that message is now its thread."""
    session.exec(
        sa.update(SlackConversation)
        .where(col(SlackConversation.key) == key, col(SlackConversation.thread_ts).is_(None))
        .values(channel=channel, thread_ts=ts)
        .execution_options(synchronize_session=False)
    )


def move(
    session: Session,
    conversation: SlackConversation,
    *,
    allowed_from: Collection[ThreadState],
    to: ThreadState,
    clock: Clock,
    **values: Any,
) -> bool:
    """Change the state only if the stored one still allows it; False if someone was quicker."""
    result = session.exec(
        sa.update(SlackConversation)
        .where(
            col(SlackConversation.id) == conversation.id,
            col(SlackConversation.state).in_(allowed_from),
        )
        .values(state=to, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(conversation)
    return bool(result.rowcount)


def add_detail(session: Session, conversation: SlackConversation, text: str, clock: Clock) -> None:
    """More words from the reporter: kept for the ticket the conversation has or may get."""
    conversation.details = [*conversation.details, text]
    conversation.updated_at = clock.now()
    session.add(conversation)
    session.flush()


def full_report(conversation: SlackConversation) -> str:
    """The report as an engineer should read it: the first words, then every detail added."""
    if not conversation.details:
        return conversation.text
    added = "\n".join(f"- {detail}" for detail in conversation.details)
    return f"{conversation.text}{ADDED_LATER}\n{added}"
