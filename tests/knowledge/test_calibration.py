"""Thresholds calibrated on the base they serve, and refit on real verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.article import Article
from knowledge.calibration import (
    BASE,
    OUTCOMES,
    PRIOR,
    Calibrator,
    Sample,
    Thresholds,
    choose_thresholds,
    refit_from_verdicts,
)
from knowledge.index import LexicalMatcher
from knowledge.loader import KnowledgeBase
from knowledge.matchers import MatcherChoice, MatcherFactory, measured_policy
from knowledge.triage import TriagePolicy

PRIOR_POLICY = TriagePolicy(answer_threshold=0.97, suggest_threshold=0.85)
TOPICS = (
    "vpn tunnel",
    "printer toner",
    "laptop battery",
    "email quota",
    "badge door",
    "wifi guest",
    "password expiry",
    "monitor flicker",
    "keyboard keys",
    "calendar invite",
    "payroll slip",
    "parking permit",
)


def base(topics: tuple[str, ...] = TOPICS) -> list[Article]:
    """Articles whose examples share their topic's words and little else."""
    phrasings = (
        "my {} is broken",
        "problem with the {} again",
        "the {} stopped working today",
        "help, {} not ok",
        "{} fails every morning",
        "can someone fix my {}",
    )
    return [
        Article(
            id=topic.replace(" ", "-"),
            title=topic.capitalize(),
            body="",
            examples=tuple(p.format(topic) for p in phrasings),
        )
        for topic in topics
    ]


def test_the_answer_threshold_is_the_lowest_that_reaches_the_target() -> None:
    right = [Sample(c / 100, True, True) for c in range(60, 100)]
    unknown = [Sample(0.7, False, False), Sample(0.75, False, False)]

    found = choose_thresholds(right + unknown, 0.95, 0.8)

    assert found is not None and found.source == BASE
    # below 0.75 the two unknown reports are answered too: precision falls under the target
    assert found.answer > 0.75
    assert found.expected_precision is not None and found.expected_precision >= 0.95
    assert found.expected_deflection is not None and 0 < found.expected_deflection < 1


def test_a_base_that_misses_the_target_keeps_the_shipped_threshold_and_says_why() -> None:
    right = [Sample(c / 100, True, True) for c in range(60, 100)]
    unknown = [Sample(0.9 + c / 1000, False, False) for c in range(0, 60, 3)]

    found = choose_thresholds(right + unknown, 0.95, 0.8, prior_answer=0.9)

    assert found is not None and found.answer == 0.9
    assert found.expected_precision is not None and found.expected_precision < 0.95
    assert "more examples" in found.note


def test_a_base_where_no_threshold_reaches_the_target_gets_none() -> None:
    samples = [Sample(0.99, i % 2 == 0, True) for i in range(50)]
    assert choose_thresholds(samples, 0.95, 0.8) is None


def test_a_small_base_keeps_the_prior_and_says_so() -> None:
    found = Calibrator(None).thresholds(base()[:5], "lexical", LexicalMatcher, PRIOR_POLICY)

    assert (found.answer, found.suggest, found.source) == (0.97, 0.85, PRIOR)
    assert "too small" in found.note


def test_the_same_base_gives_the_same_thresholds_and_a_restart_judges_nothing(
    tmp_path: Path,
) -> None:
    first = Calibrator(tmp_path)
    found = first.thresholds(base(), "lexical", LexicalMatcher, PRIOR_POLICY)
    again = Calibrator(tmp_path)
    reloaded = again.thresholds(base(), "lexical", LexicalMatcher, PRIOR_POLICY)

    assert (
        found
        == reloaded
        == Calibrator(None).thresholds(base(), "lexical", LexicalMatcher, PRIOR_POLICY)
    )
    assert (first.judged, again.judged) == (1, 0)
    assert found.source in (BASE, PRIOR)


def test_a_small_edit_reuses_the_calibration_and_another_base_does_not(tmp_path: Path) -> None:
    calibrator = Calibrator(tmp_path)
    calibrator.thresholds(base(), "lexical", LexicalMatcher, PRIOR_POLICY)
    edited = base()
    edited[0] = Article(
        id=edited[0].id, title=edited[0].title, body="", examples=(*edited[0].examples, "vpn?")
    )
    calibrator.thresholds(edited, "lexical", LexicalMatcher, PRIOR_POLICY)
    assert calibrator.judged == 1
    calibrator.thresholds(base(TOPICS[::-1][:9]), "lexical", LexicalMatcher, PRIOR_POLICY)
    assert calibrator.judged == 2


def test_the_factory_serves_the_calibrated_thresholds(tmp_path: Path) -> None:
    factory = MatcherFactory(MatcherChoice.LEXICAL, cache_dir=tmp_path, target_precision=0.9)
    kb = KnowledgeBase(root=tmp_path, articles=tuple(base()), problems=())

    matcher = factory(kb)

    thresholds = getattr(matcher, "calibrated", None)
    assert isinstance(thresholds, Thresholds)
    policy = measured_policy(matcher)
    assert thresholds.source == BASE
    assert (policy.answer_threshold, policy.suggest_threshold) == (
        thresholds.answer,
        thresholds.suggest,
    )
    assert thresholds.expected_precision is not None and thresholds.expected_precision >= 0.9


def test_the_refit_waits_for_enough_verdicts() -> None:
    current = Thresholds(0.9, 0.8, BASE, 0.95, 0.7)
    assert refit_from_verdicts([(0.95, True)] * 49, 0.95, current) is None


def test_the_refit_raises_the_threshold_when_real_answers_are_wrong_too_often() -> None:
    current = Thresholds(0.9, 0.8, BASE, 0.95, 0.7)
    verdicts = [(0.90 + i / 1000, i % 3 != 0) for i in range(50)]  # a third wrong below 0.95
    verdicts += [(0.95 + i / 1000, True) for i in range(40)]

    refit = refit_from_verdicts(verdicts, 0.95, current)

    assert refit is not None and refit.source == OUTCOMES
    assert refit.answer > 0.93
    assert refit.expected_precision is not None and refit.expected_precision >= 0.95
    assert refit.suggest == 0.8 and refit.expected_deflection is None


def test_the_refit_lowers_the_threshold_to_the_least_confident_right_answer() -> None:
    current = Thresholds(0.97, 0.9, BASE, 0.95, 0.6)
    verdicts = [(0.91 + i / 1000, True) for i in range(60)]

    refit = refit_from_verdicts(verdicts, 0.95, current)

    assert refit is not None
    assert refit.answer == pytest.approx(0.91)
    assert refit.suggest == pytest.approx(0.9)
