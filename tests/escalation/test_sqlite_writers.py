"""SQLite writers of one process queue on a Python lock: every write lands, reads never wait,
and a write that can never get the lock fails the way SQLite would, instead of hanging."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import pytest

from escalation.sqlite_writers import QueuedWriterConnection, urgent_writes


def connect(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, timeout=timeout, factory=QueuedWriterConnection, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode = WAL").fetchone()
    return connection


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "writers.db"
    with connect(path) as connection:
        connection.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT UNIQUE)")
    return path


def test_many_threads_writing_at_once_all_land(path: Path) -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        connection = connect(path)
        try:
            for i in range(20):
                connection.execute("INSERT INTO note (text) VALUES (?)", (f"{n}-{i}",))
                connection.execute("UPDATE note SET text = text WHERE id = 1")
                connection.commit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM note").fetchone() == (160,)


def test_a_reader_does_not_wait_for_a_writer(path: Path) -> None:
    writer = connect(path)
    writer.execute("INSERT INTO note (text) VALUES ('in progress')")  # holds the lock
    seen: list[object] = []
    reader = threading.Thread(
        target=lambda: seen.append(connect(path).execute("SELECT count(*) FROM note").fetchone())
    )
    reader.start()
    reader.join(timeout=10)

    assert seen == [(0,)], "the reader saw the last commit without waiting"
    writer.commit()


def test_a_failed_write_and_a_rollback_give_the_lock_back(path: Path) -> None:
    first = connect(path, timeout=0.5)
    first.execute("INSERT INTO note (text) VALUES ('once')")
    first.commit()
    with pytest.raises(sqlite3.IntegrityError):
        first.execute("INSERT INTO note (text) VALUES ('once')")
    first.rollback()
    first.execute("INSERT INTO note (text) VALUES ('undone')")
    first.rollback()

    other = connect(path, timeout=0.5)
    other.execute("INSERT INTO note (text) VALUES ('twice')")
    other.commit()
    assert other.execute("SELECT text FROM note ORDER BY id").fetchall() == [("once",), ("twice",)]


def test_a_write_nested_in_another_connections_transaction_fails_instead_of_hanging(
    path: Path,
) -> None:
    outer = connect(path, timeout=0.2)
    outer.execute("INSERT INTO note (text) VALUES ('outer')")
    inner = connect(path, timeout=0.2)

    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        inner.execute("INSERT INTO note (text) VALUES ('inner')")

    outer.commit()
    inner.execute("INSERT INTO note (text) VALUES ('inner')")  # free again once it committed
    inner.commit()


def test_an_urgent_writer_goes_before_the_writers_already_waiting(path: Path) -> None:
    holder = connect(path)
    holder.execute("INSERT INTO note (text) VALUES ('holding')")  # holds the lock
    order: list[str] = []
    lock = holder._writer_lock
    assert lock is not None

    def write(text: str, urgent: bool) -> None:
        connection = connect(path)
        with urgent_writes() if urgent else nullcontext():
            connection.execute("INSERT INTO note (text) VALUES (?)", (text,))
        order.append(text)
        connection.commit()

    normal = threading.Thread(target=write, args=("work", False))
    normal.start()
    _wait_for(lambda: lock.waiting == 1)
    urgent = threading.Thread(target=write, args=("receipt", True))
    urgent.start()
    _wait_for(lambda: lock.waiting == 2)
    holder.commit()
    for thread in (normal, urgent):
        thread.join(10)

    assert order == ["receipt", "work"]


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert condition()
