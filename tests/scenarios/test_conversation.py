"""A report's thread is one conversation: details kept, "still broken" escalates, no new report."""

from __future__ import annotations

from tests.fakes import slack_events as slack
from tests.scenarios.world import Employee, Engineers, Jethro, shown_text, with_event


def test_details_in_the_thread_are_noted_not_triaged_again(
    jethro: Jethro, employee: Employee
) -> None:
    thread = employee.dm("my vpn keeps dropping")
    thread.last_reply()

    thread.reply("it only happens on the office network")

    noted = thread.last_reply(2)
    assert "Noted" in shown_text(noted) and "Still broken" in shown_text(noted)
    [conversation] = jethro.conversations()
    assert conversation.details == ["it only happens on the office network"]
    assert jethro.tickets() == []


def test_still_broken_in_the_thread_escalates_with_everything_said(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm("my vpn keeps dropping")
    thread.last_reply()
    thread.reply("it only happens on the office network")
    thread.last_reply(2)

    thread.reply("tried all that, still broken with error 0x42")

    [posted] = engineers.tickets_posted()
    [ticket] = jethro.tickets()
    assert "only happens on the office network" in ticket.text and "0x42" in ticket.text
    assert "only happens on the office network" in shown_text(posted)
    assert f"ticket #{ticket.id}" in shown_text(thread.last_reply(3))
    assert len(jethro.conversations()) == 1


def test_details_after_escalation_go_to_the_ticket_thread(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm("the quantum flux capacitor on floor 3 is humming")
    [posted] = engineers.tickets_posted()
    thread.last_reply()
    jethro.settle()  # the ticket message is out, so its thread is known

    thread.reply("it started after the power cut, error 0x42")

    [detail] = engineers.thread_of(posted)
    assert "error 0x42" in shown_text(detail) and f"<@{employee.id}>" in shown_text(detail)
    assert "Added to *ticket #" in shown_text(thread.last_reply(2))
    assert len(jethro.tickets()) == 1


def test_saying_it_worked_closes_the_report(jethro: Jethro, employee: Employee) -> None:
    thread = employee.dm("my vpn keeps dropping")
    thread.last_reply()

    thread.reply("that worked, thanks!")

    assert "marked this solved" in shown_text(thread.last_reply(2))
    assert jethro.rows("feedback") == 1 and jethro.tickets() == []


def test_in_a_channel_a_reply_in_the_thread_needs_no_mention(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.mention("my vpn keeps dropping", channel="C0HELPDESK")
    thread.last_reply()

    thread.reply("still broken after all that")

    [posted] = engineers.tickets_posted()
    assert f"<@{employee.id}>" in shown_text(posted) and len(jethro.conversations()) == 1


def test_other_channel_chatter_is_none_of_the_bots_business(
    jethro: Jethro, employee: Employee
) -> None:
    chatter = with_event(
        slack.thread_reply("my vpn keeps dropping", "1700000000.000100", channel="C0HELPDESK"),
        channel_type="channel",
    )
    top_level = with_event(
        slack.message_im("printer jammed", channel="C0HELPDESK"), channel_type="channel"
    )

    employee.sent(chatter)
    employee.sent(top_level)
    jethro.settle()

    assert jethro.slack.calls("chat.postMessage") == []
    assert jethro.rows("slack_event") == 0 and jethro.conversations() == []


def test_a_mention_in_the_thread_is_one_reply_not_two(jethro: Jethro, employee: Employee) -> None:
    thread = employee.mention("my vpn keeps dropping", channel="C0HELPDESK")
    thread.last_reply()
    text = f"<@{slack.BOT_USER}> it only happens on the office network"
    as_message = with_event(
        slack.thread_reply(text, thread.ts, user=employee.id, channel="C0HELPDESK"),
        channel_type="channel",
    )
    as_mention = with_event(
        slack.app_mention("it only happens on the office network", channel="C0HELPDESK"),
        thread_ts=thread.ts,
        user=employee.id,
    )

    employee.sent(as_message)  # Slack sends both events for one message that mentions the bot
    employee.sent(as_mention)
    jethro.settle()

    assert len(thread.bot_replies(2)) == 2
    assert jethro.conversations()[0].details == ["it only happens on the office network"]


def test_still_broken_written_below_the_answer_not_in_its_thread_escalates_that_report(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm("my vpn keeps dropping")
    thread.last_reply()

    employee.dm("still broken")  # in the DM itself, as people answer a DM's latest message

    [posted] = engineers.tickets_posted()
    told = thread.last_reply(2)
    [ticket] = jethro.tickets()
    assert ticket.text.startswith("my vpn keeps dropping") and "still broken" in ticket.text
    assert "my vpn keeps dropping" in shown_text(posted)
    assert f"ticket #{ticket.id}" in shown_text(told) and told["subtype"] == "thread_broadcast"
    assert len(jethro.conversations()) == 1


def test_thanks_in_the_dm_is_answered_politely_and_never_becomes_a_ticket(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    first = employee.dm("thanks!")
    employee.dm("that worked")  # no report to close: nothing to escalate either
    jethro.settle()
    thread = employee.dm("my vpn keeps dropping")
    thread.last_reply()

    employee.dm("thank you so much :pray:")

    assert "You're welcome" in shown_text(first.last_reply())
    jethro.settle()
    assert jethro.tickets() == [] and not engineers.saw_anything()
    assert len(jethro.conversations()) == 1 and jethro.rows("feedback") == 0


def test_that_worked_below_the_answer_closes_it_but_a_new_problem_is_a_new_report(
    jethro: Jethro, employee: Employee
) -> None:
    thread = employee.dm("my vpn keeps dropping")
    thread.last_reply()

    employee.dm("that worked, thanks")
    jethro.settle()
    employee.dm("my vpn keeps dropping again since this morning, totally different laptop")
    jethro.settle()

    assert "marked this solved" in shown_text(thread.last_reply(2))
    assert jethro.rows("feedback") == 1
    assert len(jethro.conversations()) == 2


def test_a_reply_in_the_thread_of_a_triage_answer_belongs_to_that_report(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.triage("my vpn keeps dropping")
    thread = employee.new_dm_thread()  # the bot's answer starts the thread in the DM
    thread.last_reply()
    jethro.settle()

    thread.reply("still broken, error 0x42")

    [posted] = engineers.tickets_posted()
    assert "my vpn keeps dropping" in shown_text(posted) and "0x42" in shown_text(posted)
    assert len(jethro.conversations()) == 1
