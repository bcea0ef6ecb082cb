"""The conversation log and answer feedback: what was said, what the bot decided, what helped.

Functions flush but never commit; the caller's `escalation.db.session()` block does.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from escalation.clock import Clock
from escalation.models import ConversationTurn, Feedback, Role, metadata
from knowledge.decision import Decision

_TURNS = metadata.tables[ConversationTurn.__tablename__]
INSERT_TURN = _TURNS.insert()


def log_turn(
    session: Session,
    *,
    conversation_key: str,
    user_id: str,
    role: Role,
    text: str,
    clock: Clock,
    decision: Decision | None = None,
    ticket_id: int | None = None,
) -> None:
    """Store one message. For a bot reply, `decision` keeps what it was based on: the outcome,
    the article shown (or, for a suggestion, the best candidate) and the confidence.

    A plain insert, not an ORM object: nothing reads a turn back in the transaction that writes
    it, and two of these per report through the ORM's flush were a tenth of a report's CPU.
    """
    values = turn_values(
        conversation_key=conversation_key,
        user_id=user_id,
        role=role,
        text=text,
        clock=clock,
        decision=decision,
        ticket_id=ticket_id,
    )
    session.connection().execute(INSERT_TURN, values)


def turn_values(
    *,
    conversation_key: str,
    user_id: str,
    role: Role,
    text: str,
    clock: Clock,
    decision: Decision | None = None,
    ticket_id: int | None = None,
) -> dict[str, Any]:
    """`log_turn`'s row, for `INSERT_TURN` with many rows at once (`bot.answered`)."""
    shown = decision.article if decision and decision.article else None
    if decision and shown is None and decision.candidates:
        shown = decision.candidates[0].article
    return {
        "conversation_key": conversation_key,
        "user_id": user_id,
        "role": role,
        "text": text,
        "outcome": decision.outcome if decision else None,
        "article_id": shown.id if shown else None,
        "confidence": decision.confidence if decision else None,
        "ticket_id": ticket_id,
        "at": clock.now(),
    }


def record_feedback(
    session: Session,
    *,
    conversation_key: str,
    user_id: str,
    article_id: str | None,
    solved: bool,
    clock: Clock,
    comment: str = "",
) -> Feedback:
    feedback = Feedback(
        conversation_key=conversation_key,
        user_id=user_id,
        article_id=article_id,
        solved=solved,
        comment=comment,
        at=clock.now(),
    )
    session.add(feedback)
    session.flush()
    return feedback


def conversation(session: Session, key: str) -> list[ConversationTurn]:
    """The turns of one conversation, oldest first."""
    query = (
        select(ConversationTurn)
        .where(col(ConversationTurn.conversation_key) == key)
        .order_by(col(ConversationTurn.at), col(ConversationTurn.id))
    )
    return list(session.exec(query))


def list_feedback(
    session: Session, *, article_id: str | None = None, conversation_key: str | None = None
) -> list[Feedback]:
    """Feedback oldest first, optionally for one article or one conversation."""
    query = select(Feedback).order_by(col(Feedback.at), col(Feedback.id))
    if article_id is not None:
        query = query.where(col(Feedback.article_id) == article_id)
    if conversation_key is not None:
        query = query.where(col(Feedback.conversation_key) == conversation_key)
    return list(session.exec(query))
