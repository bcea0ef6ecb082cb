"""SQLite writers of one process queue on a Python lock, not in SQLite's busy handler.

SQLite has one write lock per file. A connection that finds it taken sleeps in its busy handler
(1, 2, 5, ... up to 100 ms a try) and tries again, so under load, with a dozen threads writing
small transactions, most of the time went to sleeping while the lock was free: at 200 reports a
second the bot answered 6. Here each connection takes a per-file `threading.Lock` before its first
write (the statement that opens SQLite's write transaction) and gives it back when the transaction
ends, so a waiting thread gets the lock the moment it is free. Other processes on the same file
(the `jethro` CLI, a second `jethro run`) still meet through SQLite's lock and busy handler.

Installed as the `sqlite3.connect(factory=...)` of every SQLite engine (`escalation.db`), below
SQLAlchemy, so every session, `engine.begin()` and migration is covered without anyone asking.
A thread that waits longer than the busy timeout gets SQLite's own "database is locked" error,
as it would have without this lock (for example, a write nested in another connection's
transaction in the same thread).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_WRITES = ("insert", "update", "delete", "replace", "begin", "savepoi", "create", "drop", "alter")
"""Statements that may take SQLite's write lock; a read never waits for the Python one."""


class WriterLock:
    """A lock whose urgent waiters go before the others: the receipt a Slack acknowledgement
    waits for is written before the work queued behind it (`urgent_writes`)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held = False
        self._urgent_waiting = 0
        self.waiting = 0
        """Threads waiting for the lock now."""

    def acquire(self, timeout: float) -> bool:
        urgent = getattr(_thread, "urgent", False)
        with self._changed:
            self.waiting += 1
            if urgent:
                self._urgent_waiting += 1
            try:
                free = self._changed.wait_for(
                    lambda: not self._held and (urgent or not self._urgent_waiting), timeout
                )
                self._held = self._held or free
                return free
            finally:
                self.waiting -= 1
                if urgent:
                    self._urgent_waiting -= 1

    def release(self) -> None:
        with self._changed:
            self._held = False
            self._changed.notify_all()


_thread = threading.local()


@contextmanager
def urgent_writes() -> Iterator[None]:
    """Writes of this thread, in the block, take the lock before the others waiting for it."""
    _thread.urgent = True
    try:
        yield
    finally:
        _thread.urgent = False


_locks: dict[str, WriterLock] = {}
_locks_guard = threading.Lock()


def _lock_for(database: str) -> WriterLock | None:
    """The lock of a database file; None for an in-memory database (one connection, no sharing)."""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    path = os.path.realpath(database)
    with _locks_guard:
        return _locks.setdefault(path, WriterLock())


class QueuedWriterConnection(sqlite3.Connection):
    """A `sqlite3.Connection` that holds its file's process lock while it writes."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._writer_lock = _lock_for(os.fsdecode(database))
        self._holding = False
        self._wait_seconds = float(kwargs.get("timeout", args[0] if args else 5.0))

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or QueuedWriterCursor)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self.cursor().execute(sql, *args)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release_if_done()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release_if_done()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    @contextmanager
    def _statement(self, sql: str) -> Iterator[None]:
        """Around one statement: the lock first if it writes, given back if no transaction is
        left open afterwards."""
        self._before(sql)
        try:
            yield
        finally:
            self._release_if_done()

    def _before(self, sql: str) -> None:
        if self._writer_lock is None or self._holding:
            return
        if not sql.lstrip()[:7].lower().startswith(_WRITES):
            return
        if not self._writer_lock.acquire(timeout=self._wait_seconds):
            raise sqlite3.OperationalError("database is locked")
        self._holding = True

    def _release_if_done(self) -> None:
        if self._holding and not self.in_transaction:
            self._release()

    def _release(self) -> None:
        if self._holding and self._writer_lock is not None:
            self._holding = False
            self._writer_lock.release()


class QueuedWriterCursor(sqlite3.Cursor):
    """Takes the lock before a write; gives it back after a statement that left no transaction
    open (a failed first write, DDL outside a transaction, `COMMIT` as a statement)."""

    connection: QueuedWriterConnection

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        with self.connection._statement(sql):
            return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        with self.connection._statement(sql):
            return super().executemany(sql, *args)

    def executescript(self, script: str) -> sqlite3.Cursor:
        with self.connection._statement("begin"):
            return super().executescript(script)
