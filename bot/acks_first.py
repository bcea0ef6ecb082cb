"""Acknowledgements first: background work waits its turn while Slack's requests are in flight.

Slack gives an HTTP request 3 seconds and then sends it again, while an answer may come a moment
later without harm: every report is stored before its acknowledgement (`bot.receipts`), so work
deferred is never work lost. In one process, though, the acknowledgements and the work after them
share one interpreter lock, and under a burst the work (matching, rendering, transactions,
sending) took most of it: at 200 reports a second the acknowledgement's p50 went to 0.5 s. So
the HTTP handler counts the Slack requests in flight, and the desk and the outbox, before each
report or batch, wait until none is (at most `MAX_YIELD_SECONDS`, so a steady flood still leaves
them a share). Socket Mode has no such requests; nothing waits there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_YIELD_SECONDS = 0.05


class AcksFirst:
    def __init__(self, max_yield: float = MAX_YIELD_SECONDS) -> None:
        self.max_yield = max_yield
        self._in_flight = 0
        self._idle = threading.Condition()

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Around the handling of one Slack request, up to its HTTP response."""
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    def wait_turn(self) -> None:
        """Before background work: let the requests in flight be acknowledged first."""
        with self._idle:
            if self._in_flight:
                self._idle.wait_for(lambda: self._in_flight == 0, timeout=self.max_yield)

    @property
    def in_flight(self) -> int:
        return self._in_flight
