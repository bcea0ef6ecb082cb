"""`LearningMatcher`: a matcher decorated with what was learned since its index was built.

Learning happens after every report, so it must cost milliseconds, not a rebuild: a lesson is
embedded once (one text) and joins small arrays kept beside the index. At match time
- a learned example in force (`knowledge.learning.trust`) lifts its article: a report at cosine
  s to it scores the article at least s - `offset` (before the semantic matcher's softmax, so the
  usual calibration turns that into confidence);
- a counter-example vetoes its article for a report closer to it than to every one of the
  article's own examples (its title and examples in the base, and its learned examples in
  force): the article is not answered, suggested or routed for that report.
With no lesson in force the inner matcher answers alone, unchanged.

The verdicts among the lessons (Solved / Still broken on an answer, with the answer's confidence)
refit the answer threshold once there are enough of them (`refit_from_verdicts`): `calibrated`
then says "outcomes" instead of the base's calibration, wherever thresholds are read. The
would-be verdicts (`LessonSource.OUTCOME`: was the top candidate of a report not answered the
article that solved it?) join them, so the refit can lower the threshold too; they never
change matching.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from knowledge.article import Action, Article
from knowledge.calibration import Thresholds, refit_from_verdicts
from knowledge.decision import Candidate
from knowledge.embedding import Vectors
from knowledge.index import Matcher, ShortlistMatcher, top_candidates
from knowledge.learning.lessons import Lesson, LessonKind, Lessons, LessonSource
from knowledge.learning.spaces import Space, space_for
from knowledge.learning.trust import examples_in_force
from knowledge.semantic import SemanticMatcher

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _State:
    """What the lessons add, as arrays: swapped whole, so a reader sees one version."""

    examples: Vectors
    example_owner: IntArray
    counters: Vectors
    counter_owner: IntArray
    own: Vectors
    """The own texts (base and learned in force) of the articles that have counter-examples."""
    own_owner: IntArray
    in_force: frozenset[int] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return len(self.examples) == 0 and len(self.counters) == 0

    def adjust(self, queries: Vectors, values: Vectors | FloatArray, space: Space) -> Vectors:
        """Per-article values (reports x articles) moved by the lessons; see the module doc."""
        out = np.array(values, dtype=np.float32, copy=True)
        if len(self.examples):
            owners, local = np.unique(self.example_owner, return_inverse=True)
            near = _best(queries @ self.examples.T, local, len(owners))
            out[:, owners] = np.maximum(out[:, owners], near - np.float32(space.offset))
        if len(self.counters):
            owners, local = np.unique(self.own_owner, return_inverse=True)
            own = _best(queries @ self.own.T, local, len(owners))
            where = np.searchsorted(owners, self.counter_owner)
            closer = (queries @ self.counters.T) > own[:, where]
            rows, cols = np.nonzero(closer)
            out[rows, self.counter_owner[cols]] = np.float32(space.veto)
        return out


def _best(sims: Vectors, owner: IntArray, n: int) -> Vectors:
    """Each owner's best similarity, per report (reports x owners)."""
    best = np.full((n, sims.shape[0]), -np.inf, dtype=np.float32)
    np.maximum.at(best, owner, sims.T)
    out: Vectors = best.T
    return out


def _empty_state(dim: int) -> _State:
    none = np.zeros((0, dim), dtype=np.float32)
    ids = np.zeros(0, dtype=np.int64)
    return _State(none, ids, none, ids, none, ids)


