"""The on-call YAML in, a schedule or `path:line: message` problems out."""

from __future__ import annotations

from datetime import date, time
from textwrap import dedent

import pytest

from escalation.oncall import SAMPLE_ONCALL, lint_oncall
from escalation.oncall_file import parse_oncall
from escalation.schedule import EscalationTimes, Layer, OncallSchedule, Rotation, Team

GOOD = """\
timezone: Europe/Berlin
teams:
  network:
    channel: C0123456789
    escalation: {ack_minutes: 5, secondary_minutes: 15}
    layers:
      primary:
        members: [U01AAA, U01BBB, U01CCC]
        rotation: weekly
        handoff: "Mon 09:00"
        start: 2026-01-05
      secondary:
        members: [U01CCC, U01AAA]
        rotation: 12h
        handoff: "21:00"
        start: 2026-01-05
  sre:
    timezone: America/New_York
    layers:
      primary:
        members: [W0SRE1]
        rotation: 3d
        start: 2026-01-06
"""

PATH = "oncall.yaml"


def parse(text: str) -> tuple[OncallSchedule | None, list[str]]:
    schedule, problems = parse_oncall(dedent(text), PATH)
    return schedule, [str(p) for p in problems]


def layer_file(layer: str) -> str:
    """A file whose one layer (lines 5 on) is given; `members` etc. sit at line 6 onwards."""
    head = "timezone: Europe/Berlin\nteams:\n  network:\n    layers:\n      primary:\n"
    return head + "".join(f"        {line}\n" for line in dedent(layer).strip().splitlines())


def test_a_complete_file_keeps_every_team_layer_and_setting() -> None:
    schedule, problems = parse(GOOD)

    assert problems == []
    assert schedule is not None
    network, sre = schedule.teams
    assert network == Team(
        "network",
        "Europe/Berlin",
        (
            Layer(
                "primary",
                ("U01AAA", "U01BBB", "U01CCC"),
                Rotation(days=7),
                time(9),
                date(2026, 1, 5),
                7,
            ),
            Layer(
                "secondary",
                ("U01CCC", "U01AAA"),
                Rotation(hours=12),
                time(21),
                date(2026, 1, 5),
                12,
            ),
        ),
        channel="C0123456789",
        escalation=EscalationTimes(ack_minutes=5, secondary_minutes=15),
        line=3,
    )
    assert (sre.timezone, sre.channel, sre.escalation) == (
        "America/New_York",
        None,
        EscalationTimes(),
    )
    assert sre.layers[0].handoff == time(9, 0)
    assert sre.layers[0].rotation == Rotation(days=3)


def test_the_shipped_sample_is_clean_and_covers_the_sample_kb_teams() -> None:
    assert lint_oncall(SAMPLE_ONCALL) == []
    schedule, _ = parse_oncall(SAMPLE_ONCALL.read_text(), str(SAMPLE_ONCALL))
    assert schedule is not None
    assert {t.name for t in schedule.teams} == {
        "it",
        "network",
        "security",
        "sre",
        "facilities",
        "finance",
    }


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ("members: [U01AAA, alice]", "6: 'alice' is not a Slack user id"),
        ("members: U01AAA", "6: 'members' of layer 'network.primary' must be a list"),
        ("members: []", "6: layer 'network.primary' has no members"),
        ("rotation: fortnight", "7: rotation 'fortnight' is not a length"),
        ("rotation: 0d", "7: rotation '0d' is not a length"),
        ("handoff: '25:00'", "8: handoff '25:00' is not a time"),
        ("handoff: 'Tue 09:00'", "8: handoff is on Tuesday but start 2026-01-05 is a Monday"),
        ("handoff: 'Frog 09:00'", "8: 'Frog' is not a weekday"),
        ("start: next monday", "9: start 'next monday' is not a date"),
    ],
)
def test_each_bad_layer_value_is_an_error_on_its_line(layer: str, expected: str) -> None:
    fields = {
        "members": "members: [U01AAA, U01BBB]",
        "rotation": "rotation: weekly",
        "handoff": "handoff: 'Mon 09:00'",
        "start": "start: 2026-01-05",
    }
    fields[layer.split(":")[0]] = layer

    schedule, problems = parse(layer_file("\n".join(fields.values())))

    assert schedule is None
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{PATH}:{expected}")


def test_a_weekday_handoff_on_a_daily_rotation_says_to_drop_the_day() -> None:
    text = layer_file("members: [U01AAA]\nrotation: daily\nhandoff: 'Mon 09:00'\nstart: 2026-01-05")

    _, problems = parse(text)

    assert problems == [
        f"{PATH}:8: a daily rotation hands off on any day: drop 'Mon' and give only the time"
    ]


