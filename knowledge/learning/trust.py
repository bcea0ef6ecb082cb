"""Who can teach the bot alone, and who needs someone else to agree.

The rule (docs/learning.md): an engineer's example counts at once. An employee's example (a
Solved click, a picked suggestion) counts only once a *different* person taught the same article
with a close report (cosine at least the space's `close`): another employee, or an engineer.
So one person clicking Solved on twenty wrong answers teaches nobody else anything. A
counter-example (Still broken) counts at once: all it can do is send close reports to a person,
and an example closer to them (an engineer naming the article) outweighs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from knowledge.embedding import Vectors
from knowledge.learning.lessons import Lesson, LessonKind, LessonSource


def examples_in_force(examples: Sequence[Lesson], vectors: Vectors, close: float) -> list[bool]:
    """Which of one article's examples (with their unit `vectors`, row for row) count."""
    if not examples:
        return []
    engineer = np.array([e.source is LessonSource.ENGINEER for e in examples])
    sims = vectors @ vectors.T
    teachers = np.array([e.teacher for e in examples], dtype=object)
    other = (teachers[:, None] != teachers[None, :]) | engineer[None, :]
    np.fill_diagonal(other, False)
    agreed = ((sims >= close) & other).any(axis=1)
    return [bool(v) for v in engineer | agreed]


def is_example(lesson: Lesson) -> bool:
    return lesson.kind is LessonKind.EXAMPLE