class LearningMatcher:
    """`inner`, plus the `lessons` this process holds (shared by every reload's matcher).

    Catches up with `lessons` on the first match after they change: only new lessons are
    embedded, and only the changed articles' trust is worked out again.
    """

    def __init__(
        self,
        inner: Matcher,
        lessons: Lessons,
        space: Space | None = None,
        target_precision: float = 0.95,
    ) -> None:
        """`target_precision`: what the refit on verdicts aims at (`JETHRO_TARGET_PRECISION`)."""
        self.inner = inner
        self.target_precision = target_precision
        self.name = inner.name
        self.lessons = lessons
        self.articles: tuple[Article, ...] = tuple(getattr(inner, "articles", ()))
        self._position = {article.id: i for i, article in enumerate(self.articles)}
        self._space = space or space_for(inner)
        self._lock = threading.Lock()
        self._version = -1
        self._vectors: dict[int, Vectors] = {}
        self._groups: dict[str, tuple[frozenset[int], frozenset[int]]] = {}
        """Per article: the ids of its examples, and of those in force."""
        self._own: dict[int, Vectors] = {}
        self._state = _empty_state(1)
        self._refit: Thresholds | None = None
        if isinstance(inner, SemanticMatcher) and self._space is not None:
            inner.adjust = self._adjust

    @property
    def calibrated(self) -> object:
        """The thresholds refit on the verdicts once there are enough, else the wrapped
        matcher's calibrated ones (`knowledge.matchers.calibrated` reads this)."""
        self.state()
        return self._refit or getattr(self.inner, "calibrated", None)

    # The Matcher protocol.

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        state = self.state()
        if state.empty or self._space is None or isinstance(self.inner, SemanticMatcher):
            return self.inner.rank(text, limit)  # the semantic matcher calls `_adjust` itself
        scores = getattr(self.inner, "scores", None)
        if scores is None or not self.articles or limit <= 0:
            return self.inner.rank(text, limit)
        values = state.adjust(self._space.embed([text]), np.asarray([scores(text)]), self._space)
        return top_candidates(self.articles, values[0].astype(np.float64), limit)

    def confidence(self, ranked: Sequence[Candidate]) -> float:
        return self.inner.confidence(ranked)

    def shortlist_confidence(self, ranked: Sequence[Candidate], size: int) -> float:
        if isinstance(self.inner, ShortlistMatcher):
            return self.inner.shortlist_confidence(ranked, size)
        return self.inner.confidence([ranked[0], *ranked[size:]])

    # What was learned.

    def in_force(self) -> frozenset[int]:
        """The ids of the examples that count now (`knowledge.learning.trust`)."""
        return self.state().in_force

    def state(self) -> _State:
        if self.lessons.version != self._version:
            with self._lock:
                if self.lessons.version != self._version:
                    self._catch_up()
        return self._state

    def _adjust(self, queries: Vectors, cosines: Vectors) -> Vectors:
        state = self.state()
        if state.empty or self._space is None:
            return cosines
        return state.adjust(queries, cosines, self._space)

    def _catch_up(self) -> None:
        version, held = self.lessons.snapshot()
        space = self._space
        lessons = {i: x for i, x in held.items() if x.teaches and x.article_id in self._position}
        if space is None:
            self._refit = self._refit_thresholds(held, frozenset())
            self._version = version
            return
        new = [x for i, x in lessons.items() if i not in self._vectors]
        if new:
            vectors = space.embed([x.text for x in new])
            self._vectors.update({x.id: vectors[n] for n, x in enumerate(new)})
        for gone in set(self._vectors) - set(lessons):
            del self._vectors[gone]
        by_article: dict[str, list[Lesson]] = defaultdict(list)
        counters: list[Lesson] = []
        for lesson in sorted(lessons.values(), key=lambda x: x.id):
            if lesson.kind is LessonKind.EXAMPLE:
                by_article[lesson.article_id].append(lesson)
            else:
                counters.append(lesson)
        groups: dict[str, tuple[frozenset[int], frozenset[int]]] = {}
        for article_id, examples in by_article.items():
            ids = frozenset(x.id for x in examples)
            before = self._groups.get(article_id)
            if before is not None and before[0] == ids:
                groups[article_id] = before
                continue
            stacked = np.stack([self._vectors[x.id] for x in examples])
            force = examples_in_force(examples, stacked, space.close)
            kept = frozenset(x.id for x, f in zip(examples, force, strict=True) if f)
            groups[article_id] = (ids, kept)
        self._groups = groups
        in_force = sorted(i for _, kept in groups.values() for i in kept)
        self._state = self._build(lessons, in_force, counters, space)
        self._refit = self._refit_thresholds(held, self._state.in_force)
        self._version = version

    def _refit_thresholds(
        self, held: dict[int, Lesson], in_force: frozenset[int]
    ) -> Thresholds | None:
        """The answer threshold refit on every verdict held (in id order, so every replica
        holding the same rows refits the same), or None while they are too few: the verdicts
        on answers, and the would-be verdicts (`would_be_verdicts`) below the threshold, which
        let the refit lower it where reports it did not answer show it could have."""
        current = getattr(self.inner, "calibrated", None)
        if not isinstance(current, Thresholds):
            return None
        verdicts = [
            (x.confidence, x.kind is LessonKind.EXAMPLE)
            for _, x in sorted(held.items())
            if x.source is LessonSource.VERDICT and x.confidence is not None
        ]
        never = frozenset(a.id for a in self.articles if a.action is Action.ESCALATE)
        would_be = would_be_verdicts(held, in_force, never)
        found = refit_from_verdicts([*verdicts, *would_be], self.target_precision, current)
        if found is None:
            return None
        note = f"refit on {len(verdicts)} verdicts of answers"
        if would_be:
            note += f" and {len(would_be)} outcomes of reports not answered"
        return replace(found, note=note)

    def _build(
        self, lessons: dict[int, Lesson], in_force: list[int], counters: list[Lesson], space: Space
    ) -> _State:
        dim = next(iter(self._vectors.values())).shape[0] if self._vectors else 1
        state = _empty_state(dim)
        examples = np.stack([self._vectors[i] for i in in_force]) if in_force else state.examples
        example_owner = np.array(
            [self._position[lessons[i].article_id] for i in in_force], dtype=np.int64
        )
        if not counters:
            return _State(
                examples, example_owner, state.counters, state.counter_owner, state.own,
                state.own_owner, frozenset(in_force),
            )  # fmt: skip
        counter_owner = np.array([self._position[x.article_id] for x in counters], dtype=np.int64)
        own_parts: list[Vectors] = []
        own_owner: list[int] = []
        for article in sorted(set(counter_owner.tolist())):
            base = self._own.get(article)
            if base is None:
                texts = [*self.articles[article].examples, self.articles[article].title]
                base = self._own[article] = space.embed([t for t in texts if t.strip()])
            learned = examples[example_owner == article]
            own_parts += [base, learned]
            own_owner += [article] * (len(base) + len(learned))
        return _State(
            examples,
            example_owner,
            np.stack([self._vectors[x.id] for x in counters]),
            counter_owner,
            np.concatenate(own_parts),
            np.array(own_owner, dtype=np.int64),
            frozenset(in_force),
        )


