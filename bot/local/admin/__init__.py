"""The local workspace's admin view: the live knowledge base, its problems, the thresholds in use,
gap groups and the stats as charts (`AdminPage`, mounted under `/admin`)."""

from bot.local.admin.page import AdminPage

__all__ = ["AdminPage"]
