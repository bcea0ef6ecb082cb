"""Escalation policies: which steps each severity goes through, and how long each waits."""

from __future__ import annotations

from escalation.oncall import SAMPLE_ONCALL, load_oncall
from escalation.policy import Step, Target, policy_for
from escalation.schedule import Team
from knowledge.article import Severity

SCHEDULE = load_oncall(SAMPLE_ONCALL)


def team(name: str) -> Team:
    found = SCHEDULE.team(name)
    assert found is not None
    return found


def chain(steps: tuple[Step, ...]) -> list[tuple[tuple[str, ...], int]]:
    return [(tuple(t.value for t in s.notify), s.wait_minutes) for s in steps]


def test_a_normal_ticket_pages_primary_then_secondary_then_the_channel() -> None:
    steps = policy_for(team("network"), Severity.NORMAL)  # ack 5, secondary 10

    assert chain(steps) == [(("primary",), 5), (("secondary",), 10), (("channel",), 0)]


def test_low_is_paged_like_normal() -> None:
    assert policy_for(team("it"), Severity.LOW) == policy_for(team("it"), Severity.NORMAL)


def test_a_high_ticket_waits_half_as_long_rounded_up() -> None:
    steps = policy_for(team("network"), Severity.HIGH)

    assert chain(steps) == [(("primary",), 3), (("secondary",), 5), (("channel",), 0)]


def test_a_critical_ticket_pages_both_layers_at_once_then_the_channel() -> None:
    steps = policy_for(team("network"), Severity.CRITICAL)

    assert chain(steps) == [(("primary", "secondary"), 5), (("channel",), 0)]


def test_a_team_without_a_secondary_goes_from_primary_to_the_channel() -> None:
    for severity in Severity:
        steps = policy_for(team("facilities"), severity)

        assert [s.notify for s in steps] == [(Target.PRIMARY,), (Target.CHANNEL,)]


def test_steps_survive_being_stored_as_json() -> None:
    for step in policy_for(team("it"), Severity.CRITICAL):
        assert Step.from_json(step.to_json()) == step
