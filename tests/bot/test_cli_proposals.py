"""`jethro kb proposals` and `jethro kb publish` as an admin runs them, on real databases: the
tickets engineers resolved as one new problem become an article the bot matches after reload."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.channel import EngineersChannel
from bot.config import load_settings
from bot.render import Renderer
from bot.runtime import matcher_builder
from escalation.clock import FixedClock
from escalation.db import session
from escalation.tickets import get_ticket, open_ticket
from knowledge.learning import NEW_PROBLEM
from knowledge.live import KnowledgeWatcher, LiveKnowledge
from knowledge.loader import sample_kb_path
from knowledge.triage import decide
from tests.bot.cli_driver import run_jethro
from tests.scenarios.world import wait_until

KRAKEN = (
    "the kraken badge printer spits out blank badges",
    "blank badges from the kraken badge printer",
    "kraken badge printer prints blank badges again",
)
ELSE = "the espresso machine in the lobby shows error e42"
FIX = "Reload the ribbon of the kraken badge printer: open the side door, clip the new ribbon in."


def resolve_all(engine: Engine, database_url: str) -> list[int]:
    """Tickets for the kraken reports and one other, resolved as new problems through the real
    engineers' channel, and one resolved naming an article (not a new problem)."""
    clock = FixedClock()
    settings = load_settings({}, database_url=database_url, escalation_channel="C0ENG")
    channel = EngineersChannel(
        engine=engine,
        renderer=Renderer(),
        settings=settings,
        clock=clock,
        kb_root=sample_kb_path(),
    )
    numbers = []
    for n, text in enumerate([*KRAKEN, ELSE, "my vpn drops"]):
        with session(engine) as db:
            ticket = open_ticket(
                db, reporter=f"U0REP{n}", source="slack-dm", text=text, decision=None, clock=clock
            )
        assert ticket.id is not None
        numbers.append(ticket.id)
        solved_by = "vpn-disconnects" if "vpn" in text else NEW_PROBLEM
        note = FIX if "kraken" in text else "Descaled it."
        assert channel.resolve(ticket.id, "U0ENG", note, teach=False, solved_by=solved_by) is None
    return numbers


def kb_copy(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(sample_kb_path(), kb)
    return kb


def test_tickets_of_one_new_problem_are_one_proposal(engine: Engine, database_url: str) -> None:
    numbers = resolve_all(engine, database_url)

    done = run_jethro("kb", "proposals", "--json", env={"DATABASE_URL": database_url})

    assert done.code == 0, done.err
    first, second = json.loads(done.out)["proposals"]
    assert (first["id"], first["count"]) == (numbers[0], 3)
    assert {t["ticket"] for t in first["tickets"]} == set(numbers[:3])
    assert {t["report"] for t in first["tickets"]} == set(KRAKEN)
    assert "kraken" in first["title"].lower()
    assert (second["count"], second["tickets"][0]["report"]) == (1, ELSE)


def test_a_published_proposal_is_a_clean_article_the_watcher_serves(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    numbers = resolve_all(engine, database_url)
    kb = kb_copy(tmp_path)
    env = {"DATABASE_URL": database_url, "JETHRO_MATCHER": "lexical"}
    settings = load_settings(env)
    knowledge = LiveKnowledge(kb, matcher_builder(settings))
    watcher = KnowledgeWatcher(knowledge, poll_seconds=0.05)
    report = "kraken badge printer gives blank badges"
    assert decide(report, knowledge.current.matcher).article is None
    watcher.start()
    try:
        done = run_jethro(
            "kb", "publish", str(numbers[1]), "--kb", str(kb), "--title", "Blank badges", env=env
        )

        assert done.code == 0, done.err
        wait_until(lambda: knowledge.current.kb.by_id("blank-badges"), "the watcher's reload")
    finally:
        watcher.stop()
    written = kb / "blank-badges.md"
    assert str(written.name) in done.out
    text = written.read_text()
    assert all(f"- {line}" in text for line in KRAKEN) and FIX in text
    lint = run_jethro("kb", "lint", "--strict", str(kb), env=env)
    assert lint.code == 0, lint.out + lint.err
    matcher = knowledge.current.matcher
    decision = decide(report, matcher, settings.policy(matcher))
    assert decision.candidates[0].article.id == "blank-badges"
    assert decision.candidates[0].article.title == "Blank badges"
    with session(engine) as db:
        assert {get_ticket(db, n).solved_by for n in numbers[:3]} == {"blank-badges"}
    left = run_jethro("kb", "proposals", "--json", env=env)
    assert [p["count"] for p in json.loads(left.out)["proposals"]] == [1]


@pytest.mark.parametrize(
    ("proposal", "extra", "error"),
    [
        (999, [], "no proposed article 999"),
        (None, ["--id", "vpn-disconnects"], "'vpn-disconnects' exists already"),
        (None, ["--id", "../outside"], "'../outside' cannot be an article id"),
    ],
)
def test_publishing_what_cannot_be_published_says_why_and_writes_nothing(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    proposal: int | None,
    extra: list[str],
    error: str,
) -> None:
    numbers = resolve_all(engine, database_url)
    kb = kb_copy(tmp_path)
    before = sorted(kb.rglob("*"))
    env = {"DATABASE_URL": database_url}

    wanted = str(numbers[0] if proposal is None else proposal)
    done = run_jethro("kb", "publish", wanted, "--kb", str(kb), *extra, env=env)

    assert done.code == 1
    assert error in done.err
    assert sorted(kb.rglob("*")) == before
    assert sorted(tmp_path.glob("*.md")) == []
    assert (
        json.loads(run_jethro("kb", "proposals", "--json", env=env).out)["proposals"][0]["count"]
        == 3
    )


def test_no_proposals_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jethro.db'}"

    done = run_jethro("kb", "proposals", env={"DATABASE_URL": url})

    assert done.code == 0, done.err
    assert "No proposals" in done.out
