"""Where the time comes from: the system clock in production, a settable one in tests.

Every timestamp Jethro stores is read from a `Clock`, so tests advance time instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, at: datetime | None = None) -> None:
        self._at = _aware_utc(at or datetime(2025, 1, 6, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def advance(self, delta: timedelta | None = None, /, **units: float) -> datetime:
        """Move forward by `delta` or by `timedelta` keywords (`advance(minutes=5)`)."""
        step = (delta or timedelta()) + timedelta(**units)
        if step < timedelta():
            raise ValueError(f"a clock only moves forward; got {step}")
        self._at += step
        return self._at


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: give it a timezone (e.g. tzinfo=UTC)")
    return at.astimezone(UTC)
