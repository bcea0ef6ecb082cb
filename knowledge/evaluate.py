"""`jethro kb eval`'s engine: run labelled reports through the real decision and count the results.

Reads the query file (the only I/O here) and measures exactly what employees would get: the same
`decide` and the policy passed in, which the CLI takes from the production settings.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.article import Action, Article
from knowledge.calibration import Thresholds
from knowledge.decision import Decision, Outcome
from knowledge.errors import JethroError
from knowledge.index import Matcher
from knowledge.triage import DEFAULT_POLICY, TriagePolicy, decide

OOS = "oos"
"""The label of a report that no article fits: it must never be answered."""

_OTHER_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


class QueryFileError(JethroError):
    """A query file line is not a labelled report; the message starts with `path:line:`."""


@dataclass(frozen=True)
class Query:
    """One labelled report: `label` is the id of the right article, or "oos" when none fits."""

    text: str
    label: str
    path: str = ""
    line: int = 0


def read_queries(path: Path | str) -> list[Query]:
    """Queries from a JSONL file of {"text": ..., "label": ...} lines; blank lines are skipped."""
    path = Path(path)
    queries = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                queries.append(_parse_query(line, str(path), number))
    return queries


def _parse_query(line: str, path: str, number: int) -> Query:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise QueryFileError(f"{path}:{number}: not valid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise QueryFileError(f'{path}:{number}: expected an object {{"text": ..., "label": ...}}')
    found: dict[str, str] = {}
    for key in ("text", "label"):
        value = row.get(key)
        if not isinstance(value, str) or not value.strip():
            raise QueryFileError(f'{path}:{number}: "{key}" must be a non-empty string')
        found[key] = value
    return Query(found["text"], found["label"].strip(), path, number)


@dataclass(frozen=True)
class Result:
    """One query's decision and how long it took."""

    query: Query
    decision: Decision
    seconds: float

    @property
    def in_scope(self) -> bool:
        return self.query.label != OOS

    @property
    def top(self) -> str | None:
        candidates = self.decision.candidates
        return candidates[0].article.id if candidates else None

    @property
    def answered_right(self) -> bool:
        answer = self.decision.outcome is Outcome.ANSWER
        return (
            answer and self.decision.article is not None and self._is_right(self.decision.article)
        )

    @property
    def suggested_right(self) -> bool:
        return any(self._is_right(c.article) for c in self.decision.candidates)

    def _is_right(self, article: Article) -> bool:
        return self.in_scope and article.id == self.query.label


