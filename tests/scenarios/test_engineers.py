"""The engineers' channel: acknowledging, resolving, reassigning, and the two-way thread."""

from __future__ import annotations

import shutil
from pathlib import Path

from escalation.models import TicketStatus
from knowledge.lint import lint_kb
from tests.fakes.slack_api import Call
from tests.scenarios.world import (
    ADMIN,
    ENGINEERS,
    Employee,
    Engineer,
    Engineers,
    Jethro,
    buttons,
    elements,
    shown_text,
    wait_until,
)

UNKNOWN = "the quantum flux capacitor on floor 3 is humming"
ALICE = "U0ALICE001"
BOB = "U0BOB00001"
STRANGER = "U0STRANGER"


def now_shown(jethro: Jethro, posted: dict[str, object]) -> dict[str, object]:
    jethro.settle()
    return jethro.slack.message(ENGINEERS, str(posted["ts"]))


def test_an_engineer_acknowledges_and_the_reporter_hears_who_has_it(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice, _] = engineers.on_duty(ALICE, BOB)

    alice.click("ticket_ack", posted)

    told = thread.last_reply(2)
    assert f"<@{ALICE}> has *ticket #" in shown_text(told)
    message = now_shown(jethro, posted)
    assert f"Acknowledged by <@{ALICE}>" in shown_text(message)
    assert "*Status*\nacknowledged" in shown_text(message)
    assert [e["action_id"] for e in elements(message)] == ["ticket_resolve", "ticket_reassign"]
    [ticket] = jethro.tickets()
    assert (ticket.status, ticket.acknowledged_by) == (TicketStatus.ACKNOWLEDGED, ALICE)


