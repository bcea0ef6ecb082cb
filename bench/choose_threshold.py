"""Choose the semantic matcher's answer and suggest thresholds on validation, oos reweighted to 20%.

    .venv/bin/python bench/choose_threshold.py /tmp/clinc /tmp/clinc-unseen [--test]

Each base is a `dataset_to_kb.py` output folder; the matcher is built as production builds it
(`MatcherFactory`: tuned encoder, cached under /tmp/jcache). Prints top-1 and, per answer
threshold, reweighted and raw precision, deflection and out-of-scope recall; then, at the shipped
answer threshold, per suggest threshold: how often a suggestion holds the right article (oos
reweighted) and the share of reports that get one. Val only, unless `--test` (read it only
afterwards). Val has 3% out-of-scope reports and test 18%; weighting both to 20% keeps a
threshold chosen on val honest on test.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.decision import Candidate, Outcome
from knowledge.evaluate import OOS, read_queries
from knowledge.index import Matcher
from knowledge.loader import load_kb
from knowledge.matchers import MatcherChoice, MatcherFactory, measured_policy
from knowledge.triage import TriagePolicy, decide

THRESHOLDS = (0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.96, 0.97, 0.98)
SUGGEST = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95)
OOS_SHARE = 0.2


class Replay:
    """A matcher that answers from rankings computed once, so each policy is cheap to try."""

    def __init__(self, matcher: Matcher, ranked: dict[str, list[Candidate]]) -> None:
        self.name = matcher.name
        self.matcher = matcher
        self.ranked = ranked

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        return self.ranked[text][:limit]

    def confidence(self, ranked: Sequence[Candidate]) -> float:
        return self.matcher.confidence(ranked)


def report(base: Path, split: str, factory: MatcherFactory) -> None:
    matcher = factory(load_kb(base / "kb"))
    queries = read_queries(base / f"queries-{split}.jsonl")
    replay = Replay(matcher, {q.text: matcher.rank(q.text, 10) for q in queries})
    labels = [q.label for q in queries]
    tops = [replay.ranked[q.text][0].article.id if replay.ranked[q.text] else None for q in queries]
    conf = np.array([replay.confidence(replay.ranked[q.text]) for q in queries])
    oos = np.array([label == OOS for label in labels])
    right = np.array([label == top for label, top in zip(labels, tops, strict=True)])
    weight = np.where(oos, OOS_SHARE / max(oos.mean(), 1e-9), (1 - OOS_SHARE) / (1 - oos.mean()))
    print(f"{base} {split}: top-1 {right[~oos].mean():.3f}, oos share {oos.mean():.3f}")
    for threshold in THRESHOLDS:
        answered = conf >= threshold
        weighted = (weight * (answered & right)).sum() / max((weight * answered).sum(), 1e-9)
        raw = (answered & right).sum() / max(answered.sum(), 1)
        print(
            f"  t={threshold} precision(20% oos)={weighted:.3f} precision={raw:.3f} "
            f"deflection={(answered & right)[~oos].mean():.3f} "
            f"oos recall={(~answered)[oos].mean():.3f}"
        )
    shipped = measured_policy(matcher)
    for suggest in SUGGEST:
        policy = TriagePolicy(shipped.answer_threshold, suggest)
        decisions = [decide(q.text, replay, policy) for q in queries]
        shown = np.array([d.outcome is Outcome.SUGGEST for d in decisions])
        hit = np.array(
            [
                any(c.article.id == q.label for c in d.candidates)
                for q, d in zip(queries, decisions, strict=True)
            ]
        )
        rate = (weight * (shown & hit)).sum() / max((weight * shown).sum(), 1e-9)
        print(
            f"  answer {shipped.answer_threshold}, suggest {suggest}: suggest hit(20% oos)="
            f"{rate:.3f} suggested={shown.mean():.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bases", type=Path, nargs="+")
    parser.add_argument("--test", action="store_true", help="also print test (read it last)")
    args = parser.parse_args()
    factory = MatcherFactory(MatcherChoice.SEMANTIC, None, Path("/tmp/jcache"))
    for base in args.bases:
        for split in ("val", "test") if args.test else ("val",):
            report(base, split, factory)


if __name__ == "__main__":
    main()
