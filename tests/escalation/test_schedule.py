"""Who is on call: rotations in local time across DST, handoffs at the boundary, overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.schedule import (
    Layer,
    OncallSchedule,
    Override,
    Rotation,
    Shift,
    Team,
    UnknownLayerError,
    next_shift,
    oncall_summary,
    who_is_on_call,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TRIO = ("U0A", "U0B", "U0C")


def schedule(
    rotation: Rotation,
    handoff: time = time(9, 0),
    start: date = date(2026, 1, 5),
    zone: str = "Europe/Berlin",
    members: tuple[str, ...] = TRIO,
) -> OncallSchedule:
    primary = Layer("primary", members, rotation, handoff, start)
    secondary = Layer("secondary", members[::-1], rotation, handoff, start)
    return OncallSchedule(zone, (Team("network", zone, (primary, secondary)),))


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def on_call(plan: OncallSchedule, at: datetime, overrides: list[Override] | None = None) -> Shift:
    shift = who_is_on_call(plan, "network", "primary", at, overrides or [])
    assert shift is not None
    return shift


def override(
    user: str, start: datetime, end: datetime, created_minute: int, layer: str = "primary"
) -> Override:
    created = datetime(2026, 1, 1, 0, created_minute, tzinfo=UTC)
    return Override("network", layer, user, start, end, created, id=created_minute)


WEEKLY = schedule(Rotation(days=7))
DAILY = schedule(Rotation(days=1))


def test_a_weekly_rotation_takes_members_in_turn_from_the_start_and_wraps_around() -> None:
    first = on_call(WEEKLY, local(BERLIN, 2026, 1, 7, 15, 0))
    assert first == Shift(
        "U0A", local(BERLIN, 2026, 1, 5, 9, 0), local(BERLIN, 2026, 1, 12, 9, 0), "primary"
    )
    assert on_call(WEEKLY, local(BERLIN, 2026, 1, 14, 9, 0)).user == "U0B"
    assert on_call(WEEKLY, local(BERLIN, 2026, 1, 21, 9, 0)).user == "U0C"
    assert on_call(WEEKLY, local(BERLIN, 2026, 1, 28, 9, 0)).user == "U0A"


def test_the_handoff_instant_belongs_to_the_next_member() -> None:
    handoff = local(BERLIN, 2026, 1, 12, 9, 0)

    assert on_call(WEEKLY, handoff - timedelta(microseconds=1)).user == "U0A"
    assert on_call(WEEKLY, handoff).user == "U0B"
    assert on_call(WEEKLY, handoff).start == handoff


def test_nobody_is_on_call_before_the_first_shift_and_next_is_the_first_member() -> None:
    before = local(BERLIN, 2026, 1, 5, 8, 59)

    assert who_is_on_call(WEEKLY, "network", "primary", before) is None
    upcoming = next_shift(WEEKLY, "network", "primary", before)
    assert upcoming is not None
    assert (upcoming.user, upcoming.start) == ("U0A", local(BERLIN, 2026, 1, 5, 9, 0))


def test_weekly_handoffs_stay_at_nine_local_on_both_sides_of_the_berlin_dst_changes() -> None:
    # Spring forward on Sunday 2026-03-29, fall back on Sunday 2026-10-25.
    spring = on_call(WEEKLY, local(BERLIN, 2026, 3, 29, 12, 0))
    autumn = on_call(WEEKLY, local(BERLIN, 2026, 10, 25, 12, 0))

    for shift in (spring, autumn):
        start, end = shift.start.astimezone(BERLIN), shift.end.astimezone(BERLIN)
        assert (start.hour, end.hour, start.weekday(), end.weekday()) == (9, 9, 0, 0)
    assert spring.end - spring.start == timedelta(days=7, hours=-1)
    assert autumn.end - autumn.start == timedelta(days=7, hours=1)


def test_a_daily_shift_across_spring_forward_is_23_hours_and_across_fall_back_25() -> None:
    spring = on_call(DAILY, local(BERLIN, 2026, 3, 29, 3, 30))
    autumn = on_call(DAILY, local(BERLIN, 2026, 10, 25, 2, 30))

    assert spring.start == local(BERLIN, 2026, 3, 28, 9, 0)
    assert spring.end == local(BERLIN, 2026, 3, 29, 9, 0)
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end - autumn.start == timedelta(hours=25)
    after = on_call(DAILY, local(BERLIN, 2026, 3, 29, 9, 0))
    assert after.start == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 summer time


def test_new_york_changes_on_other_dates_and_the_handoff_stays_local() -> None:
    plan = schedule(Rotation(days=1), time(10, 0), zone="America/New_York")
    # US spring forward 2026-03-08; Berlin is still on winter time then.
    spring = on_call(plan, local(NEW_YORK, 2026, 3, 8, 12, 0))
    autumn = on_call(plan, local(NEW_YORK, 2026, 11, 1, 1, 30))

    assert spring.end - spring.start == timedelta(hours=24)  # 03-08 10:00 EDT to 03-09 10:00
    before = on_call(plan, local(NEW_YORK, 2026, 3, 8, 9, 0))
    assert before.end - before.start == timedelta(hours=23)
    assert autumn.start == local(NEW_YORK, 2026, 10, 31, 10, 0)
    assert autumn.end - autumn.start == timedelta(hours=25)
    assert spring.start.astimezone(UTC) == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)


def test_the_same_instant_is_seen_in_each_teams_own_zone() -> None:
    plan = schedule(Rotation(days=1), time(10, 0), zone="America/New_York")
    at = datetime(2026, 6, 1, 13, 59, tzinfo=UTC)  # 09:59 in New York: still the previous day

    assert on_call(plan, at).start == local(NEW_YORK, 2026, 5, 31, 10, 0)
    assert on_call(plan, at + timedelta(minutes=1)).start == local(NEW_YORK, 2026, 6, 1, 10, 0)


def test_custom_day_rotations_count_calendar_days() -> None:
    plan = schedule(Rotation(days=3), time(10, 0), zone="America/New_York")
    at = local(NEW_YORK, 2026, 3, 8, 12, 0)  # 62 days after the start: turn 20 (from 0)

    shift = on_call(plan, at)
    assert shift.user == TRIO[20 % 3]
    assert shift.start == local(NEW_YORK, 2026, 3, 6, 10, 0)
    assert shift.end == local(NEW_YORK, 2026, 3, 9, 10, 0)
    assert shift.end - shift.start == timedelta(days=3, hours=-1)


def test_hour_rotations_are_real_hours_even_across_dst() -> None:
    plan = schedule(Rotation(hours=12), time(9, 0))

    shift = on_call(plan, local(BERLIN, 2026, 3, 29, 8, 0))
    assert shift.end - shift.start == timedelta(hours=12)
    assert shift.end == local(BERLIN, 2026, 3, 29, 10, 0)  # 09:00 + 12 h twice, one hour lost
    assert on_call(plan, local(BERLIN, 2026, 1, 5, 21, 0)).user == "U0B"


def test_a_handoff_in_the_hour_skipped_by_dst_moves_forward() -> None:
    plan = schedule(Rotation(days=1), time(2, 30))

    shift = on_call(plan, local(BERLIN, 2026, 3, 29, 12, 0))
    assert shift.start.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert shift.end == local(BERLIN, 2026, 3, 30, 2, 30)


def test_an_override_replaces_the_member_for_its_window_only() -> None:
    start, end = local(BERLIN, 2026, 1, 7, 12, 0), local(BERLIN, 2026, 1, 7, 16, 0)
    overrides = [override("U0Z", start, end, 1)]

    during = on_call(WEEKLY, local(BERLIN, 2026, 1, 7, 13, 0), overrides)
    before = on_call(WEEKLY, local(BERLIN, 2026, 1, 7, 11, 0), overrides)
    after = on_call(WEEKLY, end, overrides)

    assert during == Shift("U0Z", start, end, "primary", override=True)
    assert (before.user, before.start, before.end) == ("U0A", local(BERLIN, 2026, 1, 5, 9), start)
    assert (after.user, after.start, after.end) == ("U0A", end, local(BERLIN, 2026, 1, 12, 9))
    assert who_is_on_call(WEEKLY, "network", "secondary", during.start, overrides) == Shift(
        "U0C", local(BERLIN, 2026, 1, 5, 9), local(BERLIN, 2026, 1, 12, 9), "secondary"
    )


def test_where_overrides_overlap_the_latest_created_wins_and_the_older_resumes() -> None:
    older = override("U0Y", local(BERLIN, 2026, 1, 7, 10), local(BERLIN, 2026, 1, 7, 20), 1)
    newer = override("U0Z", local(BERLIN, 2026, 1, 7, 12), local(BERLIN, 2026, 1, 7, 14), 2)
    both = [newer, older]

    at = [on_call(WEEKLY, local(BERLIN, 2026, 1, 7, hour), both) for hour in (11, 13, 15)]

    hours = [(s.user, s.start.astimezone(BERLIN).hour, s.end.astimezone(BERLIN).hour) for s in at]
    assert hours == [
        ("U0Y", 10, 12),
        ("U0Z", 12, 14),
        ("U0Y", 14, 20),
    ]
    # The older one, created later, covers the newer one completely.
    reversed_ = [
        override("U0Y", older.start, older.end, 3),
        override("U0Z", newer.start, newer.end, 2),
    ]
    assert on_call(WEEKLY, local(BERLIN, 2026, 1, 7, 13), reversed_).user == "U0Y"


def test_an_override_spanning_a_handoff_is_one_shift() -> None:
    start, end = local(BERLIN, 2026, 1, 11, 18, 0), local(BERLIN, 2026, 1, 12, 18, 0)
    shift = on_call(WEEKLY, local(BERLIN, 2026, 1, 12, 9, 0), [override("U0Z", start, end, 1)])

    assert (shift.user, shift.start, shift.end) == ("U0Z", start, end)


def test_next_shift_follows_the_current_one_through_overrides() -> None:
    start, end = local(BERLIN, 2026, 1, 7, 12, 0), local(BERLIN, 2026, 1, 7, 16, 0)
    overrides = [override("U0Z", start, end, 1)]

    def upcoming(at: datetime) -> Shift:
        shift = next_shift(WEEKLY, "network", "primary", at, overrides)
        assert shift is not None
        return shift

    assert (upcoming(local(BERLIN, 2026, 1, 7, 11)).user, upcoming(start).user) == ("U0Z", "U0A")
    assert upcoming(end).start == local(BERLIN, 2026, 1, 12, 9, 0)
    assert upcoming(end).user == "U0B"


def test_overrides_of_other_teams_and_layers_change_nothing() -> None:
    start, end = local(BERLIN, 2026, 1, 7, 12, 0), local(BERLIN, 2026, 1, 7, 16, 0)
    elsewhere = [
        override("U0Z", start, end, 1, layer="secondary"),
        Override("it", "primary", "U0Q", start, end, datetime(2026, 1, 1, tzinfo=UTC), id=9),
    ]

    assert on_call(WEEKLY, local(BERLIN, 2026, 1, 7, 13), elsewhere).user == "U0A"


def test_the_summary_gives_now_and_next_for_every_layer() -> None:
    at = local(BERLIN, 2026, 1, 7, 13, 0)

    [team] = oncall_summary(WEEKLY, [], at)

    assert (team.team, team.timezone) == ("network", "Europe/Berlin")
    assert [(x.layer, x.now and x.now.user, x.next and x.next.user) for x in team.layers] == [
        ("primary", "U0A", "U0B"),
        ("secondary", "U0C", "U0B"),
    ]
    assert oncall_summary(WEEKLY, [], at, teams=("it",)) == []


def test_an_unknown_team_or_layer_is_named() -> None:
    at = local(BERLIN, 2026, 1, 7, 13, 0)

    with pytest.raises(UnknownLayerError, match="no team 'payroll'"):
        who_is_on_call(WEEKLY, "payroll", "primary", at)
    with pytest.raises(UnknownLayerError, match="no 'tertiary' layer"):
        next_shift(WEEKLY, "network", "tertiary", at)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        who_is_on_call(WEEKLY, "network", "primary", datetime(2026, 1, 7, 13, 0))


def test_overrides_written_in_local_time_work_in_the_repeated_fall_back_hour() -> None:
    # 02:30 happens twice in Berlin on 2026-10-25; fold=1 is the second time (CET).
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)
    end = (first.astimezone(UTC) + timedelta(minutes=45)).astimezone(BERLIN)  # 02:15 CET
    cover = override("U0Z", first, end, 1)

    assert on_call(DAILY, first + timedelta(minutes=10), [cover]).user == "U0Z"
    assert on_call(DAILY, second, [cover]).user != "U0Z"


ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"])
ROTATIONS = st.sampled_from(
    [Rotation(days=1), Rotation(days=7), Rotation(days=3), Rotation(hours=12)]
)
INSTANTS = st.datetimes(datetime(2026, 1, 1), datetime(2029, 1, 1), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(
    zone=ZONES,
    rotation=ROTATIONS,
    at=INSTANTS,
    cuts=st.lists(st.tuples(st.integers(-72, 72), st.integers(1, 48)), max_size=3),
)
def test_shifts_cover_the_moment_asked_and_hand_over_without_gaps(
    zone: str, rotation: Rotation, at: datetime, cuts: list[tuple[int, int]]
) -> None:
    plan = schedule(rotation, time(9, 0), date(2025, 12, 1), zone)
    overrides = [
        override(f"U0OV{i}", at + timedelta(hours=shift), at + timedelta(hours=shift + hours), i)
        for i, (shift, hours) in enumerate(cuts)
    ]

    now = on_call(plan, at, overrides)
    upcoming = next_shift(plan, "network", "primary", at, overrides)

    assert now.start <= at < now.end
    assert upcoming is not None and upcoming.start == now.end
    assert who_is_on_call(plan, "network", "primary", now.end, overrides) == upcoming
    if rotation.days and not overrides:
        local_start, local_end = (
            now.start.astimezone(ZoneInfo(zone)),
            now.end.astimezone(ZoneInfo(zone)),
        )
        assert (local_start.time(), local_end.time()) == (time(9), time(9))
        assert abs(now.end - now.start - timedelta(days=rotation.days)) <= timedelta(hours=1)
