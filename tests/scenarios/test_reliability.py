"""Redeliveries, restarts, outages, forgeries: each answer once, nothing lost, nothing forged."""

from __future__ import annotations

from tests.fakes import slack_events as slack
from tests.fakes.fixtures import SIGNING_SECRET
from tests.scenarios.world import Employee, Engineers, Jethro, buttons, with_event


def answers(jethro: Jethro) -> int:
    return len([c for c in jethro.slack.calls("chat.postMessage") if c.ok])


def test_a_retried_event_is_answered_once(jethro: Jethro, employee: Employee) -> None:
    payload = slack.message_im("the quantum flux capacitor on floor 3 is humming")
    employee.sent(payload)
    jethro.settle()

    reply = jethro.driver.retry(payload, attempt=1)
    jethro.settle()

    assert reply.status == 200
    assert answers(jethro) == 2  # the ticket for the engineers, and the word to the reporter
    assert len(jethro.tickets()) == 1


def test_a_retry_after_a_restart_is_still_answered_once(jethro: Jethro, employee: Employee) -> None:
    payload = slack.message_im("my vpn keeps dropping")
    employee.sent(payload)
    jethro.settle()

    jethro.restart()
    reply = jethro.driver.retry(payload, attempt=2, reason="http_error")
    jethro.settle()

    assert reply.status == 200 and answers(jethro) == 1


def test_a_retry_arriving_while_the_first_is_handled_is_answered_once(
    jethro: Jethro, employee: Employee
) -> None:
    payload = slack.message_im("my vpn keeps dropping")

    first = jethro.send(payload)
    again = jethro.driver.retry(payload)
    jethro.settle()

    assert (first.status, again.status) == (200, 200)
    assert answers(jethro) == 1 and len(jethro.conversations()) == 1


def test_forged_and_stale_requests_are_refused_and_change_nothing(jethro: Jethro) -> None:
    payload = slack.message_im("the quantum flux capacitor on floor 3 is humming")

    forged = slack.post(jethro.driver.url, payload, "not-the-signing-secret")
    stale = slack.post(jethro.driver.url, payload, SIGNING_SECRET, timestamp=1_000_000_000)
    unsigned = slack.post(jethro.driver.url, payload, "", headers={"X-Slack-Signature": ""})
    jethro.settle()

    assert (forged.status, stale.status, unsigned.status) == (401, 401, 401)
    assert [c.method for c in jethro.slack.calls()] == ["auth.test"]
    for table in ("slack_event", "slack_conversation", "ticket", "outbox_message"):
        assert jethro.rows(table) == 0, table


def test_while_slack_is_down_the_answer_waits_and_arrives_once(
    jethro: Jethro, employee: Employee
) -> None:
    jethro.slack.fail_next("chat.postMessage", status=500, times=3)

    thread = employee.dm("my vpn keeps dropping")
    for failures in (1, 2, 3):
        jethro.slack.wait_for("chat.postMessage", failures)
        jethro.time_passes(minutes=10)  # the outbox retries with back-off, by the clock

    answer = thread.last_reply()
    jethro.settle()
    assert answers(jethro) == 1 and len(jethro.slack.calls("chat.postMessage")) == 4
    assert [b["action_id"] for b in buttons(answer)] == ["kb_solved", "kb_not_solved"]


def test_the_bots_own_messages_edits_and_other_bots_are_not_reports(
    jethro: Jethro, engineers: Engineers
) -> None:
    own = slack.message_im("I opened ticket #1", user=slack.BOT_USER)
    other_bot = with_event(slack.message_im("beep"), bot_id="B0OTHER", subtype="bot_message")
    edit = with_event(slack.message_im("my vpn keeps dropping"), subtype="message_changed")
    joined = with_event(slack.message_im("joined"), subtype="channel_join")

    replies = [jethro.send(p) for p in (own, other_bot, edit, joined)]
    jethro.settle()

    assert [r.status for r in replies] == [200] * 4
    assert answers(jethro) == 0 and jethro.conversations() == []


def test_a_rate_limited_answer_waits_as_long_as_slack_asks_then_arrives_once(
    jethro: Jethro, employee: Employee
) -> None:
    jethro.slack.fail_next("chat.postMessage", status=429, retry_after=30)

    thread = employee.dm("my vpn keeps dropping")
    jethro.slack.wait_for("chat.postMessage", 1)
    jethro.time_passes(seconds=20)
    jethro.settle()
    early = len(jethro.slack.calls("chat.postMessage"))
    jethro.time_passes(seconds=11)

    answer = thread.last_reply()
    jethro.settle()
    assert early == 1, "retried before Slack's Retry-After ran out"
    assert answers(jethro) == 1 and len(jethro.slack.calls("chat.postMessage")) == 2
    assert [b["action_id"] for b in buttons(answer)] == ["kb_solved", "kb_not_solved"]


def test_a_forged_click_or_command_cannot_close_or_escalate_a_report(
    jethro: Jethro, employee: Employee
) -> None:
    answer = employee.dm("my vpn keeps dropping").last_reply()
    jethro.settle()
    ref = buttons(answer)[0]["value"]
    click = slack.block_action("kb_not_solved", ref, channel=answer["channel"], message=answer)
    command = slack.slash_command("the flux capacitor is humming")

    refused = [
        slack.post(jethro.driver.url, click, "not-the-signing-secret"),
        slack.post(jethro.driver.url, command, SIGNING_SECRET, timestamp=1_000_000_000),
    ]
    jethro.settle()

    assert [reply.status for reply in refused] == [401, 401]
    assert jethro.tickets() == [] and len(jethro.conversations()) == 1
    assert buttons(jethro.slack.message(answer["channel"], answer["ts"]))


def test_a_request_no_listener_handles_changes_nothing(jethro: Jethro, employee: Employee) -> None:
    modal = slack.view_submission("some_other_apps_modal", {"b": {"a": "vpn is down"}})
    unknown_button = slack.block_action("not_ours", "x")

    replies = [jethro.send(modal), jethro.send(unknown_button)]
    jethro.settle()

    assert [reply.status for reply in replies] == [404, 404]
    assert [c.method for c in jethro.slack.calls()] == ["auth.test"]
    assert jethro.rows("slack_conversation") == 0 and jethro.rows("outbox_message") == 0
