"""`jethro kb learned list / remove / export` on what a running bot learned, through the real
command on the bot's own database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.learning import LearningMatcher
from knowledge.loader import load_kb
from tests.bot.cli_driver import run_jethro
from tests.scenarios.test_learning import LATER, TAUGHT, VPN, answered_with, escalate, person
from tests.scenarios.world import Engineers, Jethro, copy_of_sample_kb, wait_until

ASKED = "kraken update broke my vpn"


def env(jethro: Jethro) -> dict[str, str]:
    return {
        "DATABASE_URL": jethro.settings.database_url,
        "JETHRO_MATCHER": "lexical",
        "JETHRO_KB_DIR": str(jethro.kb),
    }


def learned_list(jethro: Jethro) -> list[dict[str, object]]:
    run = run_jethro("kb", "learned", "list", "--json", env=env(jethro))
    assert run.code == 0, run.err
    return [json.loads(line) for line in run.out.splitlines()]


def held(jethro: Jethro) -> int:
    """How many lessons the running bot holds (pulled from the database)."""
    matcher = jethro.knowledge.current.matcher
    assert isinstance(matcher, LearningMatcher)
    return len(matcher.lessons)


def engineer_teaches(jethro: Jethro, engineers: Engineers) -> None:
    [engineer] = engineers.on_duty("U0ENGINEER")
    ticket = escalate(jethro, person(jethro, 1), engineers, 1)
    engineer.resolve(ticket, "Reinstalled the VPN client after the update.", solved_by=VPN)
    jethro.settle()


def test_admins_list_what_was_learned_with_who_when_and_which_ticket_and_remove_it(
    jethro: Jethro, engineers: Engineers
) -> None:
    engineer_teaches(jethro, engineers)
    assert answered_with(jethro, person(jethro, 2), ASKED) == VPN

    [lesson, outcome] = sorted(learned_list(jethro), key=lambda x: x["source"] == "outcome")
    assert (lesson["kind"], lesson["article"], lesson["source"]) == ("example", VPN, "engineer")
    assert lesson["teacher"] == "U0ENGINEER" and lesson["text"] == LATER
    assert lesson["ticket"] == jethro.tickets()[0].id and lesson["conversation"]
    assert str(lesson["created_at"]).startswith(f"{jethro.clock.now():%Y-%m-%d}")
    assert lesson["counts"] is True  # an engineer's word counts at once
    shown = run_jethro("kb", "learned", "list", env=env(jethro)).out
    assert f"#{lesson['id']} example of {VPN} · engineer by U0ENGINEER" in shown
    assert " · counts · " in shown
    assert f"ticket #{lesson['ticket']}" in shown
    # the would-be verdict on the report's top candidate is listed too, and teaches nothing
    assert (outcome["source"], outcome["teacher"], outcome["counts"]) == (
        "outcome",
        "U0ENGINEER",
        False,
    )
    assert f"#{outcome['id']} " in shown and "for the threshold refit only" in shown

    removed = run_jethro("kb", "learned", "remove", str(lesson["id"]), env=env(jethro))
    assert removed.code == 0, removed.err
    # the bot is another process: it drops the lesson at its next sync, and decides as before
    wait_until(lambda: held(jethro) == 1, "the bot still holds the removed lesson")
    assert answered_with(jethro, person(jethro, 3), ASKED) is None
    assert learned_list(jethro) == [outcome]

    again = run_jethro("kb", "learned", "remove", str(lesson["id"]), env=env(jethro))
    assert again.code == 1 and f"no learned lesson #{lesson['id']}" in again.err


def test_export_writes_the_examples_that_count_into_the_articles_markdown_once(
    jethro: Jethro, engineers: Engineers, tmp_path: Path
) -> None:
    alone = person(jethro, 5)  # one person's pick: stored, but it does not count yet
    reply = alone.dm(TAUGHT[0]).last_reply()
    alone.click("kb_pick", reply, value="vpn-cannot-connect")
    jethro.settle()
    engineer_teaches(jethro, engineers)
    counts = {
        (x["source"], x["teacher"]): x["counts"]
        for x in learned_list(jethro)
        if x["source"] != "outcome"  # would-be verdicts, which only the threshold refit reads
    }
    assert counts == {("pick", "U0PERSON05"): False, ("engineer", "U0ENGINEER"): True}
    review = copy_of_sample_kb(tmp_path / "review")
    lint_before = run_jethro("kb", "lint", str(review), env=env(jethro))
    before = {p.name: p.read_text() for p in review.rglob("*.md")}

    run = run_jethro("kb", "learned", "export", str(review), env=env(jethro))

    assert run.code == 0, run.err
    assert "network/vpn-disconnects.md: 1 example(s) added" in run.out
    assert "1 example(s) written to 1 file(s); 1 learned example(s) not counting yet" in run.err
    changed = {p.name for p in review.rglob("*.md") if p.read_text() != before[p.name]}
    assert changed == {"vpn-disconnects.md"}
    article = load_kb(review).by_id(VPN)
    assert article is not None and article.examples[-1] == LATER
    assert TAUGHT[0] not in (load_kb(review).by_id("vpn-cannot-connect") or article).examples
    lint_after = run_jethro("kb", "lint", str(review), env=env(jethro))
    assert (lint_after.code, lint_after.out) == (lint_before.code, lint_before.out)

    exported = (review / "network" / "vpn-disconnects.md").read_text()
    twice = run_jethro("kb", "learned", "export", str(review), env=env(jethro))
    assert twice.code == 0 and "0 example(s) written to 0 file(s)" in twice.err
    assert (review / "network" / "vpn-disconnects.md").read_text() == exported
