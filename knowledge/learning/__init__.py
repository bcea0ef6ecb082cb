"""What the running bot learns from outcomes, applied to matching without rebuilding the index.

Pure, like the rest of `knowledge/`: lessons arrive as values (`Lesson`), stored and shared by
the caller (`escalation.lessons`, `bot.learning`). See docs/learning.md for the rules.
"""

from knowledge.learning.lessons import (
    NEW_PROBLEM,
    Lesson,
    LessonKind,
    Lessons,
    LessonSource,
)
from knowledge.learning.matcher import LearningMatcher

__all__ = [
    "NEW_PROBLEM",
    "LearningMatcher",
    "Lesson",
    "LessonKind",
    "LessonSource",
    "Lessons",
]
