"""Faults injected into a running Jethro: the scenario harness, on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.dbfixtures import database_url
from tests.scenarios.conftest import employee, engineers, jethro

__all__ = ["database_url", "employee", "engineers", "jethro"]
