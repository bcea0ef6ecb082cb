"""Replies in a report's thread: only clear verdicts count, and "still broken" always wins."""

from __future__ import annotations

import pytest

from bot.intent import Intent, asks_for_help, is_courtesy, reply_intent


@pytest.mark.parametrize(
    "text",
    [
        "Still broken",
        "still not working after a reboot",
        "it didn\u2019t help",
        "nope",
        "same error as before",
        "thanks, but it's broken again",
        "can I talk to a human?",
    ],
)
def test_still_broken_in_any_words_escalates(text: str) -> None:
    assert reply_intent(text) is Intent.NOT_SOLVED


@pytest.mark.parametrize("text", ["That worked, thanks!", "works now", "fixed it", "all good"])
def test_a_short_it_worked_is_solved(text: str) -> None:
    assert reply_intent(text) is Intent.SOLVED


@pytest.mark.parametrize(
    "text",
    [
        "thanks",  # said before trying the steps, as often as after
        "it only happens on the office wifi",
        "it worked yesterday morning but since the update this afternoon it fails every time",
    ],
)
def test_anything_else_is_more_detail(text: str) -> None:
    assert reply_intent(text) is Intent.DETAIL


@pytest.mark.parametrize("text", ["", "hi!", "Hello", "help", "?", "good morning"])
def test_greetings_and_help_are_not_reports(text: str) -> None:
    assert asks_for_help(text)


def test_a_problem_mentioning_help_is_a_report() -> None:
    assert not asks_for_help("help, my vpn is down")


@pytest.mark.parametrize("text", ["thanks", "Thank you so much!", "ok :+1:", "cool, thx", "great"])
def test_a_bare_thanks_or_ok_is_a_courtesy(text: str) -> None:
    assert is_courtesy(text)


@pytest.mark.parametrize("text", ["", "thanks, my vpn is down", "ok so the printer jams", ":fire:"])
def test_words_about_a_problem_are_not_a_courtesy(text: str) -> None:
    assert not is_courtesy(text)
