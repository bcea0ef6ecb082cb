"""A running Jethro for each story, on SQLite and on PostgreSQL, with people to use it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbfixtures import database_url
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import Employee, Engineers, Jethro, copy_of_sample_kb

__all__ = ["database_url", "employee", "engineers", "jethro"]


@pytest.fixture
def jethro(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[Jethro]:
    bot = Jethro(fake_slack, database_url, copy_of_sample_kb(tmp_path))
    try:
        yield bot
    finally:
        bot.close()


@pytest.fixture
def employee(jethro: Jethro) -> Employee:
    return Employee(jethro)


@pytest.fixture
def engineers(jethro: Jethro) -> Engineers:
    return Engineers(jethro)
