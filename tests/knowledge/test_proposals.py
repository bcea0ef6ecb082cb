"""Proposed articles from new-problem tickets: the grouping, and the file an admin publishes."""

from __future__ import annotations

import pytest

from knowledge.article import Severity
from knowledge.learning.proposals import (
    ProposalError,
    Resolved,
    article_id_for,
    article_text,
    find_proposal,
    propose,
)
from knowledge.parser import parse_article

BADGES = [
    Resolved(4, "kraken badge printer prints blank badges", "Reload the ribbon.", "facilities"),
    Resolved(7, "blank badges from the kraken badge printer", "Reload the ribbon.", "facilities"),
    Resolved(
        9, "the kraken badge printer: blank badges!", "Power-cycle it.", "facilities", Severity.HIGH
    ),
]
ESPRESSO = Resolved(5, "espresso machine shows error e42", "Descaled it.")


def test_tickets_of_one_problem_are_one_proposal_named_by_its_oldest_ticket() -> None:
    found = propose([BADGES[0], ESPRESSO, *BADGES[1:]])

    assert [(p.id, p.count) for p in found] == [(4, 3), (5, 1)]
    assert {t.ticket for t in found[0].tickets} == {4, 7, 9}
    assert "badge" in found[0].title.lower()
    assert find_proposal(found, 7) is found[0]  # a member's number finds it too
    with pytest.raises(ProposalError, match="no proposed article 6"):
        find_proposal(found, 6)


def test_the_article_has_the_reports_as_examples_and_the_notes_most_used_first() -> None:
    proposal = propose(BADGES)[0]

    text = article_text(proposal, article_id="blank-badges", title="Blank badges")

    article, problems = parse_article(text, "blank-badges.md", "blank-badges")
    assert problems == [] and article is not None
    assert (article.id, article.title, article.team) == (
        "blank-badges",
        "Blank badges",
        "facilities",
    )
    assert set(article.examples) == {" ".join(t.report.split()) for t in BADGES}
    assert article.body.index("Reload the ribbon.") < article.body.index("Power-cycle it.")
    assert article.severity is Severity.HIGH
    assert "#4, #7, #9" in text


def test_an_example_the_base_has_already_is_left_out() -> None:
    proposal = propose(BADGES)[0]

    text = article_text(
        proposal, article_id="b", title="B", taken=["Kraken badge printer  prints BLANK badges"]
    )

    article, _ = parse_article(text, "b.md", "b")
    assert article is not None and BADGES[0].report not in article.examples
    assert len(article.examples) == 2


def test_tickets_without_resolution_notes_make_no_article() -> None:
    silent = [Resolved(1, "the kraken hums", ""), Resolved(2, "kraken hums loudly", "  ")]

    with pytest.raises(ProposalError, match="no resolution notes"):
        article_text(propose(silent)[0], article_id="kraken", title="Kraken")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Blank badges from the printer!", "blank-badges-from-the-printer"),
        ("lost_luggage", "lost_luggage"),
    ],
)
def test_an_article_id_comes_from_the_title(title: str, expected: str) -> None:
    assert article_id_for(title) == expected


def test_a_title_without_letters_needs_an_id() -> None:
    with pytest.raises(ProposalError, match="--id"):
        article_id_for("!!!")
