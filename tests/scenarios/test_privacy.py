"""Private answers stay private: who could read what, when a `visibility: private` article is
asked about with a mention in a channel others read."""

from __future__ import annotations

import json

from tests.fakes import slack_events as slack
from tests.scenarios.world import ENGINEERS, Employee, Engineers, Jethro, buttons, shown_text

THIRD = "U0THIRDPRS"
ALICE = "U0ALICE001"


def readable_by(jethro: Jethro, user: str, channel: str = slack.CHANNEL) -> str:
    """Everything `user`, a member of `channel` only, could read of the bot's messages: the
    channel with its threads, and what was shown to them alone."""
    shown = [shown_text(message) for message in jethro.slack.posted(channel)]
    shown += [
        shown_text(call.args)
        for call in jethro.slack.calls("chat.postEphemeral")
        if call.args.get("user") == user
    ]
    return "\n".join(shown)


def test_a_private_answer_goes_to_the_dm_and_the_channel_gets_only_a_note(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    payslip = jethro.knowledge.current.kb.by_id("payslip")
    assert payslip is not None and payslip.private
    secret_line = next(line for line in payslip.body.splitlines() if len(line) > 30)

    asked = employee.mention("there is a wrong amount on my payslip")

    dm = employee.new_dm_thread()
    answer = dm.last_reply()
    assert [b["action_id"] for b in buttons(answer)] == ["kb_solved", "kb_not_solved"]
    assert payslip.title in shown_text(answer)
    [note] = asked.bot_replies()
    assert "answered you in a direct message" in shown_text(note)
    assert note["thread_ts"] == asked.ts and buttons(note) == []

    Employee(jethro, THIRD).sent(  # a colleague chimes in under the note: none of our business
        with_channel(slack.thread_reply("what did it say?", asked.ts, user=THIRD))
    )
    employee.click("kb_not_solved", answer)
    [ticket] = engineers.tickets_posted()
    [alice] = engineers.on_duty(ALICE)
    alice.reply_in_thread(ticket, "Which month's payslip is it?")
    jethro.settle()
    relayed = dm.last_reply(3)

    assert "there is a wrong amount on my payslip" in shown_text(ticket)
    assert "Which month's payslip is it?" in shown_text(relayed)
    assert relayed["channel"] == dm.channel and relayed["thread_ts"] == dm.ts
    seen = readable_by(jethro, THIRD)
    for private in (secret_line, payslip.title, "wrong amount", "ticket #", "Which month"):
        assert private not in seen, private
    assert len(jethro.slack.posted(slack.CHANNEL)) == 1  # the note, and nothing since


def test_a_private_escalation_shows_its_words_only_to_the_engineers(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    report = "i think my account has been hacked, there's a login alert that wasnt me"

    asked = employee.mention(report)

    [ticket] = engineers.tickets_posted()
    told = employee.new_dm_thread().last_reply()
    jethro.settle()
    assert report in shown_text(ticket) and ticket["channel"] == ENGINEERS
    assert "ticket #1" in shown_text(told)
    [note] = asked.bot_replies()
    assert "answered you in a direct message" in shown_text(note)
    seen = readable_by(jethro, THIRD)
    assert "hacked" not in seen and "#1" not in seen and "security" not in seen


def test_a_public_article_is_still_answered_in_the_channel_thread(
    jethro: Jethro, employee: Employee
) -> None:
    asked = employee.mention("my vpn keeps dropping")

    answer = asked.last_reply()

    assert [b["action_id"] for b in buttons(answer)] == ["kb_solved", "kb_not_solved"]
    assert not [
        c for c in jethro.slack.calls("chat.postMessage") if c.args["channel"] == slack.USER
    ]


def test_a_private_article_asked_in_a_dm_is_answered_there(
    jethro: Jethro, employee: Employee
) -> None:
    thread = employee.dm("there is a wrong amount on my payslip")

    answer = thread.last_reply()

    assert "Payslip" in shown_text(answer) and answer["channel"] == employee.dm_channel
    assert "direct message" not in json.dumps(jethro.slack.posted(employee.dm_channel))


def with_channel(payload: slack.Payload) -> slack.Payload:
    data = {
        **payload.data,
        "event": {**payload.data["event"], "channel": slack.CHANNEL, "channel_type": "channel"},
    }
    return slack.Payload(json.dumps(data).encode(), slack.JSON, data)
