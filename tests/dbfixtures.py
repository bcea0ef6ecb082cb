"""Fresh, really migrated databases for tests: a SQLite file, and a PostgreSQL schema of its own.

Every test gets an empty database, so tests run in any order and in parallel. PostgreSQL comes
from `JETHRO_TEST_DATABASE_URL` and is skipped, with that reason shown, when it is unset.
Use from any test folder's conftest: `from tests.dbfixtures import database_url, engine`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from escalation.db import make_engine, upgrade

POSTGRES_URL_VARIABLE = "JETHRO_TEST_DATABASE_URL"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get(POSTGRES_URL_VARIABLE),
            reason=f"PostgreSQL tests need {POSTGRES_URL_VARIABLE}, e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ),
    ),
]


@contextmanager
def blank_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'jethro.db'}"
    else:
        with postgres_schema(os.environ[POSTGRES_URL_VARIABLE]) as url:
            yield url


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A new schema on the server, and a URL whose connections use only it."""
    name = f"test_{uuid4().hex}"
    admin = make_engine(server_url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        url = sa.make_url(server_url).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, not yet migrated."""
    with blank_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A database migrated to head through the real migrations."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def run_at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each result is a return value or the
    exception it raised."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
