"""The `jethro` command as a user runs it: a real subprocess, real files, a real database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.bot.cli_driver import run_jethro

VPN = """---
title: VPN keeps disconnecting
id: vpn
examples:
  - vpn drops every few minutes
  - cant stay connected to globalprotect from home
keywords: [vpn, globalprotect]
team: network
---
Quit the VPN client and start it again.
"""

PRINTER = """---
title: Printer is jammed
examples:
  - paper stuck in the printer
  - printer says paper jam
---
Open tray 2 and pull the sheet out gently.
"""


@pytest.fixture
def tiny_kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "vpn.md").write_text(VPN)
    (root / "printer.md").write_text(PRINTER)
    return root


def test_ask_answers_a_known_problem_from_the_sample_base() -> None:
    run = run_jethro("ask", "my vpn keeps dropping", "--json")
    assert run.code == 0, run.err
    decision = json.loads(run.out)
    assert decision["outcome"] == "answer"
    assert decision["article"] == {"id": "vpn-disconnects", "title": "VPN keeps disconnecting"}
    assert decision["candidates"][0]["id"] == "vpn-disconnects"
    assert set(decision["candidates"][0]) == {"id", "title", "score", "confidence"}
    assert decision["candidates"][0]["confidence"] == decision["confidence"]
    assert set(decision["candidates"][1]) == {"id", "title", "score"}
    assert 0.0 <= decision["confidence"] <= 1.0


def test_ask_escalates_nonsense() -> None:
    run = run_jethro("ask", "purple elephant banana", "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["outcome"] == "escalate"


def test_ask_prints_the_resolution_for_people(tiny_kb: Path) -> None:
    run = run_jethro("ask", "paper jam in the printer", "--kb", str(tiny_kb))
    assert run.code == 0, run.err
    assert run.out.startswith("ANSWER")
    assert "Open tray 2" in run.out


def test_help_lists_every_command() -> None:
    run = run_jethro("--help")
    for command in ("ask", "shell", "kb", "tickets", "db", "config", "doctor"):
        assert f"  {command} " in run.out
    kb_help = run_jethro("kb", "--help").out
    assert "lint" in kb_help and "eval" in kb_help


def test_lint_reports_path_and_line_and_fails(tiny_kb: Path) -> None:
    (tiny_kb / "broken.md").write_text("---\ntitle: Broken\naction: explode\n---\nbody\n")
    run = run_jethro("kb", "lint", str(tiny_kb))
    assert run.code == 1
    assert f"{tiny_kb / 'broken.md'}:3: " in run.out
    assert "explode" in run.out


def test_lint_passes_the_sample_base() -> None:
    run = run_jethro("kb", "lint", "--strict")
    assert run.code == 0, run.out + run.err
    assert "0 error(s), 0 warning(s)" in run.err


def test_lint_of_an_empty_folder_fails(tmp_path: Path) -> None:
    run = run_jethro("kb", "lint", str(tmp_path))
    assert run.code == 1
    assert "no articles" in run.err


def test_eval_prints_the_documented_json(tiny_kb: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    lines = [
        {"text": "vpn drops every few minutes", "label": "vpn"},
        {"text": "printer says paper jam", "label": "printer"},
        {"text": "what is the capital of peru", "label": "oos"},
    ]
    queries.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = run_jethro("kb", "eval", "--kb", str(tiny_kb), str(queries), "--json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert {
        "queries",
        "in_scope",
        "oos",
        "top1_accuracy",
        "answered",
        "answered_precision",
        "deflection",
        "oos_recall",
        "suggest_hit",
        "p50_ms",
        "p99_ms",
    } <= set(report)
    assert (report["queries"], report["in_scope"], report["oos"]) == (3, 2, 1)
    assert report["top1_accuracy"] == 1.0
    thresholds = report["thresholds"]
    assert set(thresholds) >= {"answer", "suggest", "source", "expected_precision"}
    assert thresholds["source"] == "prior" and "too small" in thresholds["note"]


def test_an_operators_threshold_wins_over_the_calibration(tiny_kb: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps({"text": "vpn drops", "label": "vpn"}) + "\n")
    env = {"JETHRO_ANSWER_THRESHOLD": "0.9", "JETHRO_SUGGEST_THRESHOLD": "0.8"}
    run = run_jethro("kb", "eval", "--kb", str(tiny_kb), str(queries), "--json", env=env)
    assert run.code == 0, run.err
    thresholds = json.loads(run.out)["thresholds"]
    assert (thresholds["answer"], thresholds["suggest"], thresholds["source"]) == (
        0.9,
        0.8,
        "setting",
    )


def test_eval_names_the_bad_line(tiny_kb: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"text": "vpn", "label": "vpn"}\nnot json\n')
    run = run_jethro("kb", "eval", "--kb", str(tiny_kb), str(queries))
    assert run.code != 0
    assert f"{queries}:2" in run.err


def test_a_bad_setting_stops_with_the_fix() -> None:
    run = run_jethro("ask", "vpn", env={"JETHRO_ANSWER_THRESHOLD": "high"})
    assert run.code == 2
    assert "JETHRO_ANSWER_THRESHOLD='high' is invalid" in run.err
    assert "between 0 and 1" in run.err


def test_shell_conversation_opens_tickets_that_persist(database_url: str, tiny_kb: Path) -> None:
    env = {"DATABASE_URL": database_url, "JETHRO_KB_DIR": str(tiny_kb)}
    typed = "\n".join(
        [
            "paper stuck in the printer",
            "y",  # the answer solved it: no ticket
            "vpn drops every few minutes",
            "n",  # still broken: a ticket for the network team
            "the coffee machine on floor 3 is leaking",  # unknown: a ticket
            "",
        ]
    )
    run = run_jethro("shell", "--user", "alice", stdin=typed + "\n", env=env)
    assert run.code == 0, run.err
    assert "Open tray 2" in run.out
    assert "glad that fixed it" in run.out
    assert "ticket #1" in run.out and "ticket #2" in run.out
    assert "The engineers' channel receives" in run.out

    listed = run_jethro("tickets", "list", env=env)
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[0].startswith("#2") and "coffee machine" in lines[0]
    assert lines[1].startswith("#1") and "network" in lines[1] and "alice" in lines[1]

    shown = run_jethro("tickets", "show", "1", env=env)
    assert shown.code == 0, shown.err
    assert "did not solve it" in shown.out
    assert "vpn" in shown.out and "opened" in shown.out

    missing = run_jethro("tickets", "show", "99", env=env)
    assert missing.code == 1
    assert "no ticket #99" in missing.err


def test_shell_takes_a_sentence_after_an_answer_as_more_detail(
    database_url: str, tiny_kb: Path
) -> None:
    env = {"DATABASE_URL": database_url, "JETHRO_KB_DIR": str(tiny_kb)}
    typed = "\n".join(
        [
            "vpn drops every few minutes",
            "I restarted it twice and it happens on the office wifi too",  # a follow-up, not Y/n
            "still broken",
            "",
        ]
    )
    run = run_jethro("shell", "--user", "alice", stdin=typed + "\n", env=env)
    assert run.code == 0, run.err
    assert "invalid input" not in run.out + run.err
    assert "Noted." in run.out
    assert "ticket #1" in run.out

    shown = run_jethro("tickets", "show", "1", env=env)
    assert "happens on the office wifi too" in shown.out  # the engineer gets what was added


def test_an_escalation_shows_one_confidence_wherever_it_is_explained(
    database_url: str, tiny_kb: Path
) -> None:
    env = {"DATABASE_URL": database_url, "JETHRO_KB_DIR": str(tiny_kb)}
    run = run_jethro(
        "shell", "--user", "alice", stdin="the coffee machine on floor 3 is leaking\n\n", env=env
    )
    assert run.code == 0, run.err
    why = next(line for line in run.out.splitlines() if line.startswith("│ Why:"))
    considered = next(line for line in run.out.splitlines() if "Bot considered:" in line)
    assert re.findall(r"confidence \d+%", why) == re.findall(r"confidence \d+%", considered)
    assert len(re.findall(r"confidence \d+%", considered)) == 1


def test_db_upgrade_is_repeatable(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    assert run_jethro("db", "upgrade", env=env).code == 0
    again = run_jethro("db", "upgrade", env=env)
    assert again.code == 0, again.err
    assert "up to date" in again.out


def test_config_hides_database_password() -> None:
    run = run_jethro("config", env={"DATABASE_URL": "postgresql+psycopg://bob:s3cret@db/jethro"})
    assert run.code == 0, run.err
    assert "s3cret" not in run.out
    assert "DATABASE_URL=postgresql+psycopg://bob:***@db/jethro" in run.out


def test_readme_documents_every_setting() -> None:
    from bot.config import settings_markdown

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert settings_markdown() in readme, "run `jethro config --markdown` into README.md"


def test_a_missing_embedding_model_is_a_clear_error(tmp_path: Path) -> None:
    run = run_jethro(
        "ask", "vpn", env={"JETHRO_MATCHER": "auto", "JETHRO_EMBEDDING_MODEL": str(tmp_path)}
    )
    assert run.code == 2
    assert "JETHRO_EMBEDDING_MODEL" in run.err
    assert "Traceback" not in run.err


def test_shell_says_where_a_private_answer_goes_and_takes_any_text(
    database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "JETHRO_MATCHER": "lexical"}
    typed = "\n".join(
        ["wrong amount on my payslip", "y", "the flux capacitor \x1b[31mhums\x00 loudly", ""]
    )
    run = run_jethro("shell", "--user", "alice", stdin=typed + "\n", env=env)
    assert run.code == 0, run.err
    assert "A private article: asked in a Slack channel, this answer goes to your direct" in (
        run.out
    )
    assert "the flux capacitor \\u001b[31mhums\\u0000 loudly" in run.out
    assert "\x1b" not in run.out
