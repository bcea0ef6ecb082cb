"""The Web API client `jethro run` uses: slack_sdk's WebClient, keeping its connections open."""

from __future__ import annotations

import threading

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.web_client import KeepAliveWebClient
from tests.fakes.fixtures import BOT_TOKEN
from tests.fakes.slack_api import FakeSlack

pytest_plugins = ["tests.fakes.fixtures"]


def test_calls_share_one_connection_where_slack_sdk_opens_one_each(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    for i in range(5):
        assert slack_client.chat_postMessage(channel="C1", text=f"message {i}")["ok"]
    assert fake_slack.connections_opened == 1

    stock = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    for i in range(3):
        stock.chat_postMessage(channel="C1", text=f"stock {i}")
    assert fake_slack.connections_opened == 1 + 3
    assert len(fake_slack.calls("chat.postMessage")) == 8


def test_a_connection_slack_closed_while_idle_is_replaced_without_a_failed_call(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    slack_client.chat_postMessage(channel="C1", text="before")
    fake_slack.drop_connections()

    assert slack_client.chat_postMessage(channel="C1", text="after")["ok"]
    assert [c.args["text"] for c in fake_slack.calls("chat.postMessage")] == ["before", "after"]
    assert fake_slack.connections_opened == 2


def test_error_answers_keep_the_connection(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    # How each error reaches the caller is tests/fakes/test_fake_slack.py's, through this client.
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    fake_slack.fail_next("chat.postMessage", status=500)
    for _ in range(2):
        with pytest.raises(SlackApiError):
            slack_client.chat_postMessage(channel="C1", text="hi")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        slack_client.conversations_members(channel="C-unknown")

    assert slack_client.chat_postMessage(channel="C1", text="fine again")["ok"]
    assert fake_slack.connections_opened == 1


def test_a_time_out_drops_the_connection_and_the_next_call_gets_a_fresh_one(
    fake_slack: FakeSlack,
) -> None:
    client = KeepAliveWebClient(
        token=BOT_TOKEN, base_url=fake_slack.api_url, timeout=0.2, retry_handlers=[]
    )
    try:
        fake_slack.delay_next("chat.postMessage", 1.0)
        with pytest.raises(TimeoutError):
            client.chat_postMessage(channel="C1", text="slow")
        assert client.chat_postMessage(channel="C1", text="next")["ok"]
        # The late answer to the first call never becomes the answer to the second.
        assert fake_slack.connections_opened == 2
    finally:
        client.close()


def test_each_thread_has_its_own_connection(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    errors: list[BaseException] = []
    all_started = threading.Barrier(4, timeout=10)

    def send(n: int) -> None:
        try:
            for i in range(3):
                slack_client.chat_postMessage(channel=f"C{n}", text=f"{n}.{i}")
                if i == 0:  # all alive at once: an ended thread's id (and connection) is reused
                    all_started.wait()
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(fake_slack.calls("chat.postMessage")) == 12
    assert fake_slack.connections_opened == 4
