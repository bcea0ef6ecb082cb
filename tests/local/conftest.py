from tests.dbfixtures import database_url
from tests.local.fixtures import workspace

__all__ = ["database_url", "workspace"]
