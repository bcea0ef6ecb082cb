"""`Calibrator`: the thresholds a base is served with, calibrated on it and cached beside the
embeddings so that a restart or a reload does not judge the held-out reports again.

The judged samples are cached, not the thresholds: another target precision needs no new
matchers. As with the tuned layers (`knowledge.layer_tuning`), the last samples are reused while
at most `REUSE_SHARE` of the base's (article, text) pairs changed, so a reload after an edit
stays as fast as it was; past that, or for another base, they are judged again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge.article import Article
from knowledge.calibration.held_out import Builder, held_out_samples, too_small
from knowledge.calibration.thresholds import PRIOR, Sample, Thresholds, choose_thresholds
from knowledge.embedding_cache import replace_atomically
from knowledge.layer_tuning import changed_share
from knowledge.triage import TriagePolicy

log = logging.getLogger(__name__)

REUSE_SHARE = 0.1
VERSION = "2"
"""Part of every cache key: a change to how samples are judged must not reuse old ones."""


class Calibrator:
    """Thresholds for each base at `target` precision; samples cached under `folder/calibration`
    (None: in memory only)."""

    def __init__(self, folder: Path | None, target: float = 0.95) -> None:
        self.folder = folder / "calibration" if folder else None
        self.target = target
        self.judged = 0  # how many times samples were judged, for logs and tests
        self._last: dict[str, tuple[frozenset[str], list[Sample]]] = {}

    def thresholds(
        self, articles: Sequence[Article], lineage: str, build: Builder, prior: TriagePolicy
    ) -> Thresholds:
        """`lineage` names the matcher (its kind, model and settings): samples of another one
        never stand in."""
        small = too_small(articles)
        if small is not None:
            note = f"not calibrated: {small}"
            return Thresholds(prior.answer_threshold, prior.suggest_threshold, PRIOR, note=note)
        samples = self._samples(articles, f"{VERSION}\0{lineage}", build, prior)
        chosen = choose_thresholds(
            samples, self.target, prior.suggest_threshold, prior.answer_threshold
        )
        if chosen is None:
            note = f"no threshold reaches precision {self.target:.2f} on its held-out reports"
            return Thresholds(prior.answer_threshold, prior.suggest_threshold, PRIOR, note=note)
        return chosen

    def _samples(
        self, articles: Sequence[Article], lineage: str, build: Builder, prior: TriagePolicy
    ) -> list[Sample]:
        pairs = frozenset(_pairs(articles))
        last = self._last.get(lineage) or self._latest(lineage)
        if last is not None and changed_share(last[0], pairs) <= REUSE_SHARE:
            self._last[lineage] = last
            return last[1]
        start = time.perf_counter()
        samples = held_out_samples(articles, build, prior)
        self.judged += 1
        log.info(
            "calibrated on %d held-out reports in %.1f s", len(samples), time.perf_counter() - start
        )
        self._last[lineage] = (pairs, samples)
        self._save(lineage, pairs, samples)
        return samples

    def _path(self, lineage: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / f"{hashlib.sha256(lineage.encode()).hexdigest()[:32]}.json"

    def _latest(self, lineage: str) -> tuple[frozenset[str], list[Sample]] | None:
        path = self._path(lineage)
        if path is None:
            return None
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
            return frozenset(found["pairs"]), [_sample(row) for row in found["samples"]]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s: unreadable calibration, calibrating again (%s)", path, exc)
            return None

    def _save(self, lineage: str, pairs: frozenset[str], samples: list[Sample]) -> None:
        path = self._path(lineage)
        if path is None:
            return
        rows = [
            [s.confidence, s.right, s.known, s.answerable, [list(x) for x in s.shortlists]]
            for s in samples
        ]
        text = json.dumps({"pairs": sorted(pairs), "samples": rows}).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(path, lambda f: f.write(text))
        except OSError as exc:
            log.warning("%s: cannot cache the calibration (%s)", path, exc)


def _pairs(articles: Sequence[Article]) -> list[str]:
    """An article's texts and whether it is answered: what the samples depend on."""
    out = []
    for article in articles:
        for text in (*article.examples, article.title, f"\0{article.action.value}"):
            out.append(hashlib.sha256(f"{article.id}\0{text}".encode()).hexdigest()[:16])
    return out


def _sample(row: Any) -> Sample:
    confidence, right, known, answerable, shortlists = row
    return Sample(
        float(confidence),
        bool(right),
        bool(known),
        bool(answerable),
        tuple((float(c), bool(h)) for c, h in shortlists),
    )
