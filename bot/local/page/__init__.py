"""The local workspace's page: the stand-in Slack drawn as HTML, with the Web API beside it."""

from bot.local.page.app import PageApp

__all__ = ["PageApp"]
