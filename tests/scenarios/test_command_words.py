"""Whatever words a `/triage` carries reach the bot: Bolt 1.30 took any form body containing
"payload" for an interactive payload and dropped it (`bot.receipts.slack_request`)."""

from __future__ import annotations

from tests.scenarios.world import Employee, Jethro


def test_triage_about_the_payload_service_is_answered_like_any_report(
    jethro: Jethro, employee: Employee
) -> None:
    ack = employee.triage("my vpn keeps dropping since the payload service update")

    assert "On it" in ack["text"]
    reply = employee.new_dm_thread().last_reply()  # an answer or a ticket: the bot heard it
    assert reply["channel"].startswith("D")
    [conversation] = jethro.conversations()
    assert conversation.text == "my vpn keeps dropping since the payload service update"
    assert jethro.rows("slack_receipt") == 0
