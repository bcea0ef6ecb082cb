"""A background loop on a daemon thread: one `tick` every `poll_seconds`, or at once on `wake()`.

The outbox and the escalation timers run this way inside `jethro run`. Errors (the database
away, a bug) are logged and the loop goes on; state lives in the database, so stopping loses
nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from escalation.clock import Clock
from escalation.db import session as unit_of_work

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


class _Row(Protocol):
    id: int | None


Row = TypeVar("Row", bound=_Row)


def claim_each_due(
    engine: Engine,
    clock: Clock,
    due: SelectOfScalar[Row],
    handle: Callable[[Session, Row], None],
    *,
    any_due: sa.Select[Any],
    postpone: Callable[[int, datetime], None],
    retry: timedelta,
    what: str,
    limit: int,
) -> int:
    """Claim and `handle` up to `limit` due rows, one transaction each; how many were handled.

    `due` selects one due row by the parameter `now`, locked and skipping locked rows
    (PostgreSQL); SQLite takes its write lock up front instead. A row whose handling fails is
    `postpone`d by `retry`, so one bad row cannot hold up every row behind it; `what` names it
    in the log, with `{}` for its id. `any_due` (a plain select by `now`) is read first: when
    nothing is due, as nearly always, no write lock is taken.
    """
    with engine.connect() as connection:
        if connection.execute(any_due, {"now": clock.now()}).first() is None:
            return 0
    handled = 0
    while handled < limit:
        claimed: list[int] = []
        try:
            with unit_of_work(engine) as s:
                if engine.dialect.name == "sqlite":
                    s.connection().exec_driver_sql("BEGIN IMMEDIATE")
                row = s.exec(due, params={"now": clock.now()}).first()
                if row is None:
                    break
                claimed.append(row.id or 0)
                handle(s, row)
        except Exception:
            if not claimed:
                raise
            log.exception("%s failed; retrying in %s", what.format(claimed[0]), retry)
            postpone(claimed[0], clock.now() + retry)
        handled += 1
    return handled


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
