"""Whatever a report holds, and whatever fails inside, it ends answered or with a person.

Reports arrive as Slack sends them (signed JSON into the real Bolt app) on SQLite and on
PostgreSQL, which refuses NUL in text where SQLite stores it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.decision import Candidate
from knowledge.index import Matcher
from tests.fakes import slack_events as slack
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import (
    Employee,
    Engineers,
    Jethro,
    buttons,
    copy_of_sample_kb,
    shown_text,
)


def raw_dm(text: str, user: str = slack.USER) -> slack.Payload:
    """A DM whose text is exactly `text`, escapes and all, as a JSON body can carry it."""
    data = slack.message_im("placeholder", user=user).data
    data["event"]["text"] = text
    return slack.Payload(json.dumps(data).encode(), slack.JSON, data)


def test_a_lone_surrogate_and_a_nul_still_get_the_answer(
    jethro: Jethro, employee: Employee
) -> None:
    employee.sent(raw_dm("my vpn keeps dropping \ud800 every hour\x00"))

    answer = jethro.slack.wait_for("chat.postMessage")[-1].response["message"]
    jethro.settle()

    assert [b["action_id"] for b in buttons(answer)] == ["kb_solved", "kb_not_solved"]
    assert "VPN" in shown_text(answer)
    [conversation] = jethro.conversations()
    assert conversation.text == "my vpn keeps dropping \\ud800 every hour\\u0000"


def test_the_engineer_sees_what_was_sent_escaped(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    sent = "the flux capacitor \u202eexe.gnp\u202c hums\x07 at <!here> \ud83d\ude00 \udfff z\u200bz"

    employee.sent(raw_dm(sent))

    [ticket] = engineers.tickets_posted()
    shown = shown_text(ticket)
    assert "\\u202eexe.gnp\\u202c hums\\u0007" in shown  # the override shown, not obeyed
    assert "\u202e" not in shown and "\x07" not in shown
    assert "😀 \\udfff zz" in shown
    assert "<!here>" not in json.dumps(ticket) and "@\u2060here" in shown
    assert jethro.tickets()[0].text.startswith("the flux capacitor \\u202eexe.gnp")


class Breaking:
    """The matcher the bot built, failing the way the tokenizer did on a lone surrogate."""

    def __init__(self, matcher: Matcher) -> None:
        self.inner = matcher
        self.name = matcher.name

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        if "printer" in text:
            raise TypeError("TextEncodeInput must be Union[TextInputSequence, ...]")
        return self.inner.rank(text, limit)

    def confidence(self, ranked: Sequence[Candidate]) -> float:
        return self.inner.confidence(ranked)


@pytest.fixture
def breaking(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[Jethro]:
    bot = Jethro(fake_slack, database_url, copy_of_sample_kb(tmp_path), matcher_around=Breaking)
    try:
        yield bot
    finally:
        bot.close()


def test_when_matching_raises_the_report_goes_to_a_person_with_a_note(
    breaking: Jethro,
) -> None:
    employee, engineers = Employee(breaking), Engineers(breaking)

    thread = employee.dm("the printer on floor 2 prints blank pages")

    [ticket] = engineers.tickets_posted()
    assert "the printer on floor 2 prints blank pages" in shown_text(ticket)
    assert "could not judge this report (matching failed: TypeError)" in shown_text(ticket)
    assert "#1" in shown_text(thread.last_reply())
    assert "Sorry" not in json.dumps([c.args for c in breaking.slack.calls()])
    thread2 = employee.dm("my vpn keeps dropping")  # the others are still answered
    assert [b["action_id"] for b in buttons(thread2.last_reply())] == ["kb_solved", "kb_not_solved"]


def test_when_handling_fails_after_matching_the_report_still_reaches_a_person(
    jethro: Jethro, employee: Employee, engineers: Engineers, tmp_path: Path
) -> None:
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "answer.j2").write_text('{"text": {{ article.nothing.at_all | tojson }}}')
    jethro.settings = replace(jethro.settings, template_dir=broken)
    jethro.restart()

    thread = employee.dm("my vpn keeps dropping")
    [ticket] = engineers.tickets_posted()

    assert "my vpn keeps dropping" in shown_text(ticket)
    assert "could not judge this report (handling failed: RenderError)" in shown_text(ticket)
    assert "#1" in shown_text(thread.last_reply())
    jethro.settle()
    assert len(jethro.tickets()) == 1 and len(jethro.conversations()) == 1


def test_a_command_whose_handling_fails_reaches_a_person_too(
    breaking: Jethro,
) -> None:
    employee, engineers = Employee(breaking), Engineers(breaking)

    employee.triage("the printer jams on every page")

    [ticket] = engineers.tickets_posted()
    assert "the printer jams on every page" in shown_text(ticket)
    assert "could not judge" in shown_text(ticket)
