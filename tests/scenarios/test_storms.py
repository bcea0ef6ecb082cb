"""Storms: several people reporting one outage get one ticket, one page, and all the news."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalation.oncall import SAMPLE_ONCALL, load_oncall
from tests.dbfixtures import POSTGRES_URL_VARIABLE, postgres_schema, run_at_once
from tests.fakes import slack_events as slack
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import (
    ENGINEERS,
    Employee,
    Engineers,
    Jethro,
    copy_of_sample_kb,
    shown_text,
)

NOW = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)
PRIMARY = "U0IT0002"  # the sample schedule's `it` primary that week
OUTAGE = [
    "the quantum flux capacitor on floor 3 is humming",
    "flux capacitor humming loudly on floor 3",
    "is the flux capacitor on floor 3 broken? it hums <!here>",
]


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


def people(jethro: Jethro, count: int) -> list[Employee]:
    return [Employee(jethro, f"U0EMPLOYEE{n}", f"D0EMPLOYEE{n}") for n in range(count)]


def test_three_reports_of_one_outage_are_one_ticket_one_page_and_everyone_hears(
    jethro: Jethro, engineers: Engineers
) -> None:
    reporters = people(jethro, 3)
    threads = []
    for person, words in zip(reporters, OUTAGE, strict=True):
        threads.append(person.dm(words))
        jethro.settle()
        jethro.time_passes(minutes=2)

    [posted] = engineers.tickets_posted()
    [ticket] = jethro.tickets()
    shown = shown_text(jethro.slack.message(ENGINEERS, posted["ts"]))
    assert "*3 people reported this*: <@U0EMPLOYEE0>, <@U0EMPLOYEE1>, <@U0EMPLOYEE2>." in shown
    pages = [c for c in jethro.slack.calls("chat.postMessage") if c.args["channel"] == PRIMARY]
    assert len(pages) == 1
    for thread in threads[1:]:
        known = shown_text(thread.last_reply())
        assert f"This is a known problem: it is *ticket #{ticket.id}*" in known
        assert "on-call *it* team has it" in known
    joined = engineers.thread_of(posted, 2)
    assert "<@U0EMPLOYEE2> reported *ticket #" in shown_text(joined[1])
    assert "<!here>" not in shown_text(joined[1])

    [alice] = engineers.on_duty("U0ALICE001")
    alice.click("ticket_ack", posted)
    for thread in threads:
        told = [shown_text(m) for m in thread.bot_replies(2)]
        assert any(f"<@U0ALICE001> has *ticket #{ticket.id}*" in t for t in told), told

    alice.reply_in_thread(posted, "Is it still humming?")
    for thread in threads:
        assert "Is it still humming?" in shown_text(thread.last_reply(3))

    threads[1].reply("yes, louder now")
    notes = engineers.thread_of(posted, 3)  # the two who joined, then this
    assert "<@U0EMPLOYEE1> added to *ticket #" in shown_text(notes[-1])
    assert "yes, louder now" in shown_text(notes[-1])


def test_a_new_report_after_the_fix_or_of_another_problem_opens_its_own_ticket(
    jethro: Jethro, engineers: Engineers
) -> None:
    first, second, third = people(jethro, 3)
    first.dm(OUTAGE[0])
    [posted] = engineers.tickets_posted()
    second.dm("the coffee machine on floor 3 is leaking")
    engineers.tickets_posted(2)
    [alice] = engineers.on_duty("U0ALICE001")
    alice.resolve(posted, "Replaced the capacitor.")
    jethro.settle()

    third.dm(OUTAGE[1])

    engineers.tickets_posted(3)
    assert len(jethro.tickets()) == 3


@pytest.mark.skipif(
    not os.environ.get(POSTGRES_URL_VARIABLE), reason=f"needs {POSTGRES_URL_VARIABLE}"
)
def test_two_replicas_receiving_one_outage_at_once_open_one_ticket(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    with postgres_schema(os.environ[POSTGRES_URL_VARIABLE]) as url:
        kb = copy_of_sample_kb(tmp_path)
        replicas = [Jethro(fake_slack, url, kb) for _ in "ab"]
        try:
            for round_ in range(3):
                payloads = [
                    slack.message_im(OUTAGE[n], user=f"U0R{round_}{n}", channel=f"D0R{round_}{n}")
                    for n in range(2)
                ]
                replies = run_at_once(
                    *(lambda r=r, p=p: r.send(p) for r, p in zip(replicas, payloads, strict=True))
                )
                assert [reply.status for reply in replies] == [200, 200]
            for replica in replicas:
                replica.settle()
            tickets = replicas[0].tickets()
            rows = replicas[0].rows("ticket_report")
            message = fake_slack.message(ENGINEERS, str(tickets[0].slack_ts))
        finally:
            for replica in replicas:
                replica.close()

    assert len(tickets) == 1 and rows == 6
    posted = [
        c
        for c in fake_slack.calls("chat.postMessage")
        if c.args["channel"] == ENGINEERS and "thread_ts" not in c.args
    ]
    assert len(posted) == 1
    assert "*6 people reported this*" in shown_text(message)  # edited once it could be