def would_be_verdicts(
    held: dict[int, Lesson], in_force: frozenset[int], never: frozenset[str] = frozenset()
) -> list[tuple[float, bool]]:
    """(confidence, whether the top candidate was right) for the reports suggested or escalated
    whose outcome is known (`LessonSource.OUTCOME`), one per conversation, in id order.

    An engineer's word counts at once and wins over the employee's pick in the same
    conversation. A pick that says the top candidate was right counts only once the pick's own
    example is in force (`knowledge.learning.trust`), so one employee alone cannot lower the
    threshold for everyone; one that says it was wrong counts at once (it can only raise it).
    A top candidate in `never` (articles always handed to a person) says nothing about answers.
    """
    picks: dict[tuple[str | None, str], int] = {
        (x.conversation, x.article_id): i
        for i, x in held.items()
        if x.source is LessonSource.PICK and x.conversation is not None
    }
    chosen: dict[str | int, Lesson] = {}
    for i, x in sorted(held.items()):
        if x.source is not LessonSource.OUTCOME or x.confidence is None or x.article_id in never:
            continue
        engineer = x.ticket_id is not None
        if not engineer and x.kind is LessonKind.EXAMPLE:
            pick = picks.get((x.conversation, x.article_id))
            if pick is None or pick not in in_force:
                continue
        key: str | int = x.conversation if x.conversation is not None else -i
        before = chosen.get(key)
        if before is None or engineer or before.ticket_id is None:
            chosen[key] = x
    ordered = sorted(chosen.values(), key=lambda x: x.id)
    return [(float(x.confidence or 0.0), x.kind is LessonKind.EXAMPLE) for x in ordered]
