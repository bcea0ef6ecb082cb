"""The local workspace's clock: the system's, ahead by every skip, never back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.clock import OffsetClock


def test_a_skip_moves_the_clock_ahead_and_time_keeps_running() -> None:
    clock = OffsetClock()
    before = clock.now()

    clock.skip(timedelta(minutes=15))
    clock.skip(timedelta(hours=1))

    assert clock.ahead == timedelta(minutes=75)
    assert clock.now() - before >= timedelta(minutes=75)
    assert clock.now().tzinfo is not None


def test_the_clock_never_goes_back() -> None:
    clock = OffsetClock()

    with pytest.raises(ValueError, match="only moves forward"):
        clock.skip(timedelta(minutes=-5))
    assert clock.ahead == timedelta()
