"""Fuzzed knowledge-base files: problems with path:line, never a crashed load or reload, and
the last good version of an article keeps serving."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.index import LexicalMatcher
from knowledge.live import LiveKnowledge
from knowledge.parser import parse_article

GOOD = "---\ntitle: Printer jams\nid: printer\nexamples:\n  - the printer jams\n---\nOpen tray 2.\n"
FRONT_LINES = st.sampled_from(
    [
        "title: x",
        "title:",
        "id: a b",
        "examples: [a, b",
        "examples:\n  - {a: b}",
        "visibility: secret",
        "visibility: private",
        "action: maybe",
        "severity: [high]",
        "team: {x: 1}",
        "\t- tab",
        "&anchor a: *anchor",
        "!!python/object:os.system x",
        "? complex\n: key",
        "---",
        "...",
        "\x00",
        "\ufeff",
    ]
)
FILES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=400),
    st.builds(
        lambda lines, body: "---\n" + "\n".join(lines) + "\n---\n" + body,
        st.lists(FRONT_LINES, max_size=8),
        st.text(max_size=100),
    ),
)
QUICK = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@QUICK
@given(FILES)
def test_any_file_parses_to_an_article_or_located_problems(text: str) -> None:
    article, problems = parse_article(text, "fuzz.md", "fuzz")
    assert article is not None or any(p.level == "error" for p in problems)
    for problem in problems:
        assert problem.path == "fuzz.md" and problem.line >= 1 and problem.message


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(FILES)
def test_a_fuzzed_edit_never_crashes_a_reload_and_the_good_version_keeps_serving(
    tmp_path: Path, text: str
) -> None:
    root = tmp_path / "kb"
    root.mkdir(exist_ok=True)
    path = root / "printer.md"
    path.write_text(GOOD, encoding="utf-8")
    live = LiveKnowledge(root, lambda kb: LexicalMatcher(kb.articles))
    assert live.current.kb.by_id("printer") is not None

    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    os.utime(path, ns=(1, 1))  # a new mtime, so the reload reads it
    report = live.reload()

    served = live.current.kb.articles
    assert served, "the last good version stopped serving"
    for problem in report.problems:
        assert problem.path == "printer.md" and problem.line >= 1
