"""Choosing the answer and suggest thresholds from judged reports: held-out ones of the base
(`choose_thresholds`) or real verdicts (`refit_from_verdicts`).

Pure: numbers in, thresholds out. The samples come from `knowledge.calibration.held_out`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PRIOR = "prior"
BASE = "base"
OUTCOMES = "outcomes"
SETTING = "setting"

UNKNOWN_SHARE = 1 / 3
"""The share of reports taken to be about problems the base has no article for, when held-out
articles' reports are weighed against held-out examples (CLINC150's test split has 18% out of
scope; a base missing a third of its problems, more)."""
SUGGEST_MARGIN = 0.05
"""A shortlist needs to hold the right article this much less often than an answer must be
right: a wrong shortlist costs one click on "none of these", a wrong answer a wasted try."""
CAUTION = 1.0
"""How many standard errors below its estimate the precision of a threshold is taken to be."""
LOWEST = 0.5
"""No threshold below this: the confidence is a probability, and below an even chance the
decision would be guessing."""


@dataclass(frozen=True)
class Thresholds:
    """The thresholds in use, where they came from, and what they are expected to give.

    `source`: "prior" (shipped, measured on CLINC150), "base" (calibrated on this base),
    "outcomes" (refit on real verdicts) or "setting" (the operator's). `expected_precision`:
    share of answers that are right; `expected_deflection`: share of reports about a problem the
    base covers that are answered right (None where nothing measured them). `note` says why a
    base fell back to the prior.
    """

    answer: float
    suggest: float
    source: str
    expected_precision: float | None = None
    expected_deflection: float | None = None
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "answer": round(self.answer, 4),
            "suggest": round(self.suggest, 4),
            "source": self.source,
            "expected_precision": _rounded(self.expected_precision),
            "expected_deflection": _rounded(self.expected_deflection),
            "note": self.note,
        }

    def describe(self) -> str:
        """One line for `jethro doctor` and logs."""
        expected = ""
        if self.expected_precision is not None:
            expected = f", expected precision {self.expected_precision:.2f}"
        if self.expected_deflection is not None:
            expected += f", deflection {self.expected_deflection:.2f}"
        note = f" ({self.note})" if self.note else ""
        return (
            f"answer at {self.answer:.3f}, suggest at {self.suggest:.3f}, from the "
            f"{self.source}{expected}{note}"
        )


@dataclass(frozen=True)
class Sample:
    """One held-out report as the matcher judged it.

    `known`: the base has its article (else it is a held-out article's report, which must not be
    answered). `right`: the best article is its article. `answerable`: the best article is
    answered rather than always escalated. `shortlists`: for 2, 3, ... articles, the shortlist
    confidence and whether its article is among them.
    """

    confidence: float
    right: bool
    known: bool
    answerable: bool = True
    shortlists: tuple[tuple[float, bool], ...] = ()


def choose_thresholds(
    samples: Sequence[Sample], target: float, prior_suggest: float, prior_answer: float = 1.0
) -> Thresholds | None:
    """The lowest answer threshold whose precision on `samples` reaches `target` (so the most
    deflection it allows), with unknown reports weighted to `UNKNOWN_SHARE`; then the lowest
    suggest threshold (at most the answer one) whose shortlists hold the right article at
    `target - SUGGEST_MARGIN`, else `prior_suggest`. None when no answer threshold reaches it.

    The precision is read one standard error down, so a small base errs towards escalating;
    and the threshold never rises above `prior_answer`: where the prior misses the target by more
    than a standard error on these samples, the prior stays with a note saying so.
    """
    confidence = np.array([s.confidence for s in samples], dtype=np.float64)
    known = np.array([s.known for s in samples], dtype=bool)
    right = np.array([s.right and s.known for s in samples], dtype=bool)
    answerable = np.array([s.answerable for s in samples], dtype=bool)
    weights = _weights(known)
    found = _answer_threshold(confidence, right, answerable, weights, target)
    at_prior = _precision_at(confidence >= prior_answer, right, answerable, weights)
    if at_prior is not None and (found is None or found[0] > prior_answer):
        precision, spread = at_prior
        if precision + CAUTION * spread >= target:  # no clear evidence against the prior
            found = (prior_answer, precision)
    if found is None:
        return None
    answer, precision = found
    note = ""
    if answer > prior_answer and at_prior is not None:
        # Held-out estimates of a small base of close articles are pessimistic: raising past the
        # shipped threshold answered nothing at all on one (docs/matching.md). Keep the prior and
        # say what the base expects there, so the admin adds examples instead.
        answer, precision = prior_answer, at_prior[0]
        note = (
            f"kept the shipped threshold; at {answer:.2f} this base expects precision "
            f"{precision:.2f}, under the {target:.2f} target: its articles need more examples"
        )
    answered = answerable & (confidence >= answer)
    deflection = float((answered & right).sum() / max(known.sum(), 1))
    suggest = _suggest_threshold(samples, answered, weights, answer, target - SUGGEST_MARGIN)
    return Thresholds(
        answer,
        min(answer, prior_suggest if suggest is None else suggest),
        BASE,
        precision,
        deflection,
        note,
    )


def _precision_at(
    chosen: np.ndarray, right: np.ndarray, answerable: np.ndarray, weights: np.ndarray
) -> tuple[float, float] | None:
    """The weighted precision of answering `chosen`, and its standard error."""
    counted = weights * (chosen & answerable)
    total = float(counted.sum())
    if not total:
        return None
    precision = float((counted * right).sum()) / total
    effective = total**2 / float((counted**2).sum())
    return precision, math.sqrt(precision * (1 - precision) / max(effective, 1.0))


def _weights(known: np.ndarray, share: float = UNKNOWN_SHARE) -> np.ndarray:
    """Known reports share 1 - `share` of the weight, unknown ones the rest."""
    n_known, n_unknown = int(known.sum()), int((~known).sum())
    if not n_unknown or not n_known:
        return np.ones(len(known))
    return np.where(known, (1 - share) / n_known, share / n_unknown)


def _answer_threshold(
    confidence: np.ndarray,
    right: np.ndarray,
    answerable: np.ndarray,
    weights: np.ndarray,
    target: float,
) -> tuple[float, float] | None:
    order = np.argsort(-confidence, kind="stable")
    conf = confidence[order]
    counted = answerable[order] * weights[order]
    good = np.cumsum(counted * right[order])
    total = np.cumsum(counted)
    # a threshold at a sample's confidence answers it and everything above: the last of a tie
    last = np.r_[conf[1:] != conf[:-1], True]
    usable = last & (conf >= LOWEST) & (total > 0)
    precision = np.divide(good, total, out=np.zeros_like(good), where=total > 0)
    # the precision's lower bound, one standard error down, on the weights' effective count:
    # a small base's estimate is noisy, and its thresholds must err towards escalating
    effective = np.divide(
        total**2, np.cumsum(counted**2), out=np.zeros_like(total), where=total > 0
    )
    spread = np.sqrt(precision * (1 - precision) / np.maximum(effective, 1.0))
    reached = np.flatnonzero(usable & (precision - CAUTION * spread >= target))
    if not len(reached):
        return None
    i = int(reached[-1])
    return float(conf[i]), float(precision[i])


def _suggest_threshold(
    samples: Sequence[Sample],
    answered: np.ndarray,
    weights: np.ndarray,
    answer: float,
    target: float,
) -> float | None:
    for threshold in np.round(np.arange(LOWEST, answer + 1e-9, 0.01), 2):
        hit = offered = 0.0
        for sample, was_answered, weight in zip(samples, answered, weights, strict=True):
            if was_answered:
                continue
            among = next((h for c, h in sample.shortlists if c >= threshold), None)
            if among is not None:
                offered += weight
                hit += weight * (among and sample.known)
        if offered and hit / offered >= target:
            return float(threshold)
    return None


def refit_from_verdicts(
    verdicts: Sequence[tuple[float, bool]],
    target: float,
    current: Thresholds,
    *,
    min_verdicts: int = 50,
    min_above: int = 20,
) -> Thresholds | None:
    """The answer threshold refit on real verdicts, or None while there are too few of them.

    `verdicts`: (the decision's confidence, whether the answer was, or would have been, right),
    e.g. Solved = right and Still broken = wrong on answers, and below the threshold in use
    whether the top candidate of a report suggested or escalated was the article that solved
    it (any order). Returns the lowest threshold (not under `LOWEST`), among the verdicts'
    confidences, at or above which at least `min_above` verdicts lie and their precision, one
    standard error down (`CAUTION`), reaches `target`: it can lower the threshold only as far
    as verdicts below it show.
    When no threshold reaches `target`, it returns the one that keeps only the `min_above`
    surest verdicts, with the precision measured there. None when fewer than `min_verdicts`
    verdicts exist (or `min_above` at `LOWEST` or more). The suggest threshold stays
    `current.suggest` (capped at the new answer threshold); deflection is not measurable from
    verdicts (None). Source "outcomes".
    """
    verdicts = [v for v in verdicts if v[0] >= LOWEST]
    if len(verdicts) < max(min_verdicts, min_above, 1):
        return None
    confidence = np.array([c for c, _ in verdicts], dtype=np.float64)
    right = np.array([r for _, r in verdicts], dtype=bool)
    order = np.argsort(-confidence, kind="stable")
    conf, good = confidence[order], np.cumsum(right[order])
    counts = np.arange(1, len(conf) + 1)
    last = np.r_[conf[1:] != conf[:-1], True]
    precision = good / counts
    usable = last & (counts >= min_above)
    # read one standard error down, as the base's calibration reads its samples: lowering the
    # threshold on a few hundred outcomes must not spend the precision's whole margin
    spread = np.sqrt(precision * (1 - precision) / counts)
    reached = np.flatnonzero(usable & (precision - CAUTION * spread >= target))
    i = int(reached[-1]) if len(reached) else int(np.flatnonzero(usable)[0])
    answer = float(conf[i])
    return Thresholds(
        answer, min(current.suggest, answer), OUTCOMES, float(precision[i]), None, current.note
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
