"""`jethro kb gaps` and `jethro stats` as an admin runs them, on a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalation.clock import FixedClock
from escalation.db import make_engine, session, upgrade
from escalation.tickets import acknowledge, open_ticket, resolve
from tests.bot.cli_driver import run_jethro

REPORTS = [
    ("network", "the printer on floor 2 is jammed again"),
    ("network", "printer on floor 2 jammed, paper everywhere"),
    ("network", "floor 2 printer jammed"),
    ("facilities", "badge reader at the east door beeps red"),
    ("facilities", "my badge does not open the east door"),
    ("it", "the quantum flux capacitor hums"),
]


def database(tmp_path: Path) -> dict[str, str]:
    """Tickets opened an hour ago; the network ones acknowledged after 10 min, resolved after 40."""
    url = f"sqlite:///{tmp_path / 'jethro.db'}"
    engine = make_engine(url)
    upgrade(engine)
    start = datetime.now(UTC) - timedelta(hours=1)
    for team, text in REPORTS:
        clock = FixedClock(start)
        with session(engine) as db:
            ticket = open_ticket(
                db, reporter="U0REP", source="cli", text=text, decision=None, clock=clock, team=team
            )
            assert ticket.id is not None
            if team == "network":
                clock.advance(minutes=10)
                acknowledge(db, ticket.id, "U0ENG", clock)
                clock.advance(minutes=30)
                resolve(db, ticket.id, "U0ENG", "cleared it", clock)
    engine.dispose()
    return {"DATABASE_URL": url}


def test_gaps_lists_the_biggest_group_of_escalations_first(tmp_path: Path) -> None:
    env = database(tmp_path)

    done = run_jethro("kb", "gaps", "--since", "30d", env=env)

    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0].startswith("3 report(s) · ") and "printer" in lines[0]
    assert {line.split()[0] for line in lines[1:4]} == {"#1", "#2", "#3"}
    assert lines[4].startswith("2 report(s) · ") and "badge" in lines[4]
    assert "1 report(s)" in lines[7] and "quantum" in lines[8]


def test_gaps_with_nothing_escalated_says_so(tmp_path: Path) -> None:
    env = database(tmp_path)

    done = run_jethro("kb", "gaps", "--since", "1m", env=env)

    assert (done.code, done.out.strip()) == (0, "No escalated reports in the last 1m.")


def test_stats_shows_times_per_team(tmp_path: Path) -> None:
    env = database(tmp_path)

    text = run_jethro("stats", env=env)
    as_json = run_jethro("stats", "--since", "2d", "--json", env=env)

    assert text.code == 0, text.err
    assert "escalated   6" in text.out
    assert "network: 3 escalated, 0 not resolved" in text.out
    assert "median 10 min, p90 10 min (3 tickets)" in text.out
    assert "median 40 min, p90 40 min (3 tickets)" in text.out
    figures = json.loads(as_json.out)
    assert [team["team"] for team in figures["teams"]] == ["network", "facilities", "it"]
    assert figures["teams"][0]["time_to_resolve"]["median_seconds"] == 2400.0
    assert figures["teams"][1]["unresolved"] == 2


def test_a_bad_window_names_the_fix(tmp_path: Path) -> None:
    done = run_jethro("stats", "--since", "lately", env=database(tmp_path))

    assert done.code == 2 and "use e.g. 4h, 30m, 2d or 1h30m" in done.err
