"""A background loop on a daemon thread: one `tick` every `poll_seconds`, or at once on `wake()`.

The outbox and the escalation timers run this way inside `jethro run`. Errors (the database
away, a bug) are logged and the loop goes on; state lives in the database, so stopping loses
nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlmodel import Session

from escalation.clock import Clock

log = logging.getLogger(__name__)

_QUEUED = "jethro_queued_work"


class Work(StrEnum):
    """The workers a transaction can give work to, for `note_queued` and `queued`."""

    OUTBOX = "outbox"
    ESCALATION = "escalation"
    SLA = "sla"


def note_queued(session: Session, work: Work) -> None:
    """The session's transaction gave `work` something to do now: wake it after the commit.

    Waking every worker after every commit made each one run its "what is due" query (and on
    SQLite take the write lock) for nothing; the functions that queue work note it here instead.
    """
    session.info.setdefault(_QUEUED, set()).add(work)


def queued(session: Session) -> frozenset[Work]:
    """What `note_queued` noted in the session (still readable after it is closed)."""
    return frozenset(session.info.get(_QUEUED, ()))


class PollingWorker:
    """Subclasses implement `tick`, returning True when there is more work right away."""

    name = "jethro-worker"

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Finish the work in hand and stop; what is still due stays in the database."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s did not stop within %ss", self.name, timeout)
            self._thread = None

    def wake(self) -> None:
        self._wakeup.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            busy = False
            try:
                busy = self.tick()
            except Exception:
                log.exception("%s failed; retrying in %ss", self.name, self.poll_seconds)
            if not busy:
                self._wakeup.wait(self.poll_seconds)


class DueWorker(PollingWorker):
    """Runs what is due in batches of `batch`, then calls `after` (waking the outbox, so what the
    batch queued goes out without waiting for its poll); a full batch means more is due now."""

    batch = 20

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        after: Callable[[], None] = lambda: None,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__(poll_seconds)
        self.engine = engine
        self.clock = clock
        self.after = after

    def run_due(self) -> int:
        """Handle at most `batch` due items; how many were handled."""
        raise NotImplementedError

    def run_once(self) -> int:
        handled = self.run_due()
        if handled:
            self.after()
        return handled

    def tick(self) -> bool:
        return self.run_once() == self.batch
