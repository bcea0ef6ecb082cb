"""The Slack Web API failing for a while (5xx, 429 with Retry-After, time-outs): every answer and
escalation waits in the outbox and arrives once Slack is back; nothing is posted twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.slack_api import Call, FakeSlack
from tests.scenarios.world import (
    ENGINEERS,
    Employee,
    Engineers,
    Jethro,
    copy_of_sample_kb,
    shown_text,
)
from tests.scenarios.world import _Running as Running

SLACK_TIMEOUT = 0.5
"""The bot's client gives up on a silent Slack this soon here (20 s in production)."""
OUTAGES: dict[str, dict[str, Any]] = {
    "500": {"status": 500},
    "503": {"status": 503},
    "429": {"status": 429, "retry_after": 30},
    "time-out": {"hang": SLACK_TIMEOUT * 2},
}


class QuickToGiveUp(Jethro):
    """Jethro whose outbox waits `SLACK_TIMEOUT` for an answer, so a time-out takes no time."""

    def _start(self) -> Running:
        running = super()._start()
        running.services.outbox.sender.client.timeout = SLACK_TIMEOUT
        return running


@pytest.fixture
def jethro(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Any:
    bot = QuickToGiveUp(fake_slack, database_url, copy_of_sample_kb(tmp_path))
    try:
        yield bot
    finally:
        bot.close()


def failed(call: Call) -> bool:
    return not call.ok


@pytest.mark.parametrize("outage", OUTAGES)
def test_answers_and_escalations_wait_out_a_slack_outage_and_arrive_once(
    outage: str, jethro: Jethro, fake_slack: FakeSlack
) -> None:
    fake_slack.go_down(**OUTAGES[outage])
    vpn = Employee(jethro).dm("my vpn keeps dropping")
    flux = Employee(jethro, "U0FLUX", "D0FLUX").dm("the quantum flux capacitor is humming")
    fake_slack.wait_for("chat.postMessage", 2, where=failed)
    jethro.time_passes(minutes=1)  # past any back-off and Retry-After: tried again, failed again
    fake_slack.wait_for("chat.postMessage", 4, where=failed)

    fake_slack.come_back()
    jethro.time_passes(minutes=10)
    answer = vpn.last_reply()
    [ticket] = Engineers(jethro).tickets_posted()
    told = flux.last_reply()
    jethro.settle()

    assert answer["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"
    assert "quantum flux capacitor" in shown_text(ticket)
    assert f"#{jethro.tickets()[0].id}" in shown_text(told)
    posted = [c for c in fake_slack.calls("chat.postMessage") if c.ok]
    sent = Counter((c.response["channel"], c.args.get("thread_ts"), c.args["text"]) for c in posted)
    assert len(posted) == 3 and set(sent.values()) == {1}, sent
    assert len(jethro.tickets()) == 1
    assert [c.args["channel"] for c in posted].count(ENGINEERS) == 1
