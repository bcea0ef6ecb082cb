"""Escalation policies as data: who a ticket pages, in what order, and how long each step waits.

Pure: no database, no Slack, no clock. `policy_for` turns a team's `escalation` times and a
ticket's severity into a tuple of `Step`s; `escalation/timers.py` freezes them into the ticket
when its escalation starts and runs them one at a time.

The chains (times are the team's `ack_minutes` A and `secondary_minutes` S):

- `low`, `normal`: the primary; after A minutes unacknowledged, the secondary; after S more,
  the whole channel (`@here`).
- `high`: the same steps with half the waits (rounded up, at least a minute): a high ticket
  should not sit as long, but the secondary is still a second line, not a second pager.
- `critical`: primary and secondary at once; after A minutes, the channel.

A team without a secondary layer skips that step. A step whose layer has nobody on call runs
the next step at once, so a gap in the rota goes to the channel instead of to nobody.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from escalation.schedule import Team
from knowledge.article import Severity


class Target(StrEnum):
    """Who a step notifies; stored as these strings, so never renamed."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    CHANNEL = "channel"


@dataclass(frozen=True)
class Step:
    """Notify `notify` at once, then wait `wait_minutes` before the next step (if any)."""

    name: str
    notify: tuple[Target, ...]
    wait_minutes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "notify": [t.value for t in self.notify],
            "wait_minutes": self.wait_minutes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        notify = tuple(Target(t) for t in data["notify"])
        return cls(str(data["name"]), notify, int(data["wait_minutes"]))


def policy_for(team: Team, severity: Severity) -> tuple[Step, ...]:
    """The steps a ticket of `severity` for `team` goes through, first one due at once."""
    ack = team.escalation.ack_minutes
    secondary = team.escalation.secondary_minutes
    has_secondary = team.layer(Target.SECONDARY) is not None
    channel = Step("channel", (Target.CHANNEL,))
    if severity is Severity.CRITICAL:
        first = (Target.PRIMARY, Target.SECONDARY) if has_secondary else (Target.PRIMARY,)
        return (Step("primary+secondary" if has_secondary else "primary", first, ack), channel)
    if severity is Severity.HIGH:
        ack, secondary = _halved(ack), _halved(secondary)
    if not has_secondary:
        return (Step("primary", (Target.PRIMARY,), ack), channel)
    return (
        Step("primary", (Target.PRIMARY,), ack),
        Step("secondary", (Target.SECONDARY,), secondary),
        channel,
    )


def _halved(minutes: int) -> int:
    return max(1, math.ceil(minutes / 2))
