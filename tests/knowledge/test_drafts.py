"""Drafted articles pass `jethro kb lint` once moved in, whatever the reporter typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.article import Severity
from knowledge.drafts import DraftSource, drafts_folder, write_draft
from knowledge.lint import lint_kb
from knowledge.loader import load_kb

AWKWARD = [
    "printer: says 'PC LOAD LETTER' & won't print",
    "---\nkey: value\n- a list?",
    '"quoted" #hash [brackets] {braces} > quote',
    "é ünïcödé " + "very long words " * 20,
]


@pytest.mark.parametrize("report", AWKWARD)
def test_a_draft_of_any_report_is_a_clean_article(tmp_path: Path, report: str) -> None:
    kb = tmp_path / "kb"
    source = DraftSource(7, report, "1. Restart it.\n2. Try again.", "it", Severity.HIGH, "U0ENG")

    draft = write_draft(drafts_folder(kb, None), source)

    assert draft.parent == kb / "_drafts" and load_kb(kb).articles == ()
    draft.rename(kb / draft.name)
    assert lint_kb(kb) == []
    [article] = load_kb(kb).articles
    assert article.examples == (" ".join(report.split()),)
    assert (article.team, article.severity) == ("it", Severity.HIGH)
    assert article.body.startswith("1. Restart it.")


def test_a_configured_drafts_folder_wins(tmp_path: Path) -> None:
    assert drafts_folder(tmp_path / "kb", tmp_path / "elsewhere") == tmp_path / "elsewhere"
