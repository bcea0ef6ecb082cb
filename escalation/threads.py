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
from sqlmodel import Session, col, select

from escalation.clock import Clock
from escalation.models import SlackConversation, ThreadState
from knowledge.decision import Decision

KEY_PREFIX = "c-"


def new_key() -> str:
    """Short, unguessable: a button value, not a secret, but not a counter either."""
    return KEY_PREFIX + secrets.token_hex(6)


def start_conversation(
    session: Session,
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
) -> SlackConversation:
    """Store a new report's conversation. `thread_ts` is None when the bot's first message will
    start the thread (see `thread_started`)."""
    now = clock.now()
    conversation = SlackConversation(
        key=key,
        reporter=reporter,
        source=source,
        channel=channel,
        thread_ts=thread_ts,
        text=text,
        details=[],
        outcome=decision.outcome,
        article_id=decision.article.id if decision.article else None,
        confidence=decision.confidence,
        reason=decision.reason,
        candidates=cast(list[dict[str, Any]], decision.to_json()["candidates"]),
        state=state,
        ticket_id=ticket_id,
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation


def by_key(session: Session, key: str) -> SlackConversation | None:
    query = select(SlackConversation).where(col(SlackConversation.key) == key)
    return session.exec(query).first()


def by_thread(session: Session, channel: str, thread_ts: str) -> SlackConversation | None:
    query = select(SlackConversation).where(
        col(SlackConversation.channel) == channel, col(SlackConversation.thread_ts) == thread_ts
    )
    return session.exec(query).first()


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
    return f"{conversation.text}\n\nAdded later:\n{added}"
