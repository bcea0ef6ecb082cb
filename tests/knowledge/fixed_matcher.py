"""A matcher whose scores the test dictates, to pin the triage policy down number by number.

Its confidence is simply the gap between the first candidate and the next, so a test can read
every decision off the scores it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from knowledge.article import Article
from knowledge.decision import Candidate


class FixedMatcher:
    name = "fixed"

    def __init__(self, ranking: Mapping[str, Sequence[tuple[Article, float]]]) -> None:
        self.ranking = ranking

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        return [Candidate(a, s) for a, s in self.ranking.get(text, ())][:limit]

    def confidence(self, ranked: Sequence[Candidate]) -> float:
        if not ranked:
            return 0.0
        return ranked[0].score - (ranked[1].score if len(ranked) > 1 else 0.0)
