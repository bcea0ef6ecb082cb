"""The local workspace, started in-process for a test: the real bot on a real database, real
HTTP servers on free ports (`jethro run` with no Slack settings, minus the command line)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import load_settings
from bot.local.run import Running, local_workspace


@pytest.fixture
def workspace(database_url: str) -> Iterator[Running]:
    settings = load_settings({}, matcher="lexical")
    with local_workspace(settings, port=0, database_url=database_url) as running:
        yield running
