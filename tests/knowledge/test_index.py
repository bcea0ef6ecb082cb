"""The lexical matcher: what an employee's wording finds, and what its confidence claims."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.article import Article
from knowledge.decision import Candidate
from knowledge.evaluate import evaluate, read_queries
from knowledge.index import LexicalMatcher, Matcher
from knowledge.loader import load_kb
from knowledge.spelling import Spelling
from knowledge.terms import stem

VPN_DROPS = Article(
    id="vpn-drops",
    title="VPN keeps disconnecting",
    body="Quit GlobalProtect and start it again.",
    examples=("vpn drops every few minutes", "my vpn keeps kicking me off during calls"),
    keywords=("globalprotect",),
)
VPN_CONNECT = Article(
    id="vpn-connect",
    title="VPN won't connect",
    body="Check your password and the gateway.",
    examples=("globalprotect says gateway unreachable", "cannot connect to the vpn at all"),
)
PRINTER = Article(
    id="printer",
    title="Printer not printing",
    body="Add the printer again from the print server.",
    examples=("the printer on floor 3 is jammed", "my print job is stuck in the queue"),
)
PASSWORD = Article(
    id="password",
    title="Forgot my password",
    body="Reset it at the identity portal.",
    examples=("i forgot my password", "how do i reset my login password"),
)
BASE = (VPN_DROPS, VPN_CONNECT, PRINTER, PASSWORD)


def best(matcher: Matcher, text: str) -> str | None:
    ranked = matcher.rank(text)
    return ranked[0].article.id if ranked else None


def test_a_report_finds_the_article_that_describes_it() -> None:
    matcher = LexicalMatcher(BASE)

    assert best(matcher, "my vpn keeps dropping") == "vpn-drops"
    assert best(matcher, "printer is jammed again") == "printer"
    assert best(matcher, "forgot password") == "password"


def test_one_typo_per_word_still_finds_the_article() -> None:
    matcher = LexicalMatcher(BASE)

    assert best(matcher, "the prnter is jamed") == "printer"
    assert best(matcher, "globalprotcet keeps disconecting") == "vpn-drops"


def test_nonsense_finds_nothing() -> None:
    assert LexicalMatcher(BASE).rank("purple elephant banana") == []


def test_ranking_is_best_first_with_scores_between_0_and_1_and_respects_limit() -> None:
    ranked = LexicalMatcher(BASE).rank("my vpn password", limit=3)

    scores = [c.score for c in ranked]
    assert len(ranked) == 3
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < s <= 1.0 for s in scores)


def test_an_article_with_only_a_title_and_body_can_still_match() -> None:
    bare = Article(id="badge", title="Badge does not open the door", body="Visit reception.")
    matcher = LexicalMatcher((*BASE, bare))

    assert best(matcher, "my badge stopped opening the door") == "badge"


def test_confidence_is_high_for_a_clear_match_and_low_for_filler_words() -> None:
    matcher = LexicalMatcher(BASE)

    clear = matcher.confidence(matcher.rank("my vpn keeps kicking me off during calls"))
    vague = matcher.confidence(matcher.rank("the the the"))

    assert clear > 0.95
    assert vague < 0.5
    assert matcher.confidence([]) == 0.0


def test_confidence_grows_with_the_lead_over_the_next_article() -> None:
    matcher = LexicalMatcher(BASE)
    ranked = matcher.rank("vpn keeps dropping")
    tied = [ranked[0], Candidate(ranked[1].article, ranked[0].score)]

    assert matcher.confidence(tied) < matcher.confidence(ranked)


def test_an_empty_base_ranks_nothing() -> None:
    assert LexicalMatcher(()).rank("vpn") == []


def test_spelling_maps_an_unknown_word_to_the_most_common_word_one_edit_away() -> None:
    spelling = Spelling({"printer": 5, "pointer": 1, "vpn": 9, "keeps": 3})

    assert spelling.correct("printr") == "printer"  # deletion
    assert spelling.correct("priinter") == "printer"  # insertion
    assert spelling.correct("pronter") == "printer"  # substitution
    assert spelling.correct("kepes") == "keeps"  # swap
    assert spelling.correct("vnp") == "vnp"  # too short to guess
    assert spelling.correct("banana") == "banana"


def test_stemming_joins_the_forms_of_a_word() -> None:
    assert stem("dropping") == stem("drops") == stem("dropped") == stem("drop")
    assert stem("closing") == stem("closes") == stem("close")
    assert stem("batteries") == stem("battery")
    assert stem("status") == "status"
    assert stem("this") == "this"


SHARED = Path(__file__).resolve().parents[2].parent / "shared"


@pytest.mark.skipif(not (SHARED / "datasets/clinc150").is_dir(), reason="no ../shared datasets")
def test_the_standard_task_meets_the_targets_on_val(tmp_path: Path) -> None:
    """CLINC150, 10 examples per article: what `jethro kb eval` reports on the val split."""
    tool = SHARED / "tools/dataset_to_kb.py"
    dataset = SHARED / "datasets/clinc150"
    subprocess.run([sys.executable, tool, dataset, tmp_path, "--k", "10"], check=True)
    articles = load_kb(tmp_path / "kb").articles

    report = evaluate(
        articles, read_queries(tmp_path / "queries-val.jsonl"), LexicalMatcher(articles)
    )

    print(json.dumps(report.to_json()))
    numbers = {key: value for key, value in report.to_json().items() if isinstance(value, float)}
    assert numbers["top1_accuracy"] >= 0.75  # BM25 over examples: 0.71
    assert numbers["answered_precision"] >= 0.95
    assert numbers["oos_recall"] >= 0.95
    assert numbers["deflection"] >= 0.2  # BM25 over examples: 0.10
