"""Choose the semantic matcher's answer and suggest thresholds on validation, oos reweighted to 20%.

    .venv/bin/python bench/choose_threshold.py /tmp/clinc /tmp/clinc-unseen [--test] [--fit]

Each base is a `dataset_to_kb.py` output folder; the matcher is built as production builds it
(`MatcherFactory`: tuned encoder, cached under /tmp/jcache). Prints top-1 and, per answer
threshold, reweighted and raw precision, deflection and out-of-scope recall; then, at the shipped
answer threshold, per suggest threshold: how often a suggestion holds the right article (oos
reweighted) and the share of reports that get one. Val only, unless `--test` (read it only
afterwards). Val has 3% out-of-scope reports and test 18%; weighting both to 20% keeps a
threshold chosen on val honest on test.

`--fit` fits the semantic matcher's shortlist weights (`SemanticConfig.shortlist`) on the val
splits of all the bases (the first must be the full base: its labels tell CLINC's own
out-of-scope reports from those of held-out intents) and prints them. Held-out intents' reports
keep their share; CLINC's own out-of-scope ones are weighted to the test split's 18%.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.decision import Candidate, Outcome
from knowledge.evaluate import OOS, read_queries
from knowledge.index import Matcher, ShortlistMatcher
from knowledge.loader import load_kb
from knowledge.matchers import MatcherChoice, MatcherFactory, measured_policy
from knowledge.semantic import FloatArray, SemanticMatcher
from knowledge.triage import TriagePolicy, decide

THRESHOLDS = (0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.96, 0.97, 0.98)
SUGGEST = (0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.93, 0.95)
OOS_SHARE = 0.2
NATIVE_OOS_SHARE = 1000 / 5500


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

    def shortlist_confidence(self, ranked: Sequence[Candidate], size: int) -> float:
        if isinstance(self.matcher, ShortlistMatcher):
            return self.matcher.shortlist_confidence(ranked, size)
        return self.matcher.confidence([ranked[0], *ranked[size:]])


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
        raw = (shown & hit).sum() / max(shown.sum(), 1)
        print(
            f"  answer {shipped.answer_threshold}, suggest {suggest}: suggest hit(20% oos)="
            f"{rate:.3f} suggest hit={raw:.3f} suggested={shown.mean():.3f}"
        )


def shortlist_rows(
    base: Path, native: set[str], factory: MatcherFactory, size: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Features of `SemanticMatcher.shortlist_confidence` for the unanswered val reports, whether
    the right article is among the first `size`, and each report's weight."""
    matcher = factory(load_kb(base / "kb"))
    assert isinstance(matcher, SemanticMatcher)
    policy = measured_policy(matcher)
    rows, right, weight = [], [], []
    queries = read_queries(base / "queries-val.jsonl")
    for q in queries:
        ranked = matcher.rank(q.text, 10)
        if len(ranked) <= size or matcher.confidence(ranked) >= policy.answer_threshold:
            continue
        group = matcher.confidence([ranked[0], *ranked[size:]])
        plain = [c.similarity or 0.0 for c in ranked[:size]]
        closer = [s - matcher._typical[c.article.id] for c, s in zip(ranked, plain, strict=False)]
        logit = np.log(max(group, 1e-6) / max(1 - group, 1e-6))
        rows.append([logit, closer[0], max(closer), plain[0]])
        right.append(q.label != OOS and q.label in {c.article.id for c in ranked[:size]})
        weight.append(q.text in native)
    is_native = np.array(weight, dtype=bool)
    share = sum(q.text in native for q in queries) / len(queries)
    w = np.where(is_native, NATIVE_OOS_SHARE / (1 - NATIVE_OOS_SHARE) * (1 - share) / share, 1.0)
    return np.array(rows), np.array(right, dtype=np.float64), w


def fit_shortlist(bases: Sequence[Path], factory: MatcherFactory) -> None:
    """Weighted logistic regression (gradient descent on standardised features, small L2)."""
    native = {q.text for q in read_queries(bases[0] / "queries-val.jsonl") if q.label == OOS}
    for size in (2, 3):
        parts = [shortlist_rows(base, native, factory, size) for base in bases]
        x = np.vstack([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        w = np.concatenate([p[2] for p in parts])
        mean, spread = x.mean(axis=0), x.std(axis=0) + 1e-9
        z = np.hstack([np.ones((len(x), 1)), (x - mean) / spread])
        beta, w = np.zeros(z.shape[1]), w / w.sum()
        for _ in range(6000):
            p = 1 / (1 + np.exp(-z @ beta))
            beta -= 0.5 * (z.T @ (w * (p - y)) + 1e-3 * np.r_[0, beta[1:]])
        weights = beta[1:] / spread
        bias = beta[0] - (beta[1:] * mean / spread).sum()
        print(f"shortlist of {size}: {tuple(round(float(v), 3) for v in (bias, *weights))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bases", type=Path, nargs="+")
    parser.add_argument("--test", action="store_true", help="also print test (read it last)")
    parser.add_argument("--fit", action="store_true", help="fit the shortlist weights on val")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/jcache"))
    args = parser.parse_args()
    factory = MatcherFactory(MatcherChoice.SEMANTIC, None, args.cache)
    if args.fit:
        fit_shortlist(args.bases, factory)
        return
    for base in args.bases:
        for split in ("val", "test") if args.test else ("val",):
            report(base, split, factory)


if __name__ == "__main__":
    main()
