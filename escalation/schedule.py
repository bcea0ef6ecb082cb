"""Who is on call at a given moment: rotations, handoffs in local time, and overrides on top.

Pure: no files, no database, no clock. The YAML is read by `oncall_file.py` and overrides come
from `oncall.py`; both hand plain values in here. Every time given in must be timezone-aware.

Semantics follow PagerDuty and Grafana OnCall: a day or week rotation hands off at the same
local wall-clock time whatever the DST offset (so a daily shift across the spring-forward night is
23 hours long); an hour rotation ("12h") is that many real hours. An override replaces a layer's
member for its window, and when overrides overlap, the one created last wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from escalation.errors import JethroError

LAYERS = ("primary", "secondary")


@dataclass(frozen=True)
class Rotation:
    """How long each member's turn is: calendar `days` (wall clock) or real `hours`."""

    days: int = 0
    hours: int = 0

    def __str__(self) -> str:
        if self.hours:
            return f"{self.hours}h"
        if self.days == 1:
            return "daily"
        if self.days % 7 == 0:
            return "weekly" if self.days == 7 else f"{self.days // 7}w"
        return f"{self.days}d"


@dataclass(frozen=True)
class Layer:
    """One layer of a team: its members take turns, the first from `start` at `handoff`."""

    name: str
    members: tuple[str, ...]
    rotation: Rotation
    handoff: time
    start: date
    line: int = 0


@dataclass(frozen=True)
class EscalationTimes:
    """Minutes before the policy pages the next step (read by the escalation policy)."""

    ack_minutes: int = 10
    secondary_minutes: int = 10


@dataclass(frozen=True)
class Team:
    name: str
    timezone: str
    layers: tuple[Layer, ...]
    channel: str | None = None
    escalation: EscalationTimes = field(default_factory=EscalationTimes)
    line: int = 0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def layer(self, name: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.name == name), None)


@dataclass(frozen=True)
class OncallSchedule:
    """Every team's rotations, as read from `JETHRO_ONCALL_FILE`."""

    timezone: str
    teams: tuple[Team, ...]
    path: str = ""

    def team(self, name: str) -> Team | None:
        return next((team for team in self.teams if team.name == name), None)


@dataclass(frozen=True)
class Override:
    """Someone standing in for a layer's member from `start` until `end` (stored in the DB)."""

    team: str
    layer: str
    user: str
    start: datetime
    end: datetime
    created_at: datetime
    id: int = 0
    created_by: str = ""

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @property
    def rank(self) -> tuple[datetime, int]:
        """Higher wins where overrides overlap: created later, then stored later."""
        return (self.created_at, self.id)


@dataclass(frozen=True)
class Shift:
    """One person on call for a layer from `start` until `end`.

    Times are in UTC, so subtracting them gives real durations (two times in the same zone
    subtract by wall clock in Python); render them in the team's zone.
    """

    user: str
    start: datetime
    end: datetime
    layer: str
    override: bool = False


@dataclass(frozen=True)
class LayerOnCall:
    layer: str
    now: Shift | None
    next: Shift | None


@dataclass(frozen=True)
class TeamOnCall:
    """What `jethro oncall show` and `/oncall` render for one team."""

    team: str
    timezone: str
    channel: str | None
    layers: tuple[LayerOnCall, ...]


class UnknownLayerError(JethroError, LookupError):
    """The team or layer is not in the schedule."""


def who_is_on_call(
    schedule: OncallSchedule,
    team: str,
    layer: str,
    at: datetime,
    overrides: Iterable[Override] = (),
) -> Shift | None:
    """The shift covering `at`, override or rotation; None before the layer's first shift.

    The shift's `start`/`end` are where this person's stint actually begins and ends, so an
    override cutting into a rotation shift shortens it on both sides.
    """
    found, layer_ = _layer(schedule, team, layer)
    return _shift_at(layer_, found.zone, _utc(at), _mine(overrides, team, layer))


def next_shift(
    schedule: OncallSchedule,
    team: str,
    layer: str,
    at: datetime,
    overrides: Iterable[Override] = (),
) -> Shift | None:
    """The shift that follows the one covering `at` (or the first one, before any starts)."""
    found, layer_ = _layer(schedule, team, layer)
    mine = _mine(overrides, team, layer)
    at = _utc(at)
    current = _shift_at(layer_, found.zone, at, mine)
    if current is not None:
        following = current.end
    else:
        upcoming = [o.start for o in mine if o.start > at]
        first = _first_start(layer_, found.zone)
        following = min([*upcoming, *([first] if first > at else [])], default=at)
    return _shift_at(layer_, found.zone, following, mine) if following > at else None


