"""`jethro kb replay` on a small base missing one problem: the simulated people teach it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bot.replay import replay
from knowledge.evaluate import read_queries
from tests.bot.cli_driver import run_jethro

HERE = Path(__file__).parent
KB = HERE / "kb"
STREAM = HERE / "stream.jsonl"
NEW = "wifi-login-page"
"""The stream's problem the base has no article for on day one."""
LEXICAL = {"JETHRO_MATCHER": "lexical"}


def test_the_new_problem_is_published_after_three_tickets_and_answered_from_then_on(
    tmp_path: Path,
) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(KB, kb)
    before = sorted(p.name for p in kb.rglob("*"))

    judged = replay(kb, read_queries(STREAM), environ=LEXICAL)

    new = [j for j in judged if j.label == NEW]
    published = next(n for n, j in enumerate(judged) if j.published)
    escalated_before = [j for j in judged[: published + 1] if j.label == NEW]
    assert all(j.escalated and j.answered is None for j in escalated_before)
    assert len(escalated_before) == 3  # the admin published once 3 tickets were resolved
    later = [j for j in judged[published + 1 :] if j.label == NEW]
    assert later and all(j.answered == NEW for j in later)
    assert sum(j.learned for j in judged) > 0
    assert sum(j.published for j in judged) == 1 == len({j.label for j in new if j.right})
    assert sorted(p.name for p in kb.rglob("*")) == before  # only the scratch copy learned


def test_the_command_prints_the_learning_curve_as_json_per_window(tmp_path: Path) -> None:
    operators = tmp_path / "jethro.db"
    env = {**LEXICAL, "DATABASE_URL": f"sqlite:///{operators}"}

    done = run_jethro(
        "kb", "replay", "--kb", str(KB), str(STREAM), "--window", "10", "--json", env=env
    )

    assert done.code == 0, done.err
    assert not operators.exists()  # the scratch database learned, not the operator's
    report = json.loads(done.out)
    first, second = report["windows"]
    keys = {
        "reports",
        "answered_precision",
        "deflection",
        "oos_recall",
        "escalated",
        "learned",
        "published",
    }
    assert keys <= set(first) and keys <= set(report["overall"])
    assert (first["reports"], second["reports"], report["overall"]["reports"]) == (10, 10, 20)
    assert second["deflection"] > first["deflection"]
    assert second["escalated"] < first["escalated"]
    assert report["overall"]["published"] == 1


def test_the_command_prints_a_line_per_window_and_overall() -> None:
    done = run_jethro("kb", "replay", "--kb", str(KB), str(STREAM), "--window", "7", env=LEXICAL)

    assert done.code == 0, done.err
    names = [line.split()[0] for line in done.out.splitlines()[1:]]
    assert names == ["1-7", "8-14", "15-20", "overall"]


def test_a_window_without_oos_reports_has_no_oos_recall(tmp_path: Path) -> None:
    stream = tmp_path / "known.jsonl"
    rows = [json.loads(line) for line in STREAM.read_text().splitlines()]
    stream.write_text("".join(json.dumps(r) + "\n" for r in rows if r["label"] != "oos"))

    done = run_jethro("kb", "replay", "--kb", str(KB), str(stream), "--json", env=LEXICAL)

    assert done.code == 0, done.err
    assert json.loads(done.out)["overall"]["oos_recall"] is None


def test_a_bad_stream_line_is_named_and_nothing_runs(tmp_path: Path) -> None:
    stream = tmp_path / "bad.jsonl"
    stream.write_text('{"text": "vpn drops", "label": "vpn-disconnects"}\n{"text": "no label"}\n')

    done = run_jethro("kb", "replay", "--kb", str(KB), str(stream), env=LEXICAL)

    assert done.code == 1
    assert f"{stream}:2:" in done.err and '"label"' in done.err
