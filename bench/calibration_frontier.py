"""What any threshold chosen on a base's own held-out reports gives on real streams: the
precision/deflection frontier behind the calibration's `UNKNOWN_SHARE` (docs/matching.md).

    .venv/bin/python bench/calibration_frontier.py /tmp/cal/clinc /tmp/cal/finance \
        /tmp/cal/clinc-unseen /tmp/cal/cards0 [--split test]

Each base is a folder with `kb/` and `queries-{split}.jsonl` (`../shared/tools/dataset_to_kb.py`,
`bench/domain_base.py`). The served matcher is built as production builds it (`MatcherFactory`,
tuned encoder, cache under `JETHRO_CACHE_DIR` or /tmp/jcache); the held-out reports are judged as
`knowledge.calibration.held_out` judges them (untuned encoder, five folds of whole left-out
articles and left-out examples). For each score (the confidence alone, or its logit plus `w`
times the best article's cosine minus its own texts' mean cosine to it, the one feature that
separated left-out articles' reports best here) and each assumed share of unknown reports, the
answer threshold is chosen on the held-out reports by `choose_thresholds`' own search (weighted,
precision one standard error down, target 0.95), then applied to the stream: precision and
deflection per base. A study, never read by the product.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.calibration.held_out import folds
from knowledge.calibration.thresholds import _answer_threshold, _weights
from knowledge.embedding_cache import EmbeddingCache
from knowledge.evaluate import OOS, read_queries
from knowledge.loader import load_kb
from knowledge.matchers import MatcherChoice, MatcherFactory, _held_out_builder
from knowledge.semantic import SemanticMatcher

TARGET = 0.95
SHARES = (1 / 3, 0.25, 0.2, 0.15)
WEIGHTS = (0.0, 5.0, 10.0)


@dataclass
class Judged:
    """Reports as one matcher judged them: logit of the confidence, cosine minus typical,
    whether the best article is right, whether the report's problem is in the base."""

    logit: np.ndarray
    closer: np.ndarray
    right: np.ndarray
    known: np.ndarray

    def confidence(self, weight: float) -> np.ndarray:
        """The confidence with `weight` times the closeness added to its logit (0: as is)."""
        return np.asarray(1.0 / (1.0 + np.exp(-(self.logit + weight * self.closer))))

    @property
    def share(self) -> float:
        """The share of these reports about a problem the base has no article for."""
        return float(1.0 - self.known.mean())


def judged(matcher: SemanticMatcher, reports: list[tuple[str, str | None]]) -> Judged:
    rows = []
    for text, label in reports:
        ranked = matcher.rank(text, limit=10)
        if not ranked:
            continue
        conf = min(max(matcher.confidence(ranked), 1e-6), 1 - 1e-6)
        best = ranked[0]
        gap = (best.similarity or 0.0) - matcher._typical[best.article.id]
        rows.append((np.log(conf / (1 - conf)), gap, best.article.id == label, label is not None))
    logit, closer, right, known = (np.array(col) for col in zip(*rows, strict=True))
    return Judged(logit, closer, right.astype(bool), known.astype(bool))


def held_out(factory: MatcherFactory, served: SemanticMatcher, cache: EmbeddingCache) -> Judged:
    """The base's held-out reports, as the calibration builds and judges them."""
    encoder = factory.encoder()
    assert encoder is not None, "the semantic extra and model are needed"
    kb_articles = list(served.articles)
    build = _held_out_builder(kb_articles, encoder, cache, served.config)
    parts = []
    for kept, reports in folds(kb_articles):
        part = build(kept)
        assert isinstance(part, SemanticMatcher)
        parts.append(judged(part, reports))
    return Judged(*(np.concatenate([getattr(p, f) for p in parts]) for f in Judged.__annotations__))


def threshold(samples: Judged, weight: float, share: float) -> float | None:
    """The answer threshold `choose_thresholds` searches for (before its cap at the shipped one)
    with unknown reports weighted to `share` (every best article answerable, as on these
    bases)."""
    confidence, known = samples.confidence(weight), samples.known
    found = _answer_threshold(
        confidence,
        samples.right & known,
        np.ones(len(known), dtype=bool),
        _weights(known, share),
        TARGET,
    )
    return None if found is None else found[0]


def measured(stream: Judged, weight: float, at: float | None) -> str:
    if at is None:
        return "none reaches"
    answered = stream.confidence(weight) >= at
    precision = (answered & stream.right).sum() / max(answered.sum(), 1)
    deflection = (answered & stream.right & stream.known).sum() / max(stream.known.sum(), 1)
    return f"{precision:.3f} / {deflection:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bases", type=Path, nargs="+")
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--shares", type=float, nargs="+", default=SHARES, help="assumed unknown shares to try"
    )
    args = parser.parse_args()
    cache_dir = Path(os.environ.get("JETHRO_CACHE_DIR", "/tmp/jcache"))
    factory = MatcherFactory(MatcherChoice.SEMANTIC, None, cache_dir)
    cache = EmbeddingCache(cache_dir)
    studied = {}
    for folder in args.bases:
        kb = load_kb(folder / "kb")
        matcher = factory(kb)
        assert isinstance(matcher, SemanticMatcher)
        queries = read_queries(folder / f"queries-{args.split}.jsonl")
        stream = [(q.text, None if q.label == OOS else q.label) for q in queries]
        studied[folder.name] = (held_out(factory, matcher, cache), judged(matcher, stream))
    names = list(studied)
    print("true unknown share: " + ", ".join(f"{n} {s.share:.3f}" for n, (_, s) in studied.items()))
    print("| score | unknown share | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for weight in WEIGHTS:
        label = "confidence" if not weight else f"logit + {weight:g} x (cosine - typical)"
        for share in args.shares:
            cells = [measured(s, weight, threshold(h, weight, share)) for h, s in studied.values()]
            print(f"| {label} | {share:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