def oncall_summary(
    schedule: OncallSchedule,
    overrides: Iterable[Override],
    at: datetime,
    teams: tuple[str, ...] = (),
) -> list[TeamOnCall]:
    """Now and next for every layer of every team (or only `teams`), in the file's order."""
    overrides = tuple(overrides)
    summary: list[TeamOnCall] = []
    for team in schedule.teams:
        if teams and team.name not in teams:
            continue
        layers = tuple(
            LayerOnCall(
                layer.name,
                who_is_on_call(schedule, team.name, layer.name, at, overrides),
                next_shift(schedule, team.name, layer.name, at, overrides),
            )
            for layer in team.layers
        )
        summary.append(TeamOnCall(team.name, team.timezone, team.channel, layers))
    return summary


def rotation_shift(layer: Layer, zone: ZoneInfo, at: datetime) -> tuple[int, datetime, datetime]:
    """The rotation's own turn covering `at`: its number (from 0) and its UTC start and end.

    Turns before the layer's start are numbered below 0; callers decide what they mean.
    """
    at = _utc(at)
    if layer.rotation.hours:
        step = timedelta(hours=layer.rotation.hours)
        anchor = _first_start(layer, zone)
        index = (at - anchor) // step
        return index, anchor + index * step, anchor + (index + 1) * step
    anchor_local = datetime.combine(layer.start, layer.handoff)
    days = layer.rotation.days
    at_local = at.astimezone(zone).replace(tzinfo=None)
    index = (at_local - anchor_local).days // days
    # The local-time guess can be one off around a DST change: settle it on real instants.
    while _turn_start(anchor_local, days, index, zone) > at:
        index -= 1
    while _turn_start(anchor_local, days, index + 1, zone) <= at:
        index += 1
    start = _turn_start(anchor_local, days, index, zone)
    return index, start, _turn_start(anchor_local, days, index + 1, zone)


def _turn_start(anchor: datetime, days: int, index: int, zone: ZoneInfo) -> datetime:
    """Local wall-clock handoff as a UTC instant; a time skipped by DST moves forward."""
    return (anchor + timedelta(days=days * index)).replace(tzinfo=zone).astimezone(UTC)


def _first_start(layer: Layer, zone: ZoneInfo) -> datetime:
    return datetime.combine(layer.start, layer.handoff).replace(tzinfo=zone).astimezone(UTC)


def _shift_at(
    layer: Layer, zone: ZoneInfo, at: datetime, overrides: list[Override]
) -> Shift | None:
    winner = max((o for o in overrides if o.covers(at)), key=lambda o: o.rank, default=None)
    if winner is not None:
        above = [o for o in overrides if o.rank > winner.rank]
        start = max([winner.start, *(o.end for o in above if winner.start < o.end <= at)])
        end = min([winner.end, *(o.start for o in above if at < o.start < winner.end)])
        return Shift(winner.user, start, end, layer.name, override=True)
    index, turn_start, turn_end = rotation_shift(layer, zone, at)
    if index < 0:
        return None
    start = max([turn_start, *(o.end for o in overrides if turn_start < o.end <= at)])
    end = min([turn_end, *(o.start for o in overrides if at < o.start < turn_end)])
    return Shift(layer.members[index % len(layer.members)], start, end, layer.name)


def _layer(schedule: OncallSchedule, team: str, layer: str) -> tuple[Team, Layer]:
    found = schedule.team(team)
    if found is None:
        known = ", ".join(t.name for t in schedule.teams) or "none"
        raise UnknownLayerError(f"no team '{team}' in {schedule.path or 'the schedule'} ({known})")
    layer_ = found.layer(layer)
    if layer_ is None:
        known = ", ".join(x.name for x in found.layers)
        raise UnknownLayerError(f"team '{team}' has no '{layer}' layer (it has {known})")
    return found, layer_


def _mine(overrides: Iterable[Override], team: str, layer: str) -> list[Override]:
    """The team layer's overrides in UTC: aware times sharing one zone compare by wall clock."""
    return [
        replace(
            o,
            start=o.start.astimezone(UTC),
            end=o.end.astimezone(UTC),
            created_at=o.created_at.astimezone(UTC),
        )
        for o in overrides
        if o.team == team and o.layer == layer
    ]


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: give it a timezone")
    return at.astimezone(UTC)
