"""Issue #5's "what it must show", as a new user would try it: one escalation from report to a
drafted article, with the real schedule, the fake Slack server and a 10-minute ack timeout; then
a restart mid-policy and two replicas sharing PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalation.clock import FixedClock
from escalation.models import TicketStatus
from escalation.oncall import SAMPLE_ONCALL, load_oncall
from tests.bot.cli_driver import run_jethro
from tests.dbfixtures import POSTGRES_URL_VARIABLE, postgres_schema
from tests.fakes.slack_api import Call, FakeSlack
from tests.scenarios.world import (
    WAIT,
    Employee,
    Engineer,
    Engineers,
    Jethro,
    copy_of_sample_kb,
    elements,
    shown_text,
)

NOW = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)
# The sample schedule's `it` team that week: primary U0IT0002, secondary U0IT0001; ack 10 min.
PRIMARY, SECONDARY = "U0IT0002", "U0IT0001"
STRANGER = "U0STRANGER"
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


def paged(slack: FakeSlack, user: str) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if c.ok and c.args["channel"] == user]


def test_an_escalation_from_report_to_a_drafted_article(
    jethro: Jethro, employee: Employee, engineers: Engineers, tmp_path: Path
) -> None:
    # An employee reports something the knowledge base cannot fix: a ticket, and a page.
    thread = employee.dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    _, secondary = engineers.on_duty(PRIMARY, SECONDARY)
    jethro.settle()
    assert len(paged(jethro.slack, PRIMARY)) == 1 and paged(jethro.slack, SECONDARY) == []

    # Nobody acknowledges within the 10 minutes: the secondary is paged.
    jethro.time_passes(minutes=10)
    jethro.settle()
    [page] = paged(jethro.slack, SECONDARY)
    assert f"<@{PRIMARY}> did not acknowledge" in page.args["text"]

    # Someone outside the engineers' channel presses Acknowledge: refused, nothing changes.
    stranger = Engineer(jethro, STRANGER)
    stranger.click("ticket_ack", posted)
    assert "only the engineers in the escalation channel" in stranger.only_i_see()["text"]
    assert jethro.tickets()[0].status is TicketStatus.OPEN

    # The secondary acknowledges: the reporter is told who has it.
    secondary.click("ticket_ack", posted)
    assert f"<@{SECONDARY}> has *ticket #" in shown_text(thread.last_reply(2))

    # A reply in the ticket's thread reaches the reporter, in their thread.
    secondary.reply_in_thread(posted, "Is it the one by the lifts?")
    relayed = thread.last_reply(3)
    assert "Is it the one by the lifts?" in shown_text(relayed)
    assert relayed["thread_ts"] == thread.ts

    # Resolved with "Add to knowledge base": a draft that `jethro kb lint` accepts once moved in.
    secondary.resolve(posted, "1. Turn the capacitor off.\n2. Wait 88 seconds.", add_to_kb=True)
    assert f"<@{SECONDARY}> resolved *ticket #" in shown_text(thread.last_reply(4))
    jethro.settle()
    assert elements(jethro.slack.message(posted["channel"], posted["ts"])) == []
    [draft] = (jethro.kb / "_drafts").glob("*.md")
    published = Path(shutil.copytree(jethro.kb, tmp_path / "published"))
    (published / "_drafts" / draft.name).rename(published / "facilities" / draft.name)
    lint = run_jethro("kb", "lint", str(published), "--strict")
    assert lint.code == 0, lint.stdout + lint.stderr
    assert len(paged(jethro.slack, PRIMARY)) == 1 and len(paged(jethro.slack, SECONDARY)) == 1


def test_a_restart_mid_policy_pages_the_secondary_once(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    employee.dm(UNKNOWN)
    engineers.tickets_posted()
    jethro.settle()

    jethro.restart()
    jethro.time_passes(minutes=10)
    jethro.settle()
    jethro.restart()
    jethro.time_passes(minutes=1)
    jethro.settle()

    assert len(paged(jethro.slack, PRIMARY)) == 1 and len(paged(jethro.slack, SECONDARY)) == 1


@pytest.mark.skipif(
    not os.environ.get(POSTGRES_URL_VARIABLE), reason=f"needs {POSTGRES_URL_VARIABLE}"
)
def test_two_replicas_sharing_postgresql_page_each_engineer_once(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    with postgres_schema(os.environ[POSTGRES_URL_VARIABLE]) as url:
        kb = copy_of_sample_kb(tmp_path)
        clock = FixedClock(NOW)
        oncall = load_oncall(SAMPLE_ONCALL)
        replicas = [Jethro(fake_slack, url, kb, oncall=oncall, clock=clock) for _ in "ab"]
        try:
            Employee(replicas[0]).dm(UNKNOWN)
            Engineers(replicas[0]).tickets_posted()
            for replica in replicas:  # nothing in flight when the clock jumps past its lease
                replica.settle()
            for minutes in (5, 5, 5, 5):  # both replicas' workers run every step as it falls due
                replicas[0].time_passes(minutes=minutes)  # the clock they share
                replicas[1].time_passes()
                for replica in replicas:
                    replica.settle()
            fake_slack.wait_for("chat.postMessage", 4, WAIT)  # ticket, reply, two pages, @here
        finally:
            for replica in replicas:
                replica.close()

    assert len(paged(fake_slack, PRIMARY)) == 1 and len(paged(fake_slack, SECONDARY)) == 1
    heres = [c for c in fake_slack.calls("chat.postMessage") if "<!here>" in c.args["text"]]
    assert len(heres) == 1
