"""An escalation pages the on-call engineer, and the next one when nobody acknowledges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalation.oncall import SAMPLE_ONCALL, load_oncall
from tests.fakes.slack_api import Call, FakeSlack
from tests.scenarios.world import ENGINEERS, WAIT, Employee, Engineers, Jethro, copy_of_sample_kb

NOW = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)
# The sample's `it` team that week: primary U0IT0002, secondary U0IT0001; ack 10 minutes.
PRIMARY, SECONDARY = "U0IT0002", "U0IT0001"
UNKNOWN = "the quantum flux capacitor on floor 3 is humming"


@pytest.fixture
def jethro(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[Jethro]:
    bot = Jethro(
        fake_slack, database_url, copy_of_sample_kb(tmp_path), oncall=load_oncall(SAMPLE_ONCALL)
    )
    bot.clock.set(NOW)
    try:
        yield bot
    finally:
        bot.close()


def pages(jethro: Jethro) -> list[Call]:
    """Direct messages to engineers: posts to a user id other than the reporter's."""
    return [
        c
        for c in jethro.slack.calls("chat.postMessage")
        if c.args["channel"].startswith("U0IT") and c.ok
    ]


def test_the_primary_is_paged_then_the_secondary_after_the_ack_timeout(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    jethro.settle()  # the ticket's message is posted, so the channel page can thread under it

    [page] = jethro.slack.wait_for(
        "chat.postMessage", 1, WAIT, where=lambda c: c.args["channel"] == PRIMARY
    )
    [ticket] = jethro.tickets()
    assert f"ticket #{ticket.id}" in page.args["text"] and UNKNOWN in page.args["text"]

    jethro.time_passes(minutes=9)
    jethro.settle()
    assert [c.args["channel"] for c in pages(jethro)] == [PRIMARY]

    jethro.time_passes(minutes=1)
    [secondary] = jethro.slack.wait_for(
        "chat.postMessage", 1, WAIT, where=lambda c: c.args["channel"] == SECONDARY
    )
    assert f"<@{PRIMARY}> did not acknowledge" in secondary.args["text"]

    jethro.restart()
    jethro.time_passes(minutes=5)
    jethro.settle()
    assert [c.args["channel"] for c in pages(jethro)] == [PRIMARY, SECONDARY]

    jethro.time_passes(minutes=5)  # the secondary's 10 minutes: the whole channel
    [here] = jethro.slack.wait_for(
        "chat.postMessage", 1, WAIT, where=lambda c: c.args["text"].startswith("<!here>")
    )
    assert (here.args["channel"], here.args["thread_ts"]) == (ENGINEERS, posted["ts"])
    assert here.args["reply_broadcast"] is True
    assert f"<@{PRIMARY}>, <@{SECONDARY}>" in here.args["text"]


def test_without_a_schedule_nobody_is_paged(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    plain = Jethro(fake_slack, database_url, copy_of_sample_kb(tmp_path))
    plain.clock.set(NOW)
    try:
        Employee(plain).dm(UNKNOWN)
        Engineers(plain).tickets_posted()
        plain.time_passes(hours=1)
        plain.settle()
        assert pages(plain) == []
    finally:
        plain.close()
