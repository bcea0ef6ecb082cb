"""The triage decision's value types: what the CLI, Slack and `kb eval` all receive.

The decision itself (`decide`) lives in `knowledge/triage.py`; these types carry no behaviour so
that renderers and storage can depend on them without pulling in the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from knowledge.article import Article


class Outcome(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class Candidate:
    """One ranked article with its score from the matcher (higher is better, 0..1).

    `similarity`: the report's plain cosine to the article (semantic matcher only), which tells
    a near tie between articles from a report that no article covers but several resemble.
    `confidence`: set on the best candidate of a decision, the decision's confidence. It is the
    one number people are shown (`confidence_text`); raw scores rank, but mean nothing alone.
    """

    article: Article
    score: float
    similarity: float | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome for one report, with the evidence a human needs to trust or overrule it.

    `article` is set for `answer` (the article to show) and for `escalate` when an article
    with `action: escalate` matched; `candidates` is best first; `confidence` is the calibrated
    probability that the best candidate is right.
    """

    outcome: Outcome
    article: Article | None
    confidence: float
    candidates: tuple[Candidate, ...]
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "article": (
                {"id": self.article.id, "title": self.article.title} if self.article else None
            ),
            "confidence": round(self.confidence, 4),
            "reason": self.reason,
            "candidates": [
                {"id": c.article.id, "title": c.article.title, "score": round(c.score, 4)}
                | ({} if c.confidence is None else {"confidence": round(c.confidence, 4)})
                for c in self.candidates
            ],
        }


def confidence_text(confidence: float) -> str:
    """How a confidence reads wherever people see one: the decision's reason, the ticket, the
    shell, so that "confidence 74%" means the same thing in each."""
    return f"confidence {confidence * 100:.0f}%"
