"""Group commit: threads that each need a small write durable now share one transaction.

Every Slack request that needs an answer is stored before it is acknowledged (`bot.receipts`),
one tiny insert each. Done one transaction each, at a few hundred requests a second the commits
(and on SQLite the one write lock) were the acknowledgement's whole latency. Here the first
thread to arrive writes everything waiting, its own item included, in one transaction; threads
arriving meanwhile wait, and the first of them writes the next group. No thread of its own, no
timer: a lone request is written at once, and a group grows only while a write is in progress.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class _Waiting(Generic[T]):
    item: T
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[T]):
    """`submit(item)` returns once `write` has committed a group holding `item`, or raises what
    `write` raised for that group (every item of a failed group gets the error)."""

    def __init__(self, write: Callable[[list[T]], None]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._waiting: list[_Waiting[T]] = []
        self._writing = False

    def submit(self, item: T) -> None:
        mine = _Waiting(item)
        with self._lock:
            self._waiting.append(mine)
            lead = not self._writing
            self._writing = True
        if not lead:
            mine.done.wait()
            if not mine.lead:
                if mine.error is not None:
                    raise mine.error
                return
        self._write_group(mine)

    def _write_group(self, mine: _Waiting[T]) -> None:
        with self._lock:
            group, self._waiting = self._waiting, []
        error: BaseException | None = None
        try:
            self._write([waiting.item for waiting in group])
        except BaseException as exc:  # handed to every submitter of the group
            error = exc
        with self._lock:
            successor = self._waiting[0] if self._waiting else None
            if successor is None:
                self._writing = False
        for waiting in group:
            if waiting is not mine:
                waiting.error = error
                waiting.done.set()
        if successor is not None:
            successor.lead = True
            successor.done.set()
        if error is not None:
            raise error
