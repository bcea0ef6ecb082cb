"""Lessons: a report that became an example, or a counter-example, of one article.

The values are a public contract (stored in the database, printed by `jethro kb learned list`),
so the enums are explicit strings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

NEW_PROBLEM = "new-problem"
"""What an engineer's `solved_by` says when no article covers the problem yet."""


class LessonKind(StrEnum):
    EXAMPLE = "example"
    """Reports like this one are about the article."""
    COUNTER = "counter-example"
    """The article was shown for this report and did not help."""


class LessonSource(StrEnum):
    """Who taught it, which decides whether it counts on its own (`knowledge.learning.trust`)."""

    VERDICT = "verdict"
    """The reporter clicked Solved (an example) or Still broken (a counter-example)."""
    PICK = "pick"
    """The reporter picked the article from the suggestions."""
    ENGINEER = "engineer"
    """An engineer resolving the ticket named the article that solved it."""
    OUTCOME = "outcome"
    """A would-be verdict, never an example: a report suggested or escalated turned out to be
    about its top candidate (kind example) or not (counter-example). Only the answer
    threshold's refit reads it (`knowledge.learning.matcher`); `teacher` is who said so."""


@dataclass(frozen=True)
class Lesson:
    """One learned report with its provenance; `id` is its row's."""

    id: int
    kind: LessonKind
    article_id: str
    source: LessonSource
    teacher: str
    text: str
    created_at: datetime
    conversation: str | None = None
    ticket_id: int | None = None
    confidence: float | None = None
    """The decision's confidence when the report was judged: what the verdicts calibrate."""

    @property
    def teaches(self) -> bool:
        """It changes matching (an example or counter-example), unlike a would-be verdict."""
        return self.source is not LessonSource.OUTCOME


class Lessons:
    """Every lesson this process knows, shared by the matchers of each reload of the base.

    `version` grows with every change, so a matcher sees cheaply whether it must catch up.
    Thread-safe; readers take `snapshot()` and never see half a change.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lessons: dict[int, Lesson] = {}
        self.version = 0

    def add(self, lessons: Iterable[Lesson]) -> None:
        with self._lock:
            before = len(self._lessons)
            for lesson in lessons:
                self._lessons[lesson.id] = lesson
            if len(self._lessons) != before:
                self.version += 1

    def keep_only(self, ids: set[int]) -> None:
        """Forget the lessons not in `ids` (removed by an admin, maybe in another process)."""
        with self._lock:
            gone = [i for i in self._lessons if i not in ids]
            for i in gone:
                del self._lessons[i]
            if gone:
                self.version += 1

    def snapshot(self) -> tuple[int, dict[int, Lesson]]:
        with self._lock:
            return self.version, dict(self._lessons)

    @property
    def newest(self) -> int:
        """The highest lesson id held: where the next database read starts."""
        with self._lock:
            return max(self._lessons, default=0)

    def __len__(self) -> int:
        with self._lock:
            return len(self._lessons)
