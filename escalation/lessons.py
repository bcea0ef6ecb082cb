"""Stored lessons: what the bot learned from outcomes, shared by every replica through here.

Rows are only ever added or deleted (an admin's `jethro kb learned remove`), so a replica keeps
up by reading the rows past the newest id it holds, and notices a removal (or a row committed
out of id order) because the count differs from what it holds (`bot.learning`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from escalation.clock import Clock
from escalation.db import plain
from escalation.models import LearnedLesson, Ticket
from knowledge.learning import NEW_PROBLEM, Lesson, LessonKind, LessonSource

LEARNED = "jethro.learned"
"""Set in a session's `info` once it stored a lesson: after its commit, this process catches up."""


def record_lesson(
    db: Session,
    *,
    kind: LessonKind,
    article_id: str,
    source: LessonSource,
    teacher: str,
    text: str,
    clock: Clock,
    conversation_key: str | None = None,
    ticket_id: int | None = None,
    confidence: float | None = None,
) -> LearnedLesson | None:
    """Store one lesson in the caller's transaction; None (nothing stored) for an empty text."""
    if not text.strip() or not article_id:
        return None
    row = LearnedLesson(
        kind=kind,
        article_id=article_id,
        source=source,
        teacher=teacher,
        text=text.strip(),
        conversation_key=conversation_key,
        ticket_id=ticket_id,
        confidence=confidence,
        created_at=clock.now(),
    )
    db.add(row)
    db.flush()
    db.info[LEARNED] = True
    return row


def record_outcome(
    db: Session,
    *,
    top: str,
    solved_by: str | None,
    confidence: float,
    teacher: str,
    text: str,
    clock: Clock,
    conversation_key: str | None = None,
    ticket_id: int | None = None,
) -> LearnedLesson | None:
    """Store a would-be verdict (`LessonSource.OUTCOME`) on a report the bot did not answer:
    whether `top`, its best candidate at `confidence`, is `solved_by`, the article that solved
    it (`NEW_PROBLEM` or None: none did). Only the answer threshold's refit reads it."""
    return record_lesson(
        db,
        kind=LessonKind.EXAMPLE if top == solved_by else LessonKind.COUNTER,
        article_id=top,
        source=LessonSource.OUTCOME,
        teacher=teacher,
        text=text,
        clock=clock,
        conversation_key=conversation_key,
        ticket_id=ticket_id,
        confidence=confidence,
    )


def forget_examples(db: Session, conversation_key: str) -> int:
    """Drop the examples a conversation taught: its reporter took the Solved back."""
    done = db.exec(
        sa.delete(LearnedLesson)
        .where(col(LearnedLesson.conversation_key) == conversation_key)
        .where(col(LearnedLesson.kind) == LessonKind.EXAMPLE.value)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount:
        db.info[LEARNED] = True
    return int(done.rowcount or 0)


def learned_in(db: Session) -> bool:
    return bool(db.info.get(LEARNED))


def lessons_after(db: Session, after_id: int = 0) -> list[Lesson]:
    query = select(LearnedLesson).where(col(LearnedLesson.id) > after_id)
    return [as_lesson(row) for row in db.exec(query.order_by(col(LearnedLesson.id)))]


def lessons_by_id(db: Session, ids: Iterable[int]) -> list[Lesson]:
    wanted = list(ids)
    if not wanted:
        return []
    query = select(LearnedLesson).where(col(LearnedLesson.id).in_(wanted))
    return [as_lesson(row) for row in db.exec(query.order_by(col(LearnedLesson.id)))]


def lesson_marks(db: Session) -> tuple[int, int]:
    """(newest id, how many): the high-water mark replicas poll, one cheap statement."""
    query = sa.select(sa.func.max(col(LearnedLesson.id)), sa.func.count(col(LearnedLesson.id)))
    newest, count = plain(db).execute(query).one()
    return int(newest or 0), int(count or 0)


def lesson_ids(db: Session) -> set[int]:
    ids = plain(db).execute(sa.select(col(LearnedLesson.id))).scalars()
    return {int(i) for i in ids if i is not None}


def list_lessons(db: Session, *, article_id: str | None = None) -> list[Lesson]:
    query = select(LearnedLesson).order_by(col(LearnedLesson.id))
    if article_id is not None:
        query = query.where(col(LearnedLesson.article_id) == article_id)
    return [as_lesson(row) for row in db.exec(query)]


def remove_lesson(db: Session, lesson_id: int) -> bool:
    row = db.get(LearnedLesson, lesson_id)
    if row is None:
        return False
    db.delete(row)
    db.flush()
    return True


def verdict_pairs(db: Session) -> list[tuple[float, bool]]:
    """(the answer's confidence, whether it was right) for every Solved / Still broken on an
    answer: what a refit of the answer threshold measures precision on."""
    query = (
        sa.select(col(LearnedLesson.confidence), col(LearnedLesson.kind))
        .where(col(LearnedLesson.source) == LessonSource.VERDICT.value)
        .where(col(LearnedLesson.confidence).is_not(None))
        .order_by(col(LearnedLesson.id))
    )
    return [
        (float(confidence), LessonKind(kind) is LessonKind.EXAMPLE)
        for confidence, kind in plain(db).execute(query)
        if confidence is not None
    ]


def new_problem_tickets(db: Session) -> list[Ticket]:
    """Resolved tickets whose engineer said no article covers them yet, oldest first."""
    query = select(Ticket).where(col(Ticket.solved_by) == NEW_PROBLEM).order_by(col(Ticket.id))
    return list(db.exec(query))


def as_lesson(row: LearnedLesson) -> Lesson:
    assert row.id is not None
    return Lesson(
        id=row.id,
        kind=row.kind,
        article_id=row.article_id,
        source=row.source,
        teacher=row.teacher,
        text=row.text,
        created_at=row.created_at,
        conversation=row.conversation_key,
        ticket_id=row.ticket_id,
        confidence=row.confidence,
    )


def lesson_json(lesson: Lesson) -> dict[str, Any]:
    return {
        "id": lesson.id,
        "kind": lesson.kind.value,
        "article": lesson.article_id,
        "source": lesson.source.value,
        "teacher": lesson.teacher,
        "text": lesson.text,
        "created_at": lesson.created_at.isoformat(),
        "conversation": lesson.conversation,
        "ticket": lesson.ticket_id,
        "confidence": lesson.confidence,
    }
