"""How well anything the shipped encoder gives tells a wrong confident answer from a right one:
the ceiling behind #13's unmet `kb eval` targets (docs/matching.md, "The separation ceiling").

    JETHRO_CACHE_DIR=/tmp/cal/cache .venv/bin/python bench/separation_study.py \
        /tmp/cal/finance /tmp/cal/clinc-unseen /tmp/cal/banking /tmp/cal/travel /tmp/cal/clinc

Each base is a folder with `kb/` and `queries-test.jsonl` (`bench/domain_base.py`,
`../shared/tools/dataset_to_kb.py`). The served matcher is built as production builds it
(`MatcherFactory`, tuned encoder). For every report answered at confidence `FLOOR` or more, it
reads the features below and prints each one's AUC for "the answer is right" (0.5: no
separation), then the AUC of a logistic regression on all of them, fitted on the stream's own
labels in five folds (each report scored by a model that never saw it): an upper bound on what
any answer score built from these features could reach, even one tuned on the stream under test.

Features: the confidence; the best article's cosine minus its own texts' mean cosine to it
(`closer`); token coverage, each report token's best cosine to any token of the best article's
texts (last layer, tuned encoder), as its minimum and mean; and that coverage minus the
second article's, as its minimum and mean (a report about a problem the base lacks tends to
carry a word that none of its best article's texts has). A study, never read by the product.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from knowledge.batching import BatchingEncoder
from knowledge.embedding import BertEncoder
from knowledge.evaluate import read_queries
from knowledge.loader import load_kb
from knowledge.matchers import MatcherChoice, MatcherFactory
from knowledge.semantic import SemanticMatcher

FLOOR = 0.9
"""Wrong answers at lower confidence are already escalated by every threshold in use."""
FOLDS = 5
FEATURES = ("confidence", "closer", "coverage min", "coverage mean", "gap min", "gap mean")
Array = npt.NDArray[np.float64]


def auc(score: Array, right: npt.NDArray[np.bool_]) -> float:
    """P(a right answer's score > a wrong one's), ties counted half."""
    pos, neg = score[right], score[~right]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = _ranks(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _ranks(values: Array) -> Array:
    """1-based ranks, ties sharing their mean rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2)[inverse]


def cross_fitted(features: Array, right: npt.NDArray[np.bool_], folds: int = FOLDS) -> Array:
    """Each row's logistic-regression score from a model fitted on the other folds."""
    fold = np.random.default_rng(0).integers(0, folds, len(right))
    out = np.zeros(len(right))
    for f in range(folds):
        train, test = fold != f, fold == f
        mean, spread = features[train].mean(0), features[train].std(0) + 1e-9
        z = (features[train] - mean) / spread
        weights, bias = np.zeros(z.shape[1]), 0.0
        for _ in range(3000):
            error = 1 / (1 + np.exp(-(z @ weights + bias))) - right[train]
            weights -= 0.1 * (z.T @ error / len(error) + 1e-3 * weights)
            bias -= 0.1 * float(error.mean())
        out[test] = ((features[test] - mean) / spread) @ weights + bias
    return out


def _tokens(encoder: BertEncoder, texts: list[str]) -> list[Array]:
    """Unit vectors of each text's tokens after the last layer, [CLS] and [SEP] left out."""
    states = encoder.token_states(texts, len(encoder.layers))
    inner = [s[1:-1] for s in states]
    return [t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9) for t in inner]


def study(matcher: SemanticMatcher, folder: Path) -> tuple[Array, npt.NDArray[np.bool_]]:
    encoder = matcher.encoder.inner if isinstance(matcher.encoder, BatchingEncoder) else None
    assert isinstance(encoder, BertEncoder), "the semantic matcher's own encoder is needed"
    own = {a.id: np.concatenate(_tokens(encoder, [*a.examples, a.title])) for a in matcher.articles}
    answered = []
    for query in read_queries(folder / "queries-test.jsonl"):
        ranked = matcher.rank(query.text, limit=10)
        confidence = matcher.confidence(ranked) if ranked else 0.0
        if confidence >= FLOOR and len(ranked) >= 2:
            answered.append((query, ranked, confidence))
    rows, right = [], []
    reports = _tokens(encoder, [query.text for query, _, _ in answered])
    for (query, ranked, confidence), tokens in zip(answered, reports, strict=True):
        if not len(tokens):
            continue
        best, second = ranked[0].article.id, ranked[1].article.id
        coverage = (tokens @ own[best].T).max(axis=1)
        gap = coverage - (tokens @ own[second].T).max(axis=1)
        closer = (ranked[0].similarity or 0.0) - matcher._typical[best]
        logit = np.log(min(confidence, 1 - 1e-6) / max(1 - confidence, 1e-6))
        rows.append((logit, closer, coverage.min(), coverage.mean(), gap.min(), gap.mean()))
        right.append(best == query.label)
    return np.array(rows), np.array(right, dtype=bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bases", type=Path, nargs="+")
    args = parser.parse_args()
    cache_dir = Path(os.environ.get("JETHRO_CACHE_DIR", "/tmp/jcache"))
    factory = MatcherFactory(MatcherChoice.SEMANTIC, None, cache_dir)
    columns = [*FEATURES, "all, fitted on the stream"]
    print("| base | answered >= 0.9 | wrong | " + " | ".join(columns) + " |")
    print("|---|---:|---:|" + "---:|" * len(columns))
    for folder in args.bases:
        matcher = factory(load_kb(folder / "kb"))
        assert isinstance(matcher, SemanticMatcher)
        features, right = study(matcher, folder)
        aucs = [auc(features[:, i], right) for i in range(len(FEATURES))]
        few = (~right).sum() < FOLDS  # a fold without a wrong answer fits nothing
        aucs.append(float("nan") if few else auc(cross_fitted(features, right), right))
        cells = " | ".join(f"{a:.3f}" for a in aucs)
        print(f"| {folder.name} | {len(right)} | {int((~right).sum())} | {cells} |")


if __name__ == "__main__":
    main()
