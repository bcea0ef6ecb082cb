"""Once enough employees said Solved or Still broken on answers, the answer threshold is refit on
those verdicts: every replica decides with it, and the admin's App Home and `/metrics` say it
came from the outcomes."""

from __future__ import annotations

import json

from escalation.db import session
from escalation.lessons import verdict_pairs
from knowledge.triage import decide
from tests.bot.cli_driver import run_jethro
from tests.bot.test_metrics import scrape
from tests.scenarios.world import ADMIN, Employee, Jethro, buttons, wait_until

VERDICTS = 50  # `refit_from_verdicts`' min_verdicts
WRONG = 10  # the least confident answers, which the employees say did not help


def answered(jethro: Jethro) -> list[tuple[float, str, str]]:
    """(confidence, article id, text) of the sample base's own examples the bot answers now,
    least confident first: an article's own example is never vetoed by a counter-example."""
    matcher = jethro.knowledge.current.matcher
    policy = jethro.settings.policy(matcher)
    found = []
    for article in jethro.knowledge.current.kb.articles:
        for text in article.examples:
            decision = decide(text, matcher, policy)
            if decision.outcome.value == "answer" and decision.article is not None:
                found.append((decision.confidence, decision.article.id, text))
    return sorted(found)


def is_answered(jethro: Jethro, who: Employee, text: str) -> bool:
    reply = who.dm(text).last_reply()
    jethro.settle()
    return [b["action_id"] for b in buttons(reply)] == ["kb_solved", "kb_not_solved"]


def thresholds_metric(jethro: Jethro) -> dict[str, float]:
    _, samples = scrape(jethro)
    return {
        dict(labels)["source"]: value
        for (name, labels), value in samples.items()
        if name == "jethro_answer_threshold"
    }


def test_verdicts_refit_the_answer_threshold_on_every_replica(jethro: Jethro) -> None:
    other = Jethro(jethro.slack, jethro.settings.database_url, jethro.kb, clock=jethro.clock)
    try:
        before = thresholds_metric(jethro)
        assert list(before) == ["base"]
        plan = answered(jethro)
        probe = plan[0]  # the least confident answer of all, about an article nobody judges
        judged = [x for x in plan[1:] if x[1] != probe[1]][:VERDICTS]
        assert len(judged) == VERDICTS
        assert is_answered(jethro, Employee(jethro, "U0PROBE00", "D0PROBE00"), probe[2])

        for n, (_, _, text) in enumerate(judged):
            who = Employee(jethro, f"U0JUDGE{n:02d}", f"D0JUDGE{n:02d}")
            answer = who.dm(text).last_reply()
            who.click("kb_not_solved" if n < WRONG else "kb_solved", answer)
            jethro.settle()

        after = thresholds_metric(jethro)
        assert list(after) == ["outcomes"]
        refit = after["outcomes"]
        assert refit > before["base"]
        with session(jethro.engine) as db:
            pairs = verdict_pairs(db)
        assert len(pairs) == VERDICTS and sum(not right for _, right in pairs) == WRONG
        above = [right for confidence, right in pairs if confidence >= refit - 1e-4]
        assert len(above) >= 20 and sum(above) / len(above) >= jethro.settings.target_precision

        # the report answered before, below the refit threshold, is now handed to a person
        assert not is_answered(jethro, Employee(jethro, "U0PROBE01", "D0PROBE01"), probe[2])
        home = Employee(jethro, ADMIN, "D0ADMIN").opens_home()
        assert "from the outcomes" in str(home) and "refit on 50 verdicts" in str(home)

        # the commands an operator runs read the same verdicts from the database
        env = {"DATABASE_URL": jethro.settings.database_url, "JETHRO_MATCHER": "lexical"}
        queries = jethro.kb.parent / "queries.jsonl"
        queries.write_text(json.dumps({"text": probe[2], "label": probe[1]}) + "\n")
        run = run_jethro("kb", "eval", "--kb", str(jethro.kb), str(queries), "--json", env=env)
        assert run.code == 0, run.err
        shown = json.loads(run.out)
        assert (shown["thresholds"]["source"], shown["thresholds"]["answer"]) == (
            "outcomes",
            round(refit, 4),
        )
        assert shown["answered"] == 0  # the probe, as the bots decide it now
        doctor = run_jethro("doctor", "--kb", str(jethro.kb), env=env)
        assert "from the outcomes" in doctor.out and "refit on 50 verdicts" in doctor.out

        wait_until(lambda: list(thresholds_metric(other)) == ["outcomes"], "no refit elsewhere")
        assert thresholds_metric(other) == after
        assert not is_answered(other, Employee(other, "U0PROBE02", "D0PROBE02"), probe[2])
    finally:
        other.close()
