"""`jethro oncall` as an admin runs it: a real subprocess, real files, a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.cli_driver import run_jethro

SCHEDULE = """\
timezone: Europe/Berlin
teams:
  network:
    layers:
      primary:
        members: [U0NET001, U0NET002]
        rotation: daily
        handoff: "09:00"
        start: 2026-03-01
      secondary:
        members: [U0NET003]
        rotation: weekly
        handoff: "Mon 09:00"
        start: 2026-03-02
  sre:
    timezone: America/New_York
    layers:
      primary:
        members: [U0SRE001, U0SRE002]
        rotation: daily
        handoff: "10:00"
        start: 2026-03-01
"""


def squeezed(line: str) -> str:
    """The words of a line, without the columns' padding."""
    return " ".join(line.split())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "oncall.yaml"
    path.write_text(SCHEDULE)
    return {"JETHRO_ONCALL_FILE": str(path), "DATABASE_URL": f"sqlite:///{tmp_path / 'j.db'}"}


def test_show_says_who_is_on_call_until_when_in_local_time_and_who_is_next(
    env: dict[str, str],
) -> None:
    # The spring-forward night in Berlin: the shift that began at 09:00 CET ends at 09:00 CEST.
    run = run_jethro("oncall", "show", "--at", "2026-03-29T03:30", env=env)

    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "network (Europe/Berlin) at Sun 2026-03-29 03:30 CEST"
    assert squeezed(lines[1]) == "primary now U0NET002 until Sun 2026-03-29 09:00 CEST"
    assert (
        squeezed(lines[2])
        == "next U0NET001 from Sun 2026-03-29 09:00 CEST until Mon 2026-03-30 09:00 CEST"
    )
    assert lines[3].split()[:3] == ["secondary", "now", "U0NET003"]
    assert lines[5] == "sre (America/New_York) at Sat 2026-03-28 21:30 EDT"
    assert squeezed(lines[6]) == "primary now U0SRE002 until Sun 2026-03-29 10:00 EDT"


def test_show_one_team_and_an_unknown_team(env: dict[str, str]) -> None:
    sre = run_jethro("oncall", "show", "--team", "sre", "--at", "2026-03-02T16:00Z", env=env)
    payroll = run_jethro("oncall", "show", "--team", "payroll", env=env)

    assert sre.code == 0, sre.err
    assert sre.out.startswith("sre (America/New_York) at Mon 2026-03-02 11:00 EST\n")
    assert "network" not in sre.out
    assert payroll.code == 1
    assert "no team payroll" in payroll.err and "teams are network, sre" in payroll.err


def test_an_override_shows_as_on_call_for_its_window(env: dict[str, str]) -> None:
    added = run_jethro(
        "oncall",
        "override",
        "network",
        "U0NET009",
        "--for",
        "4h",
        "--start",
        "2030-01-01T10:00",
        "--by",
        "U0LEAD",
        env=env,
    )
    during = run_jethro("oncall", "show", "--team", "network", "--at", "2030-01-01T11:00", env=env)
    after = run_jethro("oncall", "show", "--team", "network", "--at", "2030-01-01T14:00", env=env)

    assert added.code == 0, added.err
    assert added.out == (
        "U0NET009 is on call for network primary from Tue 2030-01-01 10:00 CET "
        "until Tue 2030-01-01 14:00 CET (override #1).\n"
    )
    assert (
        squeezed(during.out.splitlines()[1])
        == "primary now U0NET009 (override) until Tue 2030-01-01 14:00 CET"
    )
    # Once it is over, the rotation's member of the day takes the rest of the shift.
    resumed = after.out.splitlines()[1].split()
    assert resumed[:2] == ["primary", "now"]
    assert " ".join(resumed[3:]) == "until Wed 2030-01-02 09:00 CET"
    assert f"next {resumed[2]} from Tue 2030-01-01 14:00 CET" in " ".join(during.out.split())
    assert "U0NET009" not in after.out


def test_a_bad_override_is_refused_with_the_reason(env: dict[str, str]) -> None:
    wrong_layer = run_jethro(
        "oncall", "override", "sre", "U0X1", "--for", "4h", "--layer", "secondary", env=env
    )
    wrong_length = run_jethro("oncall", "override", "sre", "U0X1", "--for", "soon", env=env)

    assert wrong_layer.code == 1
    assert wrong_layer.err == "Error: team 'sre' has no 'secondary' layer: it has primary\n"
    assert wrong_length.code == 1 and "'soon' is not a duration" in wrong_length.err


def test_lint_prints_path_line_problems_and_fails_on_errors(tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(
        SCHEDULE.replace("U0NET002]", "bob]").replace("rotation: daily", "rotaton: daily", 1)
    )

    run = run_jethro("oncall", "lint", str(path))

    assert run.code == 1
    assert run.out.splitlines() == [
        f"{path}:5: layer 'network.primary' is missing 'rotation'",
        f"{path}:6: 'bob' is not a Slack user id: use ids like U012AB3CD "
        "(profile → ⋮ → Copy member ID), not names",
        f"{path}:7: warning: unknown key 'rotaton' in layer 'network.primary' is ignored "
        "(did you mean 'rotation'?)",
    ]
    assert run.err == f"{path}: 2 error(s), 1 warning(s)\n"


def test_lint_passes_the_sample_and_show_refuses_a_broken_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    sample = run_jethro("oncall", "lint")
    Path(env["JETHRO_ONCALL_FILE"]).write_text("timezone: UTC\nteams: {}\n")
    broken = run_jethro("oncall", "show", env=env)

    assert sample.code == 0, sample.out
    assert sample.err.endswith("sample_oncall.yaml: 0 error(s), 0 warning(s)\n")
    assert broken.code == 1
    assert f"{env['JETHRO_ONCALL_FILE']}:2: 'teams' has no teams" in broken.err
    assert "jethro oncall lint" in broken.err
