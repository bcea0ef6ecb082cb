"""Which would-be verdicts (outcomes of reports not answered) the answer threshold's refit reads."""

from __future__ import annotations

from datetime import UTC, datetime

from knowledge.calibration import Thresholds, refit_from_verdicts
from knowledge.calibration.thresholds import BASE
from knowledge.learning import Lesson, LessonKind, LessonSource
from knowledge.learning.matcher import would_be_verdicts

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def lesson(
    id: int,
    source: LessonSource,
    kind: LessonKind = LessonKind.EXAMPLE,
    *,
    article: str = "vpn",
    conversation: str | None = None,
    ticket: int | None = None,
    confidence: float | None = 0.9,
) -> Lesson:
    return Lesson(
        id, kind, article, source, "U1", "my vpn drops", WHEN, conversation, ticket, confidence
    )


def test_an_engineers_outcome_counts_at_once_and_wins_over_the_pick() -> None:
    held = {
        1: lesson(1, LessonSource.PICK, conversation="c1"),
        2: lesson(2, LessonSource.OUTCOME, conversation="c1", confidence=0.91),
        3: lesson(3, LessonSource.OUTCOME, LessonKind.COUNTER, conversation="c1", ticket=7),
    }
    assert would_be_verdicts(held, frozenset({1})) == [(0.9, False)]


def test_a_picks_right_outcome_waits_for_its_example_to_count_but_a_wrong_one_does_not() -> None:
    held = {
        1: lesson(1, LessonSource.PICK, conversation="c1"),
        2: lesson(2, LessonSource.OUTCOME, conversation="c1", confidence=0.91),
        3: lesson(3, LessonSource.PICK, article="wifi", conversation="c2"),
        4: lesson(4, LessonSource.OUTCOME, LessonKind.COUNTER, conversation="c2", confidence=0.8),
    }
    assert would_be_verdicts(held, frozenset()) == [(0.8, False)]
    assert would_be_verdicts(held, frozenset({1})) == [(0.91, True), (0.8, False)]


def test_articles_always_escalated_and_other_lessons_say_nothing() -> None:
    held = {
        1: lesson(1, LessonSource.OUTCOME, article="outage", conversation="c1", ticket=1),
        2: lesson(2, LessonSource.VERDICT, conversation="c2"),
        3: lesson(3, LessonSource.ENGINEER, conversation="c3", ticket=2),
    }
    assert would_be_verdicts(held, frozenset({3}), frozenset({"outage"})) == []


def test_outcomes_below_the_threshold_lower_it_only_as_far_as_the_target_holds() -> None:
    current = Thresholds(0.97, 0.95, BASE, 0.95, 0.6)
    answers = [(0.97 + i / 2000, True) for i in range(40)]
    below = [(0.90 + i / 1000, True) for i in range(30)]  # right: the top candidate solved it
    wrong = [(0.80 + i / 1000, i % 2 == 0) for i in range(30)]  # half wrong lower down
    under_even = [(0.3, True)] * 300  # never answered: below an even chance

    refit = refit_from_verdicts([*answers, *below, *wrong, *under_even], 0.95, current)

    assert refit is not None and 0.80 < refit.answer < 0.90
    assert refit.suggest == refit.answer
    assert refit.expected_precision is not None and refit.expected_precision >= 0.95
