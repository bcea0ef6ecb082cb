"""Choose the semantic matcher's answer threshold on validation, out-of-scope reweighted to 20%.

    .venv/bin/python bench/choose_threshold.py /tmp/clinc /tmp/clinc-unseen

Each base is a `dataset_to_kb.py` output folder. Prints top-1 and, per threshold, reweighted and
raw precision, deflection and out-of-scope recall, for val and test (read test only afterwards).
Val has 3% out-of-scope reports and test 18%; weighting both to 20% keeps a threshold chosen on val
honest on test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from knowledge.evaluate import OOS, read_queries
from knowledge.loader import load_kb
from knowledge.matchers import MatcherChoice, MatcherFactory

THRESHOLDS = (0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97)
OOS_SHARE = 0.2


def report(base: Path, split: str, factory: MatcherFactory) -> None:
    matcher = factory(load_kb(base / "kb"))
    labels, tops, confidences = [], [], []
    for query in read_queries(base / f"queries-{split}.jsonl"):
        ranked = matcher.rank(query.text, 10)
        labels.append(query.label)
        tops.append(ranked[0].article.id if ranked else None)
        confidences.append(matcher.confidence(ranked))
    oos = np.array([label == OOS for label in labels])
    right = np.array([label == top for label, top in zip(labels, tops, strict=True)])
    conf = np.array(confidences)
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


def main() -> None:
    factory = MatcherFactory(MatcherChoice.SEMANTIC, None, Path("/tmp/jcache"))
    for base in sys.argv[1:]:
        for split in ("val", "test"):
            report(Path(base), split, factory)


if __name__ == "__main__":
    main()