def test_a_click_from_outside_the_channel_changes_nothing(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    engineers.on_duty(ALICE)
    stranger = Engineer(jethro, STRANGER)  # not in the channel

    stranger.click("ticket_ack", posted)

    refusal = stranger.only_i_see()
    assert refusal["channel"] == ENGINEERS
    assert "only the engineers in the escalation channel" in refusal["text"]
    assert f"<@{ALICE}>" in refusal["text"]
    assert jethro.tickets()[0].status is TicketStatus.OPEN
    assert jethro.slack.calls("chat.update") == []
    assert any(b["action_id"] == "ticket_ack" for b in buttons(now_shown(jethro, posted)))


def test_a_refusal_names_the_engineers_who_can_act_never_a_bot(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    """The channel's members include Jethro itself and another app's bot user: neither is an
    engineer a refused person could ask."""
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    other_bot = "U0PAGERBOT"
    jethro.slack.add_user(other_bot, is_bot=True)
    jethro.slack.set_members(ENGINEERS, [ALICE, jethro.slack.bot_user_id, other_bot, BOB])
    stranger = Engineer(jethro, STRANGER)

    stranger.click("ticket_ack", posted)
    refusal = stranger.only_i_see()["text"]

    assert f"<@{ALICE}>" in refusal and f"<@{BOB}>" in refusal
    assert f"<@{jethro.slack.bot_user_id}>" not in refusal
    assert f"<@{other_bot}>" not in refusal
    other_bot_engineer = Engineer(jethro, other_bot)
    other_bot_engineer.click("ticket_ack", posted)
    assert other_bot_engineer.only_i_see()["text"] == refusal  # a bot cannot act either
    assert jethro.tickets()[0].status is TicketStatus.OPEN


def test_an_acknowledge_before_the_ticket_messages_ts_is_stored_still_shows_on_it(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    """Slack posted the ticket message and answered with its `ts`; before the bot stored it,
    Alice pressed Acknowledge (her click arrives while the fake holds the answer back)."""
    [alice] = engineers.on_duty(ALICE)
    acknowledged: list[dict[str, object]] = []

    def alice_acknowledges(call: Call) -> None:
        alice.click_now("ticket_ack", jethro.slack.message(ENGINEERS, call.response["ts"]))
        wait_until(
            lambda: jethro.tickets()[0].status is TicketStatus.ACKNOWLEDGED, "not acknowledged"
        )
        acknowledged.append({"ts": jethro.tickets()[0].slack_ts})

    jethro.slack.meanwhile_next(
        "chat.postMessage",
        alice_acknowledges,
        where=lambda call: call.args["channel"] == ENGINEERS and "thread_ts" not in call.args,
    )
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    wait_until(lambda: acknowledged, "the window never opened")
    wait_until(lambda: jethro.tickets()[0].slack_ts, "the bot never stored where it posted")

    message = now_shown(jethro, posted)

    assert acknowledged == [{"ts": None}]  # the click came before the bot knew where it posted
    assert "*Status*\nacknowledged" in shown_text(message)
    assert f"Acknowledged by <@{ALICE}>" in shown_text(message)
    assert [e["action_id"] for e in elements(message)] == ["ticket_resolve", "ticket_reassign"]


def test_two_engineers_acknowledging_at_once_change_it_once(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice, bob] = engineers.on_duty(ALICE, BOB)
    jethro.settle()

    alice.click("ticket_ack", posted)
    bob.click("ticket_ack", posted)  # his client still showed the button

    assert f"already acknowledged by <@{ALICE}>" in bob.only_i_see()["text"]
    jethro.settle()
    assert jethro.tickets()[0].acknowledged_by == ALICE
    told = [m for m in thread.bot_replies(2) if "has *ticket #" in shown_text(m)]
    assert len(told) == 1 and jethro.rows("ticket_event") == 2  # opened, acknowledged


def test_replies_in_the_ticket_thread_reach_the_reporter_and_back(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice] = engineers.on_duty(ALICE)

    alice.reply_in_thread(posted, "Which building? Is it the blue one?")

    relayed = thread.last_reply(2)
    assert f"<@{ALICE}> on *ticket #" in shown_text(relayed)
    assert "Which building? Is it the blue one?" in shown_text(relayed)
    assert relayed["thread_ts"] == thread.ts

    thread.reply("the blue one, by the lifts")

    [detail] = engineers.thread_of(posted)
    assert "the blue one, by the lifts" in shown_text(detail)


def test_resolving_with_add_to_kb_drafts_an_article_lint_accepts(
    jethro: Jethro, employee: Employee, engineers: Engineers, tmp_path: Path
) -> None:
    thread = employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice] = engineers.on_duty(ALICE)
    alice.click("ticket_ack", posted)

    alice.resolve(posted, "1. Turn the capacitor off.\n2. Wait 88 seconds.", add_to_kb=True)

    told = thread.last_reply(3)
    assert f"<@{ALICE}> resolved *ticket #" in shown_text(told)
    assert "> 2. Wait 88 seconds." in shown_text(told)
    message = now_shown(jethro, posted)
    assert "*Status*\nresolved" in shown_text(message) and elements(message) == []
    [note] = engineers.thread_of(posted)
    assert "Drafted a knowledge-base article" in shown_text(note)
    [draft] = (jethro.kb / "_drafts").glob("*.md")
    assert UNKNOWN in draft.read_text() and "Wait 88 seconds." in draft.read_text()
    assert UNKNOWN not in str(jethro.knowledge.current.kb.articles)  # never published by itself
    published = Path(shutil.copytree(jethro.kb, tmp_path / "published"))
    (published / "_drafts" / draft.name).rename(published / "facilities" / draft.name)
    assert [p for p in lint_kb(published) if draft.name in p.path] == []
    assert jethro.tickets()[0].resolution == "1. Turn the capacitor off.\n2. Wait 88 seconds."


def test_resolve_without_the_box_writes_no_draft(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice] = engineers.on_duty(ALICE)

    alice.resolve(posted, "Replaced the fuse.")

    jethro.settle()
    assert jethro.tickets()[0].status is TicketStatus.RESOLVED
    assert not (jethro.kb / "_drafts").exists()


def test_reassign_hands_the_ticket_to_someone_else(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice, _] = engineers.on_duty(ALICE, BOB)
    alice.click("ticket_ack", posted)

    alice.reassign(posted, BOB)

    [note] = engineers.thread_of(posted)
    assert f"<@{ALICE}> reassigned *ticket #" in shown_text(note) and f"<@{BOB}>" in shown_text(
        note
    )
    assert f"*Assigned to*\n<@{BOB}>" in shown_text(now_shown(jethro, posted))


def test_admins_see_the_figures_on_their_app_home(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice] = engineers.on_duty(ALICE)
    jethro.time_passes(minutes=12)
    alice.click("ticket_ack", posted)
    jethro.time_passes(hours=2)
    alice.resolve(posted, "Replaced the fuse.")
    jethro.settle()

    home = shown_text(Employee(jethro, ADMIN, "D0ADMIN").opens_home())
    mine = shown_text(employee.opens_home())

    assert "The last 7 days (admins)" in home and "*Escalated*\n1" in home
    assert "*Time to acknowledge*\nmedian 12 min, p90 12 min (1 ticket)" in home
    assert "*Time to resolve*\nmedian 2 h 12 min" in home
    assert "(admins)" not in mine


def test_a_ticket_near_its_sla_is_flagged_when_its_message_changes(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice, _] = engineers.on_duty(ALICE, BOB)
    jethro.time_passes(minutes=25)  # 80% of the 30-minute acknowledgement target is 24

    alice.reassign(posted, BOB)

    shown = shown_text(now_shown(jethro, posted))
    assert "Near its SLA*: acknowledge within 30 min (25 min so far)" in shown
