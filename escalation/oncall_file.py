"""Reading the on-call YAML (`JETHRO_ONCALL_FILE`) into an `OncallSchedule`, or into problems.

Every problem is `path:line: message` with the line from PyYAML's node marks, so an admin can jump
to it. A file with any error gives no schedule at all (a half-read rotation would page the wrong
person); warnings keep it. This module reads no files: `oncall.load_oncall` does. The format is
documented in docs/oncall.md.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from escalation.schedule import LAYERS, EscalationTimes, Layer, OncallSchedule, Rotation, Team
from knowledge.parser import did_you_mean
from knowledge.yaml_problems import Problem, Report, node_kind, yaml_problem

TOP_KEYS = ("timezone", "teams")
TEAM_KEYS = ("timezone", "channel", "escalation", "layers")
LAYER_KEYS = ("members", "rotation", "handoff", "start")
ESCALATION_KEYS = ("ack_minutes", "secondary_minutes")

# Words admins bring from other on-call tools; difflib alone would not find these.
_SYNONYMS = {
    "tz": "timezone",
    "time_zone": "timezone",
    "zone": "timezone",
    "rotations": "layers",
    "schedule": "layers",
    "schedules": "layers",
    "users": "members",
    "people": "members",
    "participants": "members",
    "length": "rotation",
    "shift": "rotation",
    "every": "rotation",
    "type": "rotation",
    "handover": "handoff",
    "handoff_time": "handoff",
    "at": "handoff",
    "start_date": "start",
    "starts": "start",
    "from": "start",
    "ack": "ack_minutes",
    "ack_timeout": "ack_minutes",
    "slack_channel": "channel",
}
_LAYER_SYNONYMS = {"main": "primary", "backup": "secondary", "shadow": "secondary"}
_NULL_TAG = "tag:yaml.org,2002:null"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
_ROTATION = re.compile(r"(\d+)\s*([hdw])", re.IGNORECASE)
_HANDOFF = re.compile(r"(?:([a-z]+)\s+)?(\d{1,2}):(\d{2})", re.IGNORECASE)
_NAMED_ROTATIONS = {"daily": 1, "weekly": 7, "fortnightly": 14, "biweekly": 14}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_oncall(text: str, path: str) -> tuple[OncallSchedule | None, list[Problem]]:
    """Parse the whole file; the schedule is None when there is any error."""
    report = Report(path)
    root = _compose(text, report)
    schedule = _schedule(root, report) if root is not None else None
    if root is None and not report.problems:
        report.error(1, "the on-call file is empty: start with 'timezone: ...' and 'teams:'")
    problems = sorted(report.problems, key=lambda p: p.line)
    return (None if report.failed else schedule), problems


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _compose(text: str, report: Report) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line, detail = yaml_problem(exc)
        report.error(line + 1 if line >= 0 else 1, f"invalid YAML: {detail}")
    except yaml.YAMLError as exc:
        report.error(1, f"invalid YAML: {exc}")
    return None


Fields = dict[str, tuple[ScalarNode, Node]]


def _mapping(node: Node, what: str, keys: tuple[str, ...] | None, report: Report) -> Fields:
    """A mapping's keys and values; duplicates are errors, unknown keys (when `keys`) warnings."""
    if not isinstance(node, MappingNode):
        report.error(_line(node), f"{what} must be 'key: value' lines, not a {node_kind(node)}")
        return {}
    fields: Fields = {}
    for key, value in node.value:
        name = str(key.value) if isinstance(key, ScalarNode) else "?"
        if name in fields:
            first = _line(fields[name][0])
            report.error(_line(key), f"duplicate key '{name}' in {what} (first at line {first})")
        elif keys is not None and name not in keys:
            hint = did_you_mean(name, keys, _SYNONYMS)
            report.warning(_line(key), f"unknown key '{name}' in {what} is ignored{hint}")
        elif isinstance(key, ScalarNode):
            fields[name] = (key, value)
    return fields


def _text(node: Node, what: str, report: Report) -> str | None:
    if not isinstance(node, ScalarNode):
        report.error(_line(node), f"{what} must be text, not a {node_kind(node)}")
        return None
    value = "" if node.tag == _NULL_TAG else str(node.value).strip()
    if not value:
        report.error(_line(node), f"{what} is empty")
        return None
    return value


