"""Keeping this process's `Lessons` in step with the database, which every replica writes.

A lesson is stored in the transaction of the click that taught it; once that commits, the
process that took the click pulls at once (`pull`), so the next report here already sees it.
Other replicas pull every `poll_seconds` on a daemon thread, as the knowledge-base watcher polls
files: one statement reads the high-water mark (newest id, count) and nothing more is read
unless it moved. The matchers embed what is new on their next match (`LearningMatcher`).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

from escalation.db import session
from escalation.lessons import lesson_ids, lesson_marks, lessons_after, lessons_by_id
from knowledge.index import Matcher
from knowledge.learning import LearningMatcher, Lessons
from knowledge.polling import Poller

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


def pull_learned(matcher: Matcher, engine: Engine) -> None:
    """Give a command's matcher what the bots learned (and the verdicts their thresholds are
    refit on), so `kb eval` and `doctor` show the decision the bots serve."""
    if isinstance(matcher, LearningMatcher):
        LessonSync(engine, matcher.lessons).pull()


class LessonSync(Poller):
    thread_name = "jethro-lessons"

    def __init__(self, engine: Engine, lessons: Lessons, poll_seconds: float = POLL_SECONDS):
        super().__init__(poll_seconds)
        self.engine = engine
        self.lessons = lessons
        self._pulling = threading.Lock()

    def pull(self) -> None:
        """Read what was learned (or removed) since the last pull, anywhere."""
        with self._pulling, session(self.engine) as db:
            newest, count = lesson_marks(db)
            held = self.lessons.newest
            if newest > held:
                self.lessons.add(lessons_after(db, held))
            if count != len(self.lessons):  # a removal, or a row committed out of id order
                ids = lesson_ids(db)
                self.lessons.keep_only(ids)
                _, known = self.lessons.snapshot()
                self.lessons.add(lessons_by_id(db, ids - set(known)))

    def poll_once(self) -> None:
        self.pull()

    def failed(self) -> str:
        return "reading what other replicas learned failed; trying again"
