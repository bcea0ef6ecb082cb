"""`/oncall` in Slack: who is on call now and next, and `/oncall override @user 4h [team] [layer]`.

The rules are `escalation.schedule` and `escalation.oncall`; this module parses the command's
words, checks who may override (members of `JETHRO_ESCALATION_CHANNEL`, the people who take
the pages), and renders `oncall.j2`. Times are shown in each team's own zone. No Bolt here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.blocks import Message
from bot.render import Renderer
from escalation.clock import Clock
from escalation.db import session
from escalation.errors import JethroError
from escalation.oncall import active_overrides, add_override, parse_duration
from escalation.schedule import LAYERS, OncallSchedule, Shift, oncall_summary

USAGE = "/oncall override @someone 4h [team] [primary|secondary]"
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]{2,})")


class OncallCommandError(JethroError):
    """The `/oncall` words cannot be used; the message says how to write them."""


@dataclass(frozen=True)
class OverrideRequest:
    user: str
    length: str
    team: str
    layer: str


def parse_override(words: list[str], default_team: str) -> OverrideRequest:
    """`@user 4h [team] [layer]`, the team and layer in either order."""
    if len(words) < 2:
        raise OncallCommandError(f"Tell me who and for how long: `{USAGE}`")
    found = _MENTION.fullmatch(words[0])
    if found is None:
        raise OncallCommandError(
            f"Name the person with an @mention, e.g. `{USAGE}` (not `{words[0]}`)."
        )
    layers = [w for w in words[2:] if w.lower() in LAYERS]
    teams = [w for w in words[2:] if w.lower() not in LAYERS]
    if len(layers) > 1 or len(teams) > 1:
        raise OncallCommandError(f"One team and one layer at most: `{USAGE}`")
    return OverrideRequest(
        user=found.group(1) or found.group(2),
        length=words[1],
        team=teams[0] if teams else default_team,
        layer=layers[0].lower() if layers else "primary",
    )


class OncallDesk:
    """Answers `/oncall`; stateless, so the listener threads share one."""

    def __init__(
        self,
        *,
        engine: Engine,
        schedule: OncallSchedule,
        renderer: Renderer,
        clock: Clock,
        default_team: str,
        may_override: Callable[[str], bool],
    ) -> None:
        self.engine = engine
        self.schedule = schedule
        self.renderer = renderer
        self.clock = clock
        self.default_team = default_team
        self.may_override = may_override

    def answer(self, user: str, text: str) -> Message:
        """What `/oncall <text>` shows the person who typed it (only them)."""
        words = text.split()
        if words and words[0].lower() == "override":
            return self.override(user, words[1:])
        teams = tuple(words)
        unknown = [t for t in teams if self.schedule.team(t) is None]
        if unknown:
            known = ", ".join(team.name for team in self.schedule.teams)
            return self._problem(f"There is no team {', '.join(unknown)}: the teams are {known}.")
        return self.show(teams)

    def show(self, teams: tuple[str, ...] = ()) -> Message:
        now = self.clock.now()
        with session(self.engine) as db:
            overrides = active_overrides(db, None, now)
        summary = oncall_summary(self.schedule, overrides, now, teams)
        shown = [
            {
                "name": team.team,
                "timezone": team.timezone,
                "layers": [
                    {
                        "layer": layer.layer,
                        "now": _shift(layer.now, team.timezone),
                        "next": _shift(layer.next, team.timezone),
                    }
                    for layer in team.layers
                ],
            }
            for team in summary
        ]
        return self._message(teams=shown)

    def override(self, user: str, words: list[str]) -> Message:
        if not self.may_override(user):
            return self._problem(
                "Only members of the engineers' channel can change who is on call; ask one of them."
            )
        try:
            request = parse_override(words, self.default_team)
            length = parse_duration(request.length)
            now = self.clock.now()
            with session(self.engine) as db:
                added = add_override(
                    db,
                    request.team,
                    request.layer,
                    request.user,
                    now,
                    now + length,
                    user,
                    self.clock,
                    schedule=self.schedule,
                )
        except JethroError as exc:
            return self._problem(str(exc))
        team = self.schedule.team(added.team)
        zone = team.timezone if team else "UTC"
        return self._message(
            added={
                "user": added.user,
                "team": added.team,
                "layer": added.layer,
                "until": _local(added.end, zone),
            },
        )

    def _problem(self, text: str) -> Message:
        return self._message(problem=text)

    def _message(
        self,
        *,
        teams: list[dict[str, Any]] | None = None,
        problem: str | None = None,
        added: dict[str, str] | None = None,
    ) -> Message:
        return self.renderer.message(
            "oncall", teams=teams or [], problem=problem, added=added, usage=USAGE
        )


def _shift(shift: Shift | None, zone: str) -> dict[str, Any] | None:
    if shift is None:
        return None
    return {
        "user": shift.user,
        "start": _local(shift.start, zone),
        "end": _local(shift.end, zone),
        "override": shift.override,
    }


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M %Z")