def _schedule(root: Node, report: Report) -> OncallSchedule | None:
    fields = _mapping(root, "the on-call file", TOP_KEYS, report)
    if not fields:
        return None
    default_zone = None  # "" when given but wrong: reported once here, not again per team
    if "timezone" in fields:
        default_zone = _zone(fields["timezone"][1], report) or ""
    if "teams" not in fields:
        report.error(_line(root), "missing 'teams:': list each team with its layers")
        return None
    teams_node = fields["teams"][1]
    teams = [
        _team(key, value, default_zone, report)
        for key, value in _mapping(teams_node, "'teams'", None, report).values()
    ]
    if isinstance(teams_node, MappingNode) and not teams_node.value:
        report.error(_line(teams_node), "'teams' has no teams")
    if isinstance(teams_node, ScalarNode):
        return None
    found = tuple(team for team in teams if team is not None)
    return OncallSchedule(default_zone or "UTC", found, report.path)


def _team(key: ScalarNode, node: Node, default_zone: str | None, report: Report) -> Team | None:
    name = str(key.value).strip()
    if not name or any(ch.isspace() for ch in name):
        report.error(_line(key), f"team name '{name}' must be one word, like the KB's 'team:'")
    fields = _mapping(node, f"team '{name}'", TEAM_KEYS, report)
    zone = (_zone(fields["timezone"][1], report) or "") if "timezone" in fields else default_zone
    if zone is None:
        report.error(
            _line(key),
            f"team '{name}' has no time zone: add 'timezone: Europe/Berlin' (IANA name) at the "
            "top of the file or in the team",
        )
    channel = _channel(fields["channel"][1], report) if "channel" in fields else None
    times = _escalation(fields["escalation"][1], report) if "escalation" in fields else None
    if "layers" not in fields:
        report.error(_line(key), f"team '{name}' has no 'layers:': add at least 'primary:'")
        return None
    layers = _layers(fields["layers"][1], name, report)
    if not zone or layers is None:
        return None
    return Team(name, zone, layers, channel, times or EscalationTimes(), _line(key))


def _layers(node: Node, team: str, report: Report) -> tuple[Layer, ...] | None:
    fields = _mapping(node, f"the layers of team '{team}'", None, report)
    layers: list[Layer] = []
    for name, (key, value) in fields.items():
        if name not in LAYERS:
            report.error(
                _line(key),
                f"unknown layer '{name}': layers are {' and '.join(LAYERS)}"
                f"{did_you_mean(name, LAYERS, _LAYER_SYNONYMS)}",
            )
            continue
        layer = _layer(name, key, value, team, report)
        if layer is not None:
            layers.append(layer)
    if isinstance(node, MappingNode) and "primary" not in fields:
        report.error(_line(node), f"team '{team}' has no 'primary' layer")
    return tuple(layers) if isinstance(node, MappingNode) else None


def _layer(name: str, key: ScalarNode, node: Node, team: str, report: Report) -> Layer | None:
    what = f"layer '{team}.{name}'"
    fields = _mapping(node, what, LAYER_KEYS, report)
    known = len(report.problems)
    for required in ("members", "rotation", "start"):
        if required not in fields and isinstance(node, MappingNode):
            report.error(_line(key), f"{what} is missing '{required}'")
    members = _members(fields["members"][1], what, report) if "members" in fields else ()
    rotation = _rotation(fields["rotation"][1], report) if "rotation" in fields else None
    start = _start(fields["start"][1], report) if "start" in fields else None
    handoff = time(9, 0)
    if "handoff" in fields and rotation is not None:
        handoff = _handoff(fields["handoff"][1], rotation, start, report) or handoff
    if any(p.level == "error" for p in report.problems[known:]) or not isinstance(
        node, MappingNode
    ):
        return None
    assert rotation is not None and start is not None
    return Layer(name, members, rotation, handoff, start, _line(key))


def _members(node: Node, what: str, report: Report) -> tuple[str, ...]:
    if not isinstance(node, SequenceNode):
        report.error(_line(node), f"'members' of {what} must be a list of Slack user ids")
        return ()
    if not node.value:
        report.error(_line(node), f"{what} has no members")
    members: list[str] = []
    seen: dict[str, int] = {}
    for item in node.value:
        user = _text(item, "a member", report)
        if user is None:
            continue
        if not _USER_ID.fullmatch(user):
            report.error(
                _line(item),
                f"'{user}' is not a Slack user id: use ids like U012AB3CD "
                "(profile → ⋮ → Copy member ID), not names",
            )
        elif user in seen:
            report.warning(
                _line(item), f"'{user}' is listed twice (first at line {seen[user]}): two turns"
            )
        seen.setdefault(user, _line(item))
        members.append(user)
    return tuple(members)


