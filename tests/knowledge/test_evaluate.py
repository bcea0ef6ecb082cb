"""`jethro kb eval`'s engine: numbers computed by hand on a tiny base, and query-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.article import Action, Article
from knowledge.evaluate import Query, QueryFileError, evaluate, read_queries
from knowledge.triage import TriagePolicy
from tests.knowledge.fixed_matcher import FixedMatcher


def article(id: str, action: Action = Action.ANSWER) -> Article:
    return Article(id=id, title=id.capitalize(), body="", action=action)


VPN, WIFI, PRINTER = article("vpn"), article("wifi"), article("printer")
OUTAGE = article("outage", Action.ESCALATE)
BASE = (VPN, WIFI, PRINTER, OUTAGE)
POLICY = TriagePolicy(answer_threshold=0.9, suggest_threshold=0.8)
MATCHER = FixedMatcher(
    {
        "vpn drops": [(VPN, 0.93)],  # answered right
        "wifi down": [(WIFI, 0.95)],  # answered right
        "wifi slow": [(WIFI, 0.95)],  # label vpn: answered wrong
        "network flaky": [(VPN, 0.9), (WIFI, 0.88), (PRINTER, 0.05)],  # suggests vpn, wifi
        "all flaky": [(VPN, 0.9), (WIFI, 0.88), (PRINTER, 0.05)],  # label printer: suggest miss
        "random chatter": [(VPN, 0.3), (WIFI, 0.29)],  # oos, escalated
        "vpn question": [(VPN, 0.92)],  # oos, answered: wrong
        "site is down": [(OUTAGE, 0.95)],  # escalated with its article
    }
)
QUERIES = [
    Query("vpn drops", "vpn"),
    Query("wifi down", "wifi"),
    Query("wifi slow", "vpn"),
    Query("network flaky", "wifi"),
    Query("all flaky", "printer"),
    Query("random chatter", "oos"),
    Query("vpn question", "oos"),
    Query("site is down", "outage"),
    Query(" ", "oos"),
]


def test_the_numbers_are_exactly_those_counted_by_hand() -> None:
    numbers = evaluate(BASE, QUERIES, MATCHER, POLICY).to_json()

    latency = {key: numbers.pop(key) for key in ("p50_ms", "p99_ms")}
    assert numbers == {
        "queries": 9,
        "in_scope": 6,
        "oos": 3,
        "top1_accuracy": 0.5,  # vpn drops, wifi down, site is down
        "answered": 4,
        "answered_precision": 0.5,  # vpn drops, wifi down
        "deflection": 0.3333,  # 2 of 6 in scope
        "oos_recall": 0.6667,  # random chatter and the blank one were not answered
        "suggest_hit": 0.5,  # network flaky held wifi; all flaky missed printer
        "suggested": 2,
        "escalated": 3,
        "matcher": "fixed",
    }
    assert all(isinstance(value, float) and value >= 0 for value in latency.values())


def test_rates_without_a_denominator_are_none_not_zero() -> None:
    numbers = evaluate(BASE, [Query("random chatter", "oos")], MATCHER, POLICY).to_json()

    assert numbers["top1_accuracy"] is None
    assert numbers["answered_precision"] is None
    assert numbers["oos_recall"] == 1.0


def test_the_text_report_shows_other_thresholds_confusions_and_worst_misses() -> None:
    text = evaluate(BASE, QUERIES, MATCHER, POLICY).to_text()
    lines = text.splitlines()

    assert "answered_precision  0.5" in lines
    row = next(line for line in lines if line.split()[:1] == ["0.95"])
    assert row.split() == ["0.95", "2", "0.5", "0.1667", "1.0"]  # wifi down, wifi slow
    assert "    1  vpn <- wifi" in lines
    assert "    1  printer <- vpn" in lines
    assert "  0.95  'wifi slow': answered wifi, right vpn" in lines
    assert "  0.92  'vpn question': answered vpn, right oos" in lines


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "queries.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_queries_reads_labelled_lines_and_skips_blank_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        json.dumps({"text": "vpn drops", "label": "vpn"}),
        "",
        json.dumps({"text": "hello there", "label": "oos"}),
    )

    queries = read_queries(path)

    assert [(q.text, q.label, q.line) for q in queries] == [
        ("vpn drops", "vpn", 1),
        ("hello there", "oos", 3),
    ]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"text": "vpn", "label": ', "not valid JSON"),
        ('["vpn", "vpn"]', 'expected an object {"text": ..., "label": ...}'),
        ('{"text": "vpn"}', '"label" must be a non-empty string'),
        ('{"text": 3, "label": "vpn"}', '"text" must be a non-empty string'),
    ],
)
def test_a_bad_line_is_reported_with_file_and_line(tmp_path: Path, bad: str, message: str) -> None:
    path = write(tmp_path, json.dumps({"text": "vpn drops", "label": "vpn"}), "", bad)

    with pytest.raises(QueryFileError) as error:
        read_queries(path)

    assert str(error.value).startswith(f"{path}:3: {message}")


def test_a_label_that_names_no_article_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"text": "vpn drops", "label": "vpm"}))

    with pytest.raises(QueryFileError, match=rf"^{path}:1: label 'vpm' is not an article id"):
        evaluate(BASE, read_queries(path), MATCHER, POLICY)
