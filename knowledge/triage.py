"""The triage decision: answer, suggest a few articles, or escalate to a human.

Pure: no Slack, no database, no files. The same `decide` and default `TriagePolicy` serve the bot
and `jethro kb eval`, so what eval measures is what employees get.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from knowledge.article import Action
from knowledge.decision import Candidate, Decision, Outcome, confidence_text
from knowledge.index import Matcher, ShortlistMatcher
from knowledge.reports import readings


@dataclass(frozen=True)
class TriagePolicy:
    """Thresholds on calibrated probabilities; defaults measured in `bench/matching_study.py`.

    `answer_threshold`: answer when P(best article is right) reaches it. `suggest_threshold`:
    otherwise offer the 2..`suggest_max` near-tied best articles when P(the right one is among
    them) reaches it. Anything less escalates. An article with `action: escalate` escalates
    (carrying its team and severity) once P(it is the one) reaches `escalate_threshold` (None:
    `suggest_threshold`); it can sit below the suggest threshold, because routing a report that is
    going to a person anyway to the right team costs nothing when it is wrong.
    `rank_limit` is how many candidates a decision carries as evidence.
    """

    answer_threshold: float = 0.97
    suggest_threshold: float = 0.85
    escalate_threshold: float | None = None
    suggest_max: int = 3
    rank_limit: int = 10

    def __post_init__(self) -> None:
        for name in ("answer_threshold", "suggest_threshold", "escalate_threshold"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {getattr(self, name)}")
        if self.suggest_max < 2 or self.rank_limit < self.suggest_max:
            raise ValueError("need 2 <= suggest_max <= rank_limit")


DEFAULT_POLICY = TriagePolicy()


def decide(text: str, matcher: Matcher, policy: TriagePolicy = DEFAULT_POLICY) -> Decision:
    """The outcome for one report, with a reason a person can read.

    Matched on the report's prose (`gist`): pasted logs and traces are for the engineer who may
    read the ticket, not for choosing an article.
    """
    if not text.strip():
        return Decision(Outcome.ESCALATE, None, 0.0, (), "the report is empty")
    ranked, confidence = _best_reading(text, matcher, policy)
    if not ranked:
        return Decision(Outcome.ESCALATE, None, 0.0, (), "no article shares any words with it")
    best = replace(ranked[0], confidence=confidence)
    ranked = [best, *ranked[1:]]
    candidates = tuple(ranked)
    routing = policy.suggest_threshold
    if policy.escalate_threshold is not None:
        routing = policy.escalate_threshold
    if best.article.action is Action.ESCALATE and confidence >= routing:
        reason = f"{_matched(best, confidence)}, an article that always goes to on-call"
        return Decision(Outcome.ESCALATE, best.article, confidence, candidates, reason)
    if confidence >= policy.answer_threshold:
        return Decision(
            Outcome.ANSWER, best.article, confidence, candidates, _matched(best, confidence)
        )
    shortlist = _shortlist(ranked, matcher, policy)
    if shortlist:
        size, among = shortlist
        titles = [f"'{c.article.title}'" for c in ranked[:size]]
        named = f"{', '.join(titles[:-1])} and {titles[-1]}"
        reason = (
            f"unsure between {named} ({confidence_text(confidence)} in the first alone, "
            f"{among * 100:.0f}% that it is one of them)"
        )
        return Decision(Outcome.SUGGEST, None, confidence, tuple(ranked[:size]), reason)
    reason = (
        f"no article fits well enough (the closest, '{best.article.title}', has "
        f"{confidence_text(confidence)}; answering needs {policy.answer_threshold * 100:.0f}%)"
    )
    return Decision(Outcome.ESCALATE, None, confidence, candidates, reason)


def _best_reading(
    text: str, matcher: Matcher, policy: TriagePolicy
) -> tuple[list[Candidate], float]:
    """The ranking of the reading the matcher is surest of (`readings`)."""
    best: tuple[list[Candidate], float] = ([], 0.0)
    for reading in readings(text):
        ranked = matcher.rank(reading, limit=policy.rank_limit)
        if ranked:
            confidence = matcher.confidence(ranked)
            if not best[0] or confidence > best[1]:
                best = (ranked, confidence)
    return best


def _matched(candidate: Candidate, confidence: float) -> str:
    return f"matched '{candidate.article.title}' with {confidence_text(confidence)}"


def _shortlist(
    ranked: Sequence[Candidate], matcher: Matcher, policy: TriagePolicy
) -> tuple[int, float] | None:
    """The smallest near-tied group at the top that very likely holds the right article.

    A matcher with its own shortlist estimate (`ShortlistMatcher`) gives it; otherwise the group
    is scored as if it were one article: its best score, and its gap to the first article
    outside it, which is what the matcher's calibrated confidence reads.
    """
    for size, among in enumerate(shortlist_confidences(ranked, matcher, policy), start=2):
        if among >= policy.suggest_threshold:
            return size, among
    return None


def shortlist_confidences(
    ranked: Sequence[Candidate], matcher: Matcher, policy: TriagePolicy
) -> list[float]:
    """P(the right article is among the first 2, 3, ... `suggest_max` of `ranked`), as the
    suggest rule reads it; the calibration replays the rule from these."""
    found = []
    for size in range(2, min(policy.suggest_max, len(ranked)) + 1):
        if isinstance(matcher, ShortlistMatcher):
            found.append(matcher.shortlist_confidence(ranked, size))
        else:
            found.append(matcher.confidence([ranked[0], *ranked[size:]]))
    return found
