"""Opening the database named by `DATABASE_URL`, migrating it, and the session block callers use.

Nothing here reads the environment: the caller passes the URL (see `bot/config.py`). Errors are
`DatabaseError`s that name `DATABASE_URL` and never show the password.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlmodel import Session

from escalation.errors import DatabaseError
from escalation.sqlite_writers import QueuedWriterConnection

DEFAULT_DATABASE_URL = "sqlite:///jethro.db"
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
POSTGRES_CONNECT_TIMEOUT_S = 10
# Any fixed number: every Jethro process migrating the same PostgreSQL database takes this lock.
_MIGRATION_LOCK = 0x6A657468726F
# Alembic keeps the running migration in module globals (`alembic.context`, `alembic.op`), so a
# process runs one migration at a time; the database lock above covers other processes.
_ALEMBIC_IN_USE = threading.Lock()


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgres://` and `postgresql://` are read as psycopg 3."""
    parsed = _parse(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        if parsed.get_backend_name() == "postgresql":
            args: dict[str, Any] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
            return sa.create_engine(parsed, pool_pre_ping=True, connect_args=args)
        return sa.create_engine(parsed)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(f"DATABASE_URL={_shown(parsed)} cannot be used: {exc}") from exc


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A unit of work: committed when the block ends, rolled back if it raises.

    Objects stay readable after the block (no expiry on commit), so they can be rendered.
    """
    with Session(engine, expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise


def plain(session: Session) -> sa.Connection:
    """The session's connection, for a prebuilt Core statement on a hot path, after flushing what
    the session holds (as a query through the session would). A Core statement costs a fraction
    of the same statement through the ORM: no entity loading, no per-call statement building."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection()


def database_away(error: BaseException) -> bool:
    """The database refused or dropped the connection (a restart, a network cut, SQLite locked
    past its busy timeout): the work is worth doing again later, unlike a bug."""
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    return isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Migrate the database to `revision`; safe to run from several processes at once."""
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with _ALEMBIC_IN_USE, _migration_connection(engine) as connection:
            command.upgrade(alembic_config(connection), revision)
            connection.commit()
    except CommandError as exc:
        raise DatabaseError(
            f"cannot migrate the database at DATABASE_URL={_shown(engine.url)}: {exc} "
            "(was it created by a newer Jethro?)"
        ) from exc
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first `upgrade`."""
    with _connect(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def missing_sqlite_file(engine: Engine) -> bool:
    """Connecting would create an empty file: a wrong path must not look like a new database."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:"):
        return False
    return not database.startswith("file:") and not Path(database).expanduser().exists()


def head_revision() -> str:
    """The newest revision this version of Jethro ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS}"
    return head


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration without an alembic.ini, for `upgrade`, tests and new revisions.

    To write a migration: `alembic.command.revision(alembic_config(conn), "msg", autogenerate=True)`
    with `conn` a connection to a database at head.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[sa.Connection]:
    """A connection holding the database's migration lock for the whole transaction.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: `BEGIN IMMEDIATE` takes the write
    lock up front, so a second process waits (busy timeout) and then finds the schema at head.
    """
    with _connect(engine) as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
        elif engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


@contextmanager
def _connect(engine: Engine) -> Iterator[sa.Connection]:
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip() or type(exc.orig).__name__
        raise DatabaseError(
            f"cannot open the database at DATABASE_URL={_shown(engine.url)}: {reason}"
        ) from exc
    with connection:
        yield connection


def _parse(url: str) -> URL:
    try:
        parsed = sa.make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(
            f"DATABASE_URL={url!r} is not a database URL; expected e.g. {DEFAULT_DATABASE_URL} "
            "or postgresql+psycopg://user@host:5432/jethro"
        ) from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"DATABASE_URL={_shown(url)}: cannot create the folder {folder}: {exc.strerror}"
            ) from exc
    args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "factory": QueuedWriterConnection}
    engine = sa.create_engine(url, connect_args=args)
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per connection: wait for locks instead of failing, enforce foreign keys, and use WAL so
    readers do not block the writer.

    `synchronous = NORMAL`: in WAL mode a commit is then written to the log without an fsync
    (the log is synced at each checkpoint). A killed process loses nothing committed; a power
    cut or an OS crash may lose the last commits before the checkpoint. That trade is SQLite's
    own recommendation for WAL, and it takes about 1 ms of fsync per commit out of the write lock
    (three commits a report). Deployments that must survive a power cut run PostgreSQL.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Switching a new file to WAL needs it to itself, and SQLite reports "database is locked"
    at once, without its busy handler, while another process (starting at the same moment) holds
    it; so wait here as the busy timeout would. Once the file is in WAL this is never reached."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)
