"""Problems the knowledge base cannot fix reach the on-call engineers, and the reporter is told."""

from __future__ import annotations

from escalation.models import ThreadState, TicketStatus
from tests.scenarios.world import (
    ENGINEERS,
    Employee,
    Engineers,
    Jethro,
    buttons,
    shown_text,
)

UNKNOWN = "the quantum flux capacitor on floor 3 is humming"


def test_an_unknown_problem_becomes_a_ticket_the_engineers_see(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm(UNKNOWN)

    [posted] = engineers.tickets_posted()
    told = thread.last_reply()
    [ticket] = jethro.tickets()
    assert f"<@{employee.id}> reported" in shown_text(posted)
    assert UNKNOWN in shown_text(posted) and f"Ticket #{ticket.id}" in shown_text(posted)
    assert f"ticket #{ticket.id}" in shown_text(told) and told["thread_ts"] == thread.ts
    assert (ticket.reporter, ticket.status, ticket.text) == (
        employee.id,
        TicketStatus.OPEN,
        UNKNOWN,
    )
    jethro.settle()
    assert (jethro.tickets()[0].slack_channel, jethro.tickets()[0].slack_ts) == (
        ENGINEERS,
        posted["ts"],
    )


def test_still_broken_escalates_and_the_buttons_go(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm("my vpn keeps dropping")
    answer = thread.last_reply()

    employee.click("kb_not_solved", answer)

    [posted] = engineers.tickets_posted()
    told = thread.last_reply(2)
    [ticket] = jethro.tickets()
    assert "VPN keeps disconnecting" in ticket.reason and "did not solve" in ticket.reason
    assert f"ticket #{ticket.id}" in shown_text(told)
    assert f"<@{employee.id}>" in shown_text(posted)
    jethro.settle()
    now = jethro.slack.message(answer["channel"], answer["ts"])
    assert buttons(now) == [] and f"ticket #{ticket.id}" in shown_text(now)
    assert jethro.conversations()[0].state is ThreadState.ESCALATED


def test_none_of_these_escalates_a_suggestion(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    suggestion = employee.dm("wifi").last_reply()

    employee.click("kb_none", suggestion)

    [posted] = engineers.tickets_posted()
    [ticket] = jethro.tickets()
    assert "wifi" in shown_text(posted) and "none of the suggested" in ticket.reason
    jethro.settle()
    now = jethro.slack.message(suggestion["channel"], suggestion["ts"])
    assert buttons(now) == [] and "None of these fitted" in shown_text(now)


def test_solved_records_the_deflection_and_thanks_once(jethro: Jethro, employee: Employee) -> None:
    answer = employee.dm("my vpn keeps dropping").last_reply()

    employee.click("kb_solved", answer)
    jethro.settle()
    employee.click("kb_solved", answer)  # a second click from a client that had not refreshed

    now = jethro.slack.message(answer["channel"], answer["ts"])
    assert buttons(now) == [] and "marked this solved" in shown_text(now)
    assert "already marked solved" in employee.only_i_see()["text"]
    assert jethro.rows("feedback") == 1 and jethro.tickets() == []
    assert jethro.conversations()[0].state is ThreadState.SOLVED


def test_only_the_reporter_can_press_their_buttons(jethro: Jethro, employee: Employee) -> None:
    answer = employee.mention("my vpn keeps dropping").last_reply()
    colleague = Employee(jethro, "U0COLLEAGUE", "D0COLLEAGUE")

    colleague.click("kb_not_solved", answer)

    refusal = colleague.only_i_see()
    assert f"Only <@{employee.id}> can answer this" in refusal["text"]
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    jethro.settle()
    assert jethro.tickets() == [] and jethro.rows("feedback") == 0
    assert buttons(jethro.slack.message(answer["channel"], answer["ts"]))


def test_hostile_text_reaches_the_engineers_inert(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(
        "<!channel> @here <!everyone> the flux capacitor is humming <https://evil.example|bank>"
    )

    [posted] = engineers.tickets_posted()
    jethro.settle()
    for call in jethro.slack.calls():
        text = shown_text(call.args)
        assert "<!" not in text and "|bank>" not in text, text
        assert "@here" not in text and "@channel" not in text, text
    assert "here" in shown_text(posted) and "bank (https://evil.example)" in shown_text(posted)


def test_a_colleague_named_in_a_report_stays_a_mention_but_groups_never_ping(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(
        "the flux capacitor hums for me and <@U0COLLEAGUE1> too, "
        "<!subteam^S0ONCALL|@it-oncall> <!here> see <#C0HELPDESK1|> "
        "&lt;@U0TYPED0001&gt;"
    )

    [posted] = engineers.tickets_posted()
    shown = shown_text(posted["blocks"])
    assert "for me and <@U0COLLEAGUE1> too" in shown and "see <#C0HELPDESK1>" in shown
    assert "@it-oncall" in shown and "<!" not in shown_text(posted)
    assert "&lt;@U0TYPED0001&gt;" in shown  # typed out as text: shown as text
    assert "@here" not in shown
