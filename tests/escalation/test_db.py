from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from escalation.clock import FixedClock
from escalation.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    session,
    upgrade,
)
from escalation.errors import DatabaseError
from escalation.tickets import list_tickets, open_ticket

TABLES = {
    "alembic_version",
    "ticket",
    "ticket_event",
    "conversation_turn",
    "feedback",
    "outbox_message",
    "slack_conversation",
    "slack_event",
    "oncall_override",
    "escalation_step",
    "ticket_report",
    "storm_lock",
    "slack_receipt",
    "learned_lesson",
}


UPGRADE_WHEN_TOLD = """
import sys
from escalation.db import upgrade
print("ready", flush=True)
sys.stdin.readline()
upgrade(sys.argv[1])
"""


def start_waiting(code: str, *args: str) -> subprocess.Popen[str]:
    root = Path(__file__).parents[2]
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_creates_the_schema_and_a_second_upgrade_changes_nothing(
    database_url: str, clock: FixedClock
) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        with session(engine) as s:
            open_ticket(s, reporter="U_A", source="cli", text="kept", decision=None, clock=clock)

        upgrade(database_url)

        assert current_revision(engine) == head_revision()
        assert tables(engine) == TABLES
        with session(engine) as s:
            assert [t.text for t in list_tickets(s)] == ["kept"]
    finally:
        engine.dispose()


def test_the_models_match_the_migrations(engine: Engine) -> None:
    """Fails when a model changed without a migration: write one (see `alembic_config`)."""
    with engine.connect() as connection:
        command.check(alembic_config(connection))


def test_two_processes_starting_at_once_both_upgrade_safely(database_url: str) -> None:
    """As when two workers start together: the second waits for the first, then finds the
    schema at head. (Processes, not threads: one process runs one migration at a time.)"""
    workers = [start_waiting(UPGRADE_WHEN_TOLD, database_url) for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
        assert tables(engine) == TABLES
    finally:
        engine.dispose()


def test_a_database_from_a_newer_jethro_is_refused_by_name(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")

    with pytest.raises(
        DatabaseError, match=r"cannot migrate the database at DATABASE_URL=.*'9999'"
    ):
        upgrade(engine)


def test_a_malformed_url_names_the_setting() -> None:
    with pytest.raises(DatabaseError, match=r"DATABASE_URL='not a url' is not a database URL"):
        make_engine("not a url")


def test_an_unknown_database_kind_names_the_setting() -> None:
    with pytest.raises(DatabaseError, match=r"DATABASE_URL=oracle2://h/db cannot be used"):
        make_engine("oracle2://h/db")


def test_an_unreachable_server_names_the_setting_without_the_password() -> None:
    with pytest.raises(DatabaseError) as raised:
        upgrade("postgresql://jethro:s3cret@127.0.0.1:1/jethro")

    message = str(raised.value)
    assert message.startswith(
        "cannot open the database at "
        "DATABASE_URL=postgresql+psycopg://jethro:***@127.0.0.1:1/jethro: "
    )
    assert "s3cret" not in message


def test_a_sqlite_file_gets_its_folder_created(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "jethro.db"

    upgrade(f"sqlite:///{path}")

    assert path.is_file()


def test_a_sqlite_file_whose_folder_cannot_exist_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file, not a folder")

    with pytest.raises(DatabaseError, match=r"DATABASE_URL=sqlite:///.*cannot create the folder"):
        make_engine(f"sqlite:///{tmp_path / 'blocker' / 'jethro.db'}")


def test_sqlite_enforces_foreign_keys_and_lets_readers_run_beside_a_writer(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'jethro.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_heroku_style_postgres_urls_use_psycopg() -> None:
    engine = make_engine("postgres://u@db.example/jethro")

    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_a_new_sqlite_file_locked_by_a_starting_neighbour_is_waited_for(tmp_path: Path) -> None:
    """Switching a file to WAL fails at once while another process writes to it (SQLite skips
    its busy handler there): the second of two processes starting together used to crash."""
    path = tmp_path / "jethro.db"
    neighbour = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    neighbour.execute("CREATE TABLE started (at TEXT)")
    neighbour.execute("BEGIN IMMEDIATE")
    neighbour.execute("INSERT INTO started VALUES ('now')")
    release = threading.Timer(0.5, lambda: neighbour.execute("COMMIT"))
    release.start()
    try:
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        engine.dispose()
    finally:
        release.join()
        neighbour.close()
    assert mode == "wal"
