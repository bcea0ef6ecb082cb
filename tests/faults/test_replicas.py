"""The same event delivered to two replicas at once (Slack retrying while the first delivery is
still in hand, through a load balancer): one answer, one ticket, on one shared database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbfixtures import run_at_once
from tests.fakes import slack_events as slack
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import ENGINEERS, Jethro, copy_of_sample_kb


@pytest.fixture
def replicas(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[list[Jethro]]:
    kb = copy_of_sample_kb(tmp_path)
    bots = [Jethro(fake_slack, database_url, kb) for _ in range(2)]
    try:
        yield bots
    finally:
        for bot in bots:
            bot.close()


def test_an_event_delivered_to_two_replicas_at_once_is_handled_once(
    replicas: list[Jethro], fake_slack: FakeSlack
) -> None:
    one, two = replicas
    reports = [slack.message_im("the quantum flux capacitor on floor 3 is humming")] + [
        slack.message_im("my vpn keeps dropping", user=f"U0VPN{i}", channel=f"D0VPN{i}")
        for i in range(3)
    ]

    replies = [
        run_at_once(lambda p=p: one.send(p), lambda p=p: two.driver.retry(p)) for p in reports
    ]
    fake_slack.wait_for("chat.postMessage", 5)
    for bot in replicas:
        bot.settle()

    assert [(a.status, b.status) for a, b in replies] == [(200, 200)] * 4
    posted = [c for c in fake_slack.calls("chat.postMessage") if c.ok]
    assert len(posted) == 5  # the ticket, the word to its reporter, three answers
    assert [c.args["channel"] for c in posted].count(ENGINEERS) == 1
    assert len(one.tickets()) == 1 and len(one.conversations()) == 4
    assert one.rows("slack_receipt") == 0 and one.rows("slack_event") == 4
