"""The triage decision: answer, suggest or escalate, and the reason given."""

from __future__ import annotations

from dataclasses import replace

import pytest

from knowledge.article import Action, Article, Severity
from knowledge.decision import Outcome
from knowledge.index import LexicalMatcher
from knowledge.loader import load_kb, sample_kb_path
from knowledge.triage import TriagePolicy, decide
from tests.knowledge.fixed_matcher import FixedMatcher


def article(id: str, action: Action = Action.ANSWER) -> Article:
    return Article(id=id, title=id.replace("-", " ").capitalize(), body="", action=action)


VPN, WIFI, PRINTER, FILLER = article("vpn"), article("wifi"), article("printer"), article("filler")
OUTAGE = Article(
    id="outage",
    title="Production outage",
    body="",
    action=Action.ESCALATE,
    severity=Severity.CRITICAL,
    team="sre",
)
POLICY = TriagePolicy(answer_threshold=0.9, suggest_threshold=0.8, suggest_max=3)
MATCHER = FixedMatcher(
    {
        "vpn drops": [(VPN, 0.95), (WIFI, 0.02)],
        "network flaky": [(VPN, 0.9), (WIFI, 0.88), (FILLER, 0.05)],
        "everything flaky": [(VPN, 0.9), (WIFI, 0.89), (PRINTER, 0.88), (FILLER, 0.01)],
        "something odd": [(VPN, 0.3), (WIFI, 0.29), (PRINTER, 0.28), (FILLER, 0.27)],
        "site is down": [(OUTAGE, 0.95), (VPN, 0.05)],
        "site maybe down": [(OUTAGE, 0.5), (VPN, 0.45), (WIFI, 0.44), (FILLER, 0.43)],
    }
)


def test_a_confident_match_is_answered_with_its_article() -> None:
    decision = decide("vpn drops", MATCHER, POLICY)

    assert decision.outcome is Outcome.ANSWER
    assert decision.article == VPN
    assert decision.confidence == pytest.approx(0.93)
    assert decision.reason == "matched 'Vpn' with confidence 93%"
    assert decision.candidates[0].confidence == decision.confidence


def test_a_near_tie_suggests_the_tied_articles() -> None:
    decision = decide("network flaky", MATCHER, POLICY)

    assert decision.outcome is Outcome.SUGGEST
    assert decision.article is None
    assert [c.article for c in decision.candidates] == [VPN, WIFI]
    assert decision.reason == (
        "unsure between 'Vpn' and 'Wifi' (confidence 2% in the first alone, "
        "85% that it is one of them)"
    )


def test_a_three_way_tie_suggests_three_articles() -> None:
    decision = decide("everything flaky", MATCHER, POLICY)

    assert decision.outcome is Outcome.SUGGEST
    assert [c.article for c in decision.candidates] == [VPN, WIFI, PRINTER]
    assert "'Vpn', 'Wifi' and 'Printer'" in decision.reason


def test_a_tie_too_wide_to_shortlist_escalates() -> None:
    assert decide("everything flaky", MATCHER, TriagePolicy(0.9, 0.8, suggest_max=2)).outcome is (
        Outcome.ESCALATE
    )


def test_a_weak_match_escalates_without_an_article() -> None:
    decision = decide("something odd", MATCHER, POLICY)

    assert decision.outcome is Outcome.ESCALATE
    assert decision.article is None
    assert decision.reason == (
        "no article fits well enough (the closest, 'Vpn', has confidence 1%; answering needs 90%)"
    )
    assert len(decision.candidates) == 4
    # The one number shown with the articles is the reason's, on the best article only.
    assert [c.get("confidence") for c in decision.to_json()["candidates"]] == [
        pytest.approx(decision.confidence, abs=1e-4),
        None,
        None,
        None,
    ]


def test_an_escalate_article_escalates_even_when_sure_and_carries_the_article() -> None:
    decision = decide("site is down", MATCHER, POLICY)

    assert decision.outcome is Outcome.ESCALATE
    assert decision.article == OUTAGE
    assert decision.reason == (
        "matched 'Production outage' with confidence 90%, an article that always goes to on-call"
    )


def test_an_unsure_escalate_article_is_never_answered() -> None:
    decision = decide("site maybe down", MATCHER, POLICY)

    assert decision.outcome is Outcome.ESCALATE
    assert decision.article is None


def test_an_escalate_article_routes_at_its_own_threshold_below_the_suggest_one() -> None:
    routing = TriagePolicy(answer_threshold=0.95, suggest_threshold=0.95, escalate_threshold=0.8)

    decision = decide("site is down", MATCHER, routing)

    assert decision.outcome is Outcome.ESCALATE
    assert decision.article == OUTAGE  # carries its team and severity to on-call
    unrouted = decide("site is down", MATCHER, replace(routing, escalate_threshold=None))
    assert unrouted.article is None


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_text_escalates_with_a_clear_reason(text: str) -> None:
    decision = decide(text, MATCHER, POLICY)

    assert decision.outcome is Outcome.ESCALATE
    assert decision.reason == "the report is empty"
    assert decision.candidates == ()


def test_text_no_article_shares_escalates() -> None:
    decision = decide("unheard of", MATCHER, POLICY)

    assert (decision.outcome, decision.reason) == (
        Outcome.ESCALATE,
        "no article shares any words with it",
    )


@pytest.mark.parametrize(
    "policy",
    [{"answer_threshold": 1.5}, {"suggest_threshold": -0.1}, {"suggest_max": 1}],
)
def test_a_policy_out_of_range_is_refused(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TriagePolicy(**policy)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sample() -> LexicalMatcher:
    return LexicalMatcher(load_kb(sample_kb_path()).articles)


def test_the_sample_base_answers_a_vpn_report(sample: LexicalMatcher) -> None:
    decision = decide("my vpn keeps dropping", sample)

    assert decision.outcome is Outcome.ANSWER
    assert decision.article is not None and decision.article.id == "vpn-disconnects"


def test_the_sample_base_escalates_nonsense(sample: LexicalMatcher) -> None:
    assert decide("purple elephant banana", sample).outcome is Outcome.ESCALATE


def test_the_sample_base_suggests_both_vpn_articles_for_a_bare_vpn(sample: LexicalMatcher) -> None:
    decision = decide("vpn", sample)

    assert decision.outcome is Outcome.SUGGEST
    assert {c.article.id for c in decision.candidates} == {"vpn-cannot-connect", "vpn-disconnects"}


def test_the_sample_base_escalates_an_outage_to_its_team(sample: LexicalMatcher) -> None:
    decision = decide("the website is down for everyone", sample)

    assert decision.outcome is Outcome.ESCALATE
    assert decision.article is not None and decision.article.action is Action.ESCALATE