@dataclass(frozen=True)
class EvalReport:
    """The results of one evaluation run; `to_json` and `to_text` present them."""

    matcher: str
    results: tuple[Result, ...]
    actions: dict[str, Action] = field(default_factory=dict)
    thresholds: Thresholds | None = None
    """The thresholds the decisions were made with, where they came from, what they expect."""

    def _count(self, outcome: Outcome) -> int:
        return sum(r.decision.outcome is outcome for r in self.results)

    def to_json(self) -> dict[str, object]:
        results = self.results
        in_scope = [r for r in results if r.in_scope]
        oos = [r for r in results if not r.in_scope]
        answered = [r for r in results if r.decision.outcome is Outcome.ANSWER]
        suggested = [r for r in results if r.decision.outcome is Outcome.SUGGEST]
        millis = sorted(r.seconds * 1000 for r in results)
        return {
            "queries": len(results),
            "in_scope": len(in_scope),
            "oos": len(oos),
            "top1_accuracy": _rate(sum(r.top == r.query.label for r in in_scope), len(in_scope)),
            "answered": len(answered),
            "answered_precision": _rate(sum(r.answered_right for r in answered), len(answered)),
            "deflection": _rate(sum(r.answered_right for r in in_scope), len(in_scope)),
            "oos_recall": _rate(
                sum(r.decision.outcome is not Outcome.ANSWER for r in oos), len(oos)
            ),
            "suggest_hit": _rate(sum(r.suggested_right for r in suggested), len(suggested)),
            "p50_ms": _percentile(millis, 0.50),
            "p99_ms": _percentile(millis, 0.99),
            "suggested": len(suggested),
            "escalated": self._count(Outcome.ESCALATE),
            "matcher": self.matcher,
            **({"thresholds": self.thresholds.to_json()} if self.thresholds else {}),
        }

    def to_text(self) -> str:
        numbers = self.to_json()
        numbers.pop("thresholds", None)
        width = max(len(key) for key in numbers)
        lines = [f"{key:<{width}}  {_show(value)}" for key, value in numbers.items()]
        if self.thresholds is not None:
            lines.append(f"{'thresholds':<{width}}  {self.thresholds.describe()}")
        return "\n".join(
            [
                *lines,
                "",
                *self._threshold_table(),
                "",
                *self._confusions(),
                "",
                *self._worst_misses(),
            ]
        )

    def _threshold_table(self) -> list[str]:
        """Answers at other thresholds, as if only `answer_threshold` changed."""
        in_scope = sum(r.in_scope for r in self.results)
        lines = ["answer threshold  answered  precision  deflection  oos recall"]
        oos = len(self.results) - in_scope
        for threshold in _OTHER_THRESHOLDS:
            answered = [r for r in self.results if self._would_answer(r, threshold)]
            right = sum(r.in_scope and r.top == r.query.label for r in answered)
            wrong_oos = sum(not r.in_scope for r in answered)
            lines.append(
                f"{threshold:>16.2f}  {len(answered):>8}  {_show(_rate(right, len(answered))):>9}"
                f"  {_show(_rate(right, in_scope)):>10}  {_show(_rate(oos - wrong_oos, oos)):>10}"
            )
        return lines

    def _would_answer(self, result: Result, threshold: float) -> bool:
        top = result.top
        answerable = top is not None and self.actions.get(top, Action.ANSWER) is Action.ANSWER
        return answerable and result.decision.confidence >= threshold

    def _confusions(self, limit: int = 10) -> list[str]:
        pairs = Counter(
            (r.query.label, r.top)
            for r in self.results
            if r.in_scope and r.top is not None and r.top != r.query.label
        )
        lines = ["most confused (right article <- article that took its queries):"]
        lines += [f"{n:>5}  {right} <- {took}" for (right, took), n in pairs.most_common(limit)]
        return lines if pairs else [*lines, "    none"]

    def _worst_misses(self, limit: int = 10) -> list[str]:
        wrong = [
            r for r in self.results if r.decision.outcome is Outcome.ANSWER and not r.answered_right
        ]
        wrong.sort(key=lambda r: -r.decision.confidence)
        lines = ["worst misses (wrong answers, most confident first):"]
        for r in wrong[:limit]:
            answer = r.decision.article.id if r.decision.article else "-"
            lines.append(
                f"  {r.decision.confidence:.2f}  {r.query.text!r}: answered {answer}, "
                f"right {r.query.label}"
            )
        return lines if wrong else [*lines, "    none"]


def evaluate(
    kb_articles: Sequence[Article],
    queries: Iterable[Query],
    matcher: Matcher,
    policy: TriagePolicy = DEFAULT_POLICY,
    thresholds: Thresholds | None = None,
) -> EvalReport:
    """Decide every query as the bot would; labels must name an article of the base or "oos"."""
    ids = {article.id for article in kb_articles}
    results = []
    for query in queries:
        if query.label != OOS and query.label not in ids:
            where = f"{query.path}:{query.line}: " if query.path else ""
            raise QueryFileError(f"{where}label {query.label!r} is not an article id nor {OOS!r}")
        start = time.perf_counter()
        decision = decide(query.text, matcher, policy)
        results.append(Result(query, decision, time.perf_counter() - start))
    actions = {article.id: article.action for article in kb_articles}
    return EvalReport(matcher.name, tuple(results), actions, thresholds)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return round(sorted_values[index], 3)


def _show(value: object) -> str:
    return "n/a" if value is None else str(value)