def test_the_start_date_error_offers_the_weekdays_either_side() -> None:
    text = layer_file(
        "members: [U01AAA]\nrotation: weekly\nhandoff: 'Mon 09:00'\nstart: 2026-01-07"
    )

    _, problems = parse(text)

    assert "start on 2026-01-05 or 2026-01-12" in problems[0]


def test_missing_layer_keys_are_errors_at_the_layer() -> None:
    _, problems = parse(layer_file("handoff: '09:00'"))

    assert problems == [
        f"{PATH}:5: layer 'network.primary' is missing 'members'",
        f"{PATH}:5: layer 'network.primary' is missing 'rotation'",
        f"{PATH}:5: layer 'network.primary' is missing 'start'",
    ]


def test_unknown_keys_warn_with_did_you_mean_and_keep_the_schedule() -> None:
    text = layer_file(
        "users: [U01AAA]\nmembers: [U01AAA]\nrotation: weekly\nstart: 2026-01-05\nhandof: '09:00'"
    )

    schedule, problems = parse(text)

    assert schedule is not None
    assert problems == [
        f"{PATH}:6: warning: unknown key 'users' in layer 'network.primary' is ignored "
        "(did you mean 'members'?)",
        f"{PATH}:10: warning: unknown key 'handof' in layer 'network.primary' is ignored "
        "(did you mean 'handoff'?)",
    ]


def test_a_member_listed_twice_warns() -> None:
    text = layer_file("members: [U01AAA, U01BBB, U01AAA]\nrotation: daily\nstart: 2026-01-05")

    schedule, problems = parse(text)

    assert schedule is not None and schedule.teams[0].layers[0].members[2] == "U01AAA"
    assert problems == [f"{PATH}:6: warning: 'U01AAA' is listed twice (first at line 6): two turns"]


def test_a_bad_time_zone_is_named_with_a_suggestion_and_reported_once() -> None:
    _, problems = parse(GOOD.replace("Europe/Berlin", "Europe/Berln"))

    assert problems == [
        f"{PATH}:1: unknown time zone 'Europe/Berln': use an IANA name like Europe/Berlin or "
        "America/New_York (did you mean 'Europe/Berlin'?)"
    ]


def test_a_team_without_any_time_zone_is_an_error() -> None:
    _, problems = parse(GOOD.replace("timezone: Europe/Berlin\n", ""))

    assert [p.split(": ")[0] for p in problems] == [f"{PATH}:2"]
    assert "team 'network' has no time zone" in problems[0]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("C0123456789", "'#network'", "4: channel '#network' is not a channel id"),
        ("ack_minutes: 5", "ack_minutes: soon", "5: 'ack_minutes' must be a whole number"),
        ("      secondary:", "      tertiary:", "12: unknown layer 'tertiary'"),
        (
            "      secondary:",
            "      backup:",
            "12: unknown layer 'backup': layers are primary and "
            "secondary (did you mean 'secondary'?)",
        ),
        (
            "      primary:\n        members: [W0SRE1]",
            "      secondary:\n        members: [W0SRE1]",
            "20: team 'sre' has no 'primary' layer",
        ),
        ("  sre:\n", "  sre team:\n", "17: team name 'sre team' must be one word"),
        (
            "    timezone: America/New_York",
            "    timezone: America/New_York\n    timezone: UTC",
            "19: duplicate key 'timezone' in team 'sre' (first at line 18)",
        ),
    ],
)
def test_each_bad_team_value_is_an_error_on_its_line(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    schedule, problems = parse(GOOD.replace(old, new))

    assert schedule is None
    assert [p for p in problems if f"{PATH}:{expected}" in p], problems


def test_a_team_without_layers_and_a_file_without_teams_are_errors() -> None:
    _, no_layers = parse("timezone: UTC\nteams:\n  network:\n    channel: C0123\n")
    _, no_teams = parse("timezone: UTC\n")
    _, empty = parse("")

    assert no_layers == [f"{PATH}:3: team 'network' has no 'layers:': add at least 'primary:'"]
    assert no_teams == [f"{PATH}:1: missing 'teams:': list each team with its layers"]
    assert empty[0].startswith(f"{PATH}:1: the on-call file is empty")


def test_invalid_yaml_points_at_its_line() -> None:
    _, problems = parse(GOOD.replace("        rotation: 3d", "        rotation: [3d"))

    assert len(problems) == 1
    assert problems[0].startswith(f"{PATH}:22: invalid YAML: a '[' is never closed")


def test_tabs_get_a_hint() -> None:
    _, problems = parse("timezone: UTC\nteams:\n\tnetwork: {}\n")

    assert problems[0].startswith(f"{PATH}:3: invalid YAML") and "not tabs" in problems[0]
