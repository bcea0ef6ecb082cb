from __future__ import annotations

import pytest

from escalation.clock import FixedClock
from tests.dbfixtures import database_url, engine

__all__ = ["clock", "database_url", "engine"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()
