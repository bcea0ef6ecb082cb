"""`/oncall` in Slack: who is on call, and an engineer covering for a colleague."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from escalation.oncall import SAMPLE_ONCALL, load_oncall
from tests.fakes import slack_events as slack
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import ENGINEERS, Employee, Jethro, copy_of_sample_kb, shown_text

NOW = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)  # network: U0NET002 primary, U0NET003 secondary
ENGINEER = "U0ENGINEER1"


@pytest.fixture
def jethro(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[Jethro]:
    bot = Jethro(
        fake_slack, database_url, copy_of_sample_kb(tmp_path), oncall=load_oncall(SAMPLE_ONCALL)
    )
    bot.clock.set(NOW)
    fake_slack.set_members(ENGINEERS, [ENGINEER, "U0NET002"])
    try:
        yield bot
    finally:
        bot.close()


def oncall(person: Employee, text: str = "", count: int = 1) -> dict[str, Any]:
    """Type `/oncall text`; what only they are shown."""
    payload = slack.slash_command(
        text,
        command="/oncall",
        user=person.id,
        response_url=person.jethro.slack.response_url(),
    )
    person.sent(payload)
    return person.only_i_see(count)


def test_oncall_says_who_is_on_call_now_and_next_in_the_teams_zone(employee: Employee) -> None:
    shown = oncall(employee, "network sre")

    text = shown_text(shown)
    assert shown["response_type"] == "ephemeral"
    assert "*network* (Europe/Berlin)" in text and "*sre* (America/New_York)" in text
    assert "<@U0NET002> until Mon 09 Feb 09:00 CET" in text
    assert "<@U0NET003> from Mon 09 Feb 09:00 CET" in text
    assert "until Wed 04 Feb 10:00 EST" in text  # sre hands off at 10:00 New York time
    assert "*it*" not in text


def test_an_engineer_covers_and_the_next_page_goes_to_them(jethro: Jethro) -> None:
    engineer = Employee(jethro, ENGINEER, dm="D0ENGINEER")

    done = oncall(engineer, "override <@U0COVER01|sam> 4h network")
    shown = oncall(engineer, "network", count=2)

    assert "<@U0COVER01> is on call for *network* (primary) until Wed 04 Feb 17:00 CET" in (
        shown_text(done)
    )
    assert "<@U0COVER01> (override) until Wed 04 Feb 17:00 CET" in shown_text(shown)


def test_someone_outside_the_engineers_channel_cannot_override(
    jethro: Jethro, employee: Employee
) -> None:
    refused = oncall(employee, "override <@U0COVER01|sam> 4h network")
    shown = oncall(employee, "network", count=2)

    assert "Only members of the engineers' channel" in shown_text(refused)
    assert "U0COVER01" not in shown_text(shown)
    assert jethro.rows("oncall_override") == 0


def test_a_mistake_is_explained(jethro: Jethro) -> None:
    engineer = Employee(jethro, ENGINEER, dm="D0ENGINEER")

    shown = oncall(engineer, "override <@U0COVER01|sam> 4 network")

    assert "'4' is not a duration" in shown_text(shown)
    assert jethro.rows("oncall_override") == 0


def test_without_a_schedule_oncall_says_how_to_set_one_up(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    bot = Jethro(fake_slack, database_url, copy_of_sample_kb(tmp_path))
    try:
        shown = oncall(Employee(bot))
        assert shown["response_type"] == "ephemeral"
        assert "JETHRO_ONCALL_FILE" in shown_text(shown)
        assert "nobody is paged" in shown_text(shown)
    finally:
        bot.close()