def _rotation(node: Node, report: Report) -> Rotation | None:
    value = _text(node, "'rotation'", report)
    if value is None:
        return None
    days = _NAMED_ROTATIONS.get(value.lower())
    if days:
        return Rotation(days=days)
    match = _ROTATION.fullmatch(value)
    count = int(match.group(1)) if match else 0
    if not match or count == 0:
        report.error(
            _line(node),
            f"rotation '{value}' is not a length: use daily, weekly, or a number with h, d or w, "
            "like 12h, 3d or 2w",
        )
        return None
    unit = match.group(2).lower()
    if unit == "h":
        if count > 24 * 7 * 52:
            report.error(_line(node), f"rotation '{value}' is over a year: use days or weeks")
            return None
        return Rotation(hours=count)
    return Rotation(days=count * (7 if unit == "w" else 1))


def _handoff(node: Node, rotation: Rotation, start: date | None, report: Report) -> time | None:
    value = _text(node, "'handoff'", report)
    if value is None:
        return None
    match = _HANDOFF.fullmatch(value)
    hour, minute = (int(match.group(2)), int(match.group(3))) if match else (99, 99)
    if not match or hour > 23 or minute > 59:
        report.error(
            _line(node),
            f"handoff '{value}' is not a time: use 24-hour local time like \"09:00\", "
            'or "Mon 09:00" for weekly rotations (in quotes)',
        )
        return None
    day = match.group(1)
    if day is not None and not _weekday_ok(day, node, rotation, start, report):
        return None
    return time(hour, minute)


def _weekday_ok(
    day: str, node: Node, rotation: Rotation, start: date | None, report: Report
) -> bool:
    weekday = next((i for i, name in enumerate(_WEEKDAYS) if name.startswith(day.lower())), None)
    if weekday is None or len(day) < 3:
        report.error(_line(node), f"'{day}' is not a weekday: use Mon, Tue, ... Sun")
        return False
    if rotation.hours or rotation.days % 7:
        report.error(
            _line(node),
            f"a {rotation} rotation hands off on any day: drop '{day}' and give only the time",
        )
        return False
    if start is not None and start.weekday() != weekday:
        before = start.toordinal() - (start.weekday() - weekday) % 7
        after = before + 7
        report.error(
            _line(node),
            f"handoff is on {_WEEKDAYS[weekday].title()} but start {start} is a "
            f"{_WEEKDAYS[start.weekday()].title()}: start on {date.fromordinal(before)} or "
            f"{date.fromordinal(after)}",
        )
        return False
    return True


def _start(node: Node, report: Report) -> date | None:
    value = _text(node, "'start'", report)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        report.error(
            _line(node),
            f"start '{value}' is not a date: use YYYY-MM-DD, the day the first member's "
            "first shift starts",
        )
        return None


def _zone(node: Node, report: Report) -> str | None:
    name = _text(node, "'timezone'", report)
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        report.error(
            _line(node),
            f"unknown time zone '{name}': use an IANA name like Europe/Berlin or "
            f"America/New_York{_zone_hint(name)}",
        )
        return None
    return name


def _zone_hint(name: str) -> str:
    zones = _zones()
    close = difflib.get_close_matches(name.lower(), tuple(zones), n=1, cutoff=0.6)
    return f" (did you mean '{zones[close[0]]}'?)" if close else ""


@cache
def _zones() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


def _channel(node: Node, report: Report) -> str | None:
    value = _text(node, "'channel'", report)
    if value is None:
        return None
    if not _CHANNEL_ID.fullmatch(value):
        report.error(
            _line(node),
            f"channel '{value}' is not a channel id: use the id (C..., from the channel's "
            "About tab), not its name",
        )
        return None
    return value


def _escalation(node: Node, report: Report) -> EscalationTimes | None:
    fields = _mapping(node, "'escalation'", ESCALATION_KEYS, report)
    minutes: dict[str, int] = {}
    for name, (_key, value) in fields.items():
        text = _text(value, f"'{name}'", report)
        if text is None:
            continue
        if not text.isdigit() or int(text) == 0:
            report.error(_line(value), f"'{name}' must be a whole number of minutes above 0")
            continue
        minutes[name] = int(text)
    return EscalationTimes(**minutes)
