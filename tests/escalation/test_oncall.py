"""Overrides stored in the database, on SQLite and PostgreSQL, and the schedule file from disk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from escalation.clock import FixedClock
from escalation.db import session
from escalation.oncall import (
    SAMPLE_ONCALL,
    OncallError,
    OncallFileError,
    active_overrides,
    add_override,
    load_oncall,
    parse_duration,
    parse_when,
)
from escalation.schedule import who_is_on_call

NOW = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)  # a Wednesday: U0NET002's week on network primary


@pytest.fixture
def now() -> FixedClock:
    return FixedClock(NOW)


def test_an_override_is_kept_and_puts_its_user_on_call(engine: Engine, now: FixedClock) -> None:
    schedule = load_oncall(SAMPLE_ONCALL)
    with session(engine) as db:
        added = add_override(
            db,
            "network",
            "primary",
            "U0NET009",
            NOW,
            NOW + timedelta(hours=4),
            "U0LEAD",
            now,
            schedule=schedule,
        )

    with session(engine) as db:
        stored = active_overrides(db, "network", NOW + timedelta(hours=1))
    shift = who_is_on_call(schedule, "network", "primary", NOW + timedelta(hours=1), stored)
    later = who_is_on_call(schedule, "network", "primary", NOW + timedelta(hours=4), stored)

    assert stored == [added]
    assert (stored[0].start, stored[0].created_by, stored[0].created_at) == (NOW, "U0LEAD", NOW)
    assert shift is not None and (shift.user, shift.override) == ("U0NET009", True)
    assert shift.end == NOW + timedelta(hours=4)
    assert later is not None and later.user == "U0NET002"


def test_active_overrides_are_current_and_upcoming_of_the_team_asked(
    engine: Engine, now: FixedClock
) -> None:
    hour = timedelta(hours=1)
    with session(engine) as db:
        add_override(db, "network", "primary", "U0PAST", NOW, NOW + hour, "U0LEAD", now)
        add_override(db, "network", "primary", "U0SOON", NOW + 3 * hour, NOW + 5 * hour, "U0L", now)
        add_override(db, "it", "secondary", "U0IT009", NOW, NOW + 9 * hour, "U0LEAD", now)

    with session(engine) as db:
        network = active_overrides(db, "network", NOW + 2 * hour)
        everyone = active_overrides(db, None, NOW + 2 * hour)

    assert [o.user for o in network] == ["U0SOON"]
    assert [o.user for o in everyone] == ["U0SOON", "U0IT009"]
    assert everyone[0].start == NOW + 3 * hour and everyone[0].start.tzinfo is not None


def test_the_later_of_two_overlapping_overrides_wins_after_a_round_trip(
    engine: Engine, now: FixedClock
) -> None:
    schedule = load_oncall(SAMPLE_ONCALL)
    with session(engine) as db:
        add_override(db, "network", "primary", "U0FIRST", NOW, NOW + timedelta(hours=8), "U0L", now)
    now.advance(minutes=1)
    with session(engine) as db:
        add_override(
            db, "network", "primary", "U0SECOND", NOW, NOW + timedelta(hours=2), "U0L", now
        )
        stored = active_overrides(db, "network", NOW)

    shifts = [
        who_is_on_call(schedule, "network", "primary", NOW + timedelta(hours=h), stored)
        for h in (1, 3)
    ]
    assert [shift and shift.user for shift in shifts] == ["U0SECOND", "U0FIRST"]


@pytest.mark.parametrize(
    ("team", "layer", "user", "hours", "message"),
    [
        ("payroll", "primary", "U0X", 1, "no team 'payroll'"),
        ("facilities", "secondary", "U0X", 1, "team 'facilities' has no 'secondary' layer"),
        ("network", "primary", "alice", 1, "'alice' is not a Slack user id"),
        ("network", "primary", "U0X", -1, "must end after it starts"),
        ("network", "primary", "U0X", 24 * 91, "at most 90 days"),
    ],
)
def test_a_bad_override_is_refused_and_nothing_is_stored(
    engine: Engine, now: FixedClock, team: str, layer: str, user: str, hours: int, message: str
) -> None:
    schedule = load_oncall(SAMPLE_ONCALL)
    with pytest.raises(OncallError, match=message), session(engine) as db:
        end = NOW + timedelta(hours=hours)
        add_override(db, team, layer, user, NOW, end, "U0L", now, schedule=schedule)

    with session(engine) as db:
        assert active_overrides(db, None, NOW - timedelta(days=1)) == []


def test_an_override_already_over_is_refused(engine: Engine, now: FixedClock) -> None:
    with pytest.raises(OncallError, match="already be over"), session(engine) as db:
        start = NOW - timedelta(hours=5)
        add_override(db, "network", "primary", "U0X", start, start + timedelta(hours=1), "U0L", now)


def test_a_broken_file_raises_every_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text("timezone: Mars/Olympus\nteams:\n  it:\n    layers: {}\n")

    with pytest.raises(OncallFileError) as caught:
        load_oncall(path)

    assert [str(p).split(": ")[0] for p in caught.value.problems] == [f"{path}:1", f"{path}:4"]
    with pytest.raises(OncallFileError, match=r"cannot read the on-call file"):
        load_oncall(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("4h", timedelta(hours=4)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        (" 4H ", timedelta(hours=4)),
    ],
)
def test_durations_read_as_people_write_them(text: str, length: timedelta) -> None:
    assert parse_duration(text) == length


@pytest.mark.parametrize("text", ["", "4", "four hours", "0h", "-4h"])
def test_bad_durations_say_what_to_write(text: str) -> None:
    with pytest.raises(OncallError, match="4h"):
        parse_duration(text)


def test_times_without_an_offset_are_in_the_given_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")

    assert parse_when("now", berlin, NOW) == NOW
    assert parse_when("2026-03-29T09:00", berlin, NOW) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert parse_when("2026-03-29T09:00Z", berlin, NOW) == datetime(2026, 3, 29, 9, tzinfo=UTC)
    with pytest.raises(OncallError, match="ISO 8601"):
        parse_when("tomorrow", berlin, NOW)
