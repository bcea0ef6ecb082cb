"""Where the time comes from: the system clock in production, a settable one in tests, and
the system clock plus skips in the local workspace (to watch timers fire instead of waiting).

Every timestamp Jethro stores is read from a `Clock`, so tests advance time instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """The system clock, ahead by every `skip` so far: time still runs, and jumps on demand."""

    def __init__(self) -> None:
        self._ahead = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._ahead

    @property
    def ahead(self) -> timedelta:
        with self._lock:
            return self._ahead

    def skip(self, delta: timedelta) -> datetime:
        if delta < timedelta():
            raise ValueError(f"a clock only moves forward; got {delta}")
        with self._lock:
            self._ahead += delta
        return self.now()


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
