"""pytest fixtures for the fake Slack; load with `pytest_plugins = ["tests.fakes.fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.web_client import KeepAliveWebClient
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_spec import assert_calls_valid

BOT_TOKEN = "xoxb-fake-bot-token"
SIGNING_SECRET = "fake-signing-secret"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running fake Web API; at teardown every recorded call must pass the contract checks."""
    with FakeSlack() as fake:
        yield fake
    if fake.check_contract:
        assert_calls_valid(fake.calls())


@pytest.fixture
def slack_client(fake_slack: FakeSlack) -> Iterator[WebClient]:
    """The client `jethro run` uses (a real WebClient that keeps its connections), pointed at
    the fake, with slack_sdk's default retry handlers."""
    client = KeepAliveWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url, timeout=5)
    yield client
    client.close()
