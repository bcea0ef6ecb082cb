from __future__ import annotations

from tests.dbfixtures import database_url, engine

__all__ = ["database_url", "engine"]
