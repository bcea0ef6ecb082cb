"""On-call at the edges: the schedule file from disk, and overrides in the database.

The rules of who is on call live in `schedule.py`; this module only fetches what it needs.
Functions taking a session flush but never commit: the caller's `db.session()` block decides.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from escalation.clock import Clock
from escalation.errors import JethroError
from escalation.models import OncallOverride
from escalation.oncall_file import parse_oncall
from escalation.schedule import OncallSchedule, Override
from knowledge.yaml_problems import Problem

log = logging.getLogger(__name__)

SAMPLE_ONCALL = Path(__file__).with_name("sample_oncall.yaml")
MAX_OVERRIDE = timedelta(days=90)
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


class OncallError(JethroError):
    """An on-call request was refused; the message says what to change."""


class OncallFileError(OncallError):
    """The on-call file cannot be used; `problems` are its `path:line: message` errors."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_oncall(path: Path) -> OncallSchedule:
    """The schedule in `path`; warnings go to the log, errors raise `OncallFileError`."""
    problems = lint_oncall(path)
    for problem in problems:
        if problem.level == "warning":
            log.warning("%s", problem)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        raise OncallFileError(errors)
    schedule, _ = parse_oncall(path.read_text(encoding="utf-8"), str(path))
    assert schedule is not None
    return schedule


def lint_oncall(path: Path) -> list[Problem]:
    """Every problem in the file, warnings included; an unreadable file is one error at line 1."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        message = f"cannot read the on-call file: {reason} (JETHRO_ONCALL_FILE)"
        return [Problem(str(path), 1, message, "error")]
    return parse_oncall(text, str(path))[1]


def oncall_path(configured: Path | None) -> Path:
    """`JETHRO_ONCALL_FILE`, or the shipped sample when it is empty."""
    return configured or SAMPLE_ONCALL


def add_override(
    session: Session,
    team: str,
    layer: str,
    user: str,
    start: datetime,
    end: datetime,
    created_by: str,
    clock: Clock,
    *,
    schedule: OncallSchedule | None = None,
) -> Override:
    """Store an override; with `schedule`, the team and layer must be in it."""
    if schedule is not None:
        _check_target(schedule, team, layer)
    if not _USER_ID.fullmatch(user):
        raise OncallError(f"'{user}' is not a Slack user id: use an id like U012AB3CD")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("override times must be timezone-aware")
    now = clock.now()
    if end <= start:
        raise OncallError("an override must end after it starts")
    if end <= now:
        raise OncallError("that override would already be over: give a later start or end")
    if end - start > MAX_OVERRIDE:
        raise OncallError("an override can last at most 90 days: change the rotation instead")
    row = OncallOverride(
        team=team,
        layer=layer,
        user_id=user,
        starts_at=start,
        ends_at=end,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _override(row)


def active_overrides(session: Session, team: str | None, at: datetime) -> list[Override]:
    """Overrides not yet over at `at` (current and upcoming), of one team or of all (None).

    Upcoming ones are included because the schedule needs them to say who is next.
    """
    query = select(OncallOverride).where(col(OncallOverride.ends_at) > at)
    if team is not None:
        query = query.where(OncallOverride.team == team)
    rows = session.exec(query.order_by(col(OncallOverride.id))).all()
    return [_override(row) for row in rows]


def parse_duration(text: str) -> timedelta:
    """'4h', '30m', '2d', '1h30m', '1w' as a length of time."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        raise OncallError(f"'{text}' is not a duration: use e.g. 4h, 30m, 2d or 1h30m")
    weeks, days, hours, minutes = (int(part or 0) for part in match.groups())
    length = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    if length <= timedelta():
        raise OncallError(f"'{text}' is no time at all: use e.g. 4h")
    return length


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """'now', or ISO 8601 ('2026-03-29T08:30', '2026-03-29', '...Z'); no offset means `zone`."""
    if text.strip().lower() == "now":
        return now
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise OncallError(
            f"'{text}' is not a time: use 'now' or ISO 8601 like 2026-03-29T08:30 "
            "(local to the schedule's time zone) or 2026-03-29T06:30Z"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


def _check_target(schedule: OncallSchedule, team: str, layer: str) -> None:
    found = schedule.team(team)
    if found is None:
        known = ", ".join(t.name for t in schedule.teams)
        raise OncallError(f"there is no team '{team}' in {schedule.path}: teams are {known}")
    if found.layer(layer) is None:
        known = ", ".join(x.name for x in found.layers)
        raise OncallError(f"team '{team}' has no '{layer}' layer: it has {known}")


def _override(row: OncallOverride) -> Override:
    return Override(
        team=row.team,
        layer=row.layer,
        user=row.user_id,
        start=row.starts_at,
        end=row.ends_at,
        created_at=row.created_at,
        id=row.id or 0,
        created_by=row.created_by,
    )
