"""The fake Slack fixtures for tests here; elsewhere load `tests.fakes.fixtures` as a plugin."""

from tests.fakes.fixtures import fake_slack, slack_client

__all__ = ["fake_slack", "slack_client"]
