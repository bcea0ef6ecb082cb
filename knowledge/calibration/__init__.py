"""Calibrating the decision's thresholds on the base it serves (issue #13, section 1).

`held_out` judges reports the matcher never saw (examples and whole articles left out),
`thresholds` chooses the thresholds that reach a target precision from them, or refits them on
real verdicts, and `calibrator` caches the judged reports beside the embeddings. Imports nothing
of ours outside `knowledge/`.
"""

from knowledge.calibration.calibrator import Calibrator
from knowledge.calibration.thresholds import (
    BASE,
    OUTCOMES,
    PRIOR,
    SETTING,
    Sample,
    Thresholds,
    choose_thresholds,
    refit_from_verdicts,
)

__all__ = [
    "BASE",
    "OUTCOMES",
    "PRIOR",
    "SETTING",
    "Calibrator",
    "Sample",
    "Thresholds",
    "choose_thresholds",
    "refit_from_verdicts",
]
