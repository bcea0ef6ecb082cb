"""Property tests through the real path: whatever Slack delivers, in whatever shape, each report
ends answered or escalated exactly once, nothing crashes, and nothing injected reaches Slack.

Every example is a signed HTTP request into the running Bolt app (the fake Slack Web API records
what it sends), on SQLite and PostgreSQL. One bot serves all of a test's examples; each example
is a new person in a new conversation, so examples cannot see each other's reports. Example
counts are kept small: the suite runs on shared machines.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation.models import ThreadState
from tests.fakes import slack_events as slack
from tests.fakes.slack_api import Call
from tests.scenarios.world import Jethro

EXAMPLES = 40
_people = itertools.count(1)

INJECTIONS = (
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<!subteam^S0123ABCD|@admins>",
    "@here",
    "@channel please",
    "<https://evil.example/login|click me>",
    "<javascript:alert(1)|x>",
    "&lt;!here&gt;",
    "*bold* _it_ ~gone~",
    "```\ncode\n```",
    "> quoted",
    '"}]},{"type":"section"',
    "{{ 7 * 7 }}",
    "\u202etxt.exe",
    "\x00",
    "\ud800",
    "\u200b@\u200bhere",
    "my vpn keeps dropping",
    "wrong amount on my payslip",
    "the printer jams",
    "my account has been hacked",
)
TEXTS = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=300),
    st.lists(st.sampled_from(INJECTIONS), max_size=10).map(" ".join),
    st.builds(
        lambda word, times: word * times,
        st.sampled_from(["vpn ", "<!here> ", "ü"]),
        st.integers(2_000, 15_000),
    ),
)
PERSON = (
    "plain",
    "thread_broadcast",
    "file_share",
    "file_only",
    "attachments",
    "rich_text",
    "empty",
)
NOT_PERSON = ("edited", "deleted", "joined", "bot_message", "other_app")
SHAPES = st.sampled_from(PERSON + NOT_PERSON)

SLACK_MARKUP = re.compile(r"<([^<>]*)>")
LIVE_BROADCAST = re.compile(r"(?<![\w\u2060])@(channel|here|everyone)\b", re.IGNORECASE)
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
SLOW = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@dataclass(frozen=True)
class Person:
    user: str
    dm: str


def new_person() -> Person:
    number = next(_people)
    return Person(f"U9{number:08d}", f"D9{number:08d}")


def delivery(shape: str, text: str, person: Person) -> slack.Payload:
    """What Slack sends for a message of this shape in the person's DM with the bot."""
    data = slack.message_im("placeholder", user=person.user, channel=person.dm).data
    event: dict[str, Any] = data["event"]
    event["text"] = text
    if shape == "thread_broadcast":
        event |= {"subtype": "thread_broadcast", "thread_ts": slack.fresh_ts()}
    elif shape in ("file_share", "file_only"):
        event |= {"subtype": "file_share", "files": [{"id": "F0123", "name": "screenshot.png"}]}
        if shape == "file_only":
            event["text"] = ""
    elif shape == "attachments":
        event |= {"text": "", "attachments": [{"fallback": text, "text": text}]}
    elif shape == "rich_text":
        section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
        event |= {"text": "", "blocks": [{"type": "rich_text", "elements": [section]}]}
    elif shape == "empty":
        event["text"] = ""
    elif shape == "edited":
        message = {"type": "message", "user": person.user, "text": text, "ts": event["ts"]}
        event |= {"subtype": "message_changed", "message": message, "hidden": True}
        event.pop("user")
    elif shape == "deleted":
        event |= {"subtype": "message_deleted", "hidden": True, "deleted_ts": event["ts"]}
        event.pop("user")
    elif shape == "joined":
        event |= {"subtype": "channel_join"}
    elif shape == "bot_message":
        event |= {"subtype": "bot_message", "bot_id": "B0OTHER01", "username": "other"}
        event.pop("user")
    elif shape == "other_app":
        event |= {"bot_id": "B0OTHER01", "app_id": "A0OTHER01"}
    return slack.Payload(json.dumps(data).encode(), slack.JSON, data)


def assert_nothing_injected(calls: list[Call]) -> None:
    """No broadcast, no link the employee typed, no raw control or bidi character, in any call."""
    for call in calls:
        sent = json.dumps(call.args, ensure_ascii=False)
        for markup in SLACK_MARKUP.findall(sent):  # mentions, and the KB's own links
            ours = markup[:1] in "@#" or markup.startswith(("https://", "http://", "mailto:"))
            assert ours and "evil.example" not in markup, f"{call.method} carries <{markup}>"
        assert not LIVE_BROADCAST.search(strings(call.args)), call.args
        assert not FORBIDDEN.search(strings(call.args)), call.args


def strings(node: Any) -> str:
    if isinstance(node, dict):
        return "\n".join(strings(v) for v in node.values())
    if isinstance(node, list):
        return "\n".join(strings(v) for v in node)
    return node if isinstance(node, str) else ""


def reporter_rows(jethro: Jethro, user: str) -> tuple[list[Any], list[Any]]:
    conversations = [c for c in jethro.conversations() if c.reporter == user]
    tickets = [t for t in jethro.tickets() if t.reporter == user]
    return conversations, tickets


@SLOW
@given(shape=SHAPES, text=TEXTS, redelivered=st.booleans())
def test_every_dm_shape_ends_answered_or_escalated_exactly_once(
    jethro: Jethro, shape: str, text: str, redelivered: bool
) -> None:
    person = new_person()
    before = len(jethro.slack.calls())
    payload = delivery(shape, text, person)

    assert jethro.send(payload).status == 200
    if redelivered:
        assert jethro.driver.retry(payload).status == 200
    jethro.settle()

    calls = jethro.slack.calls()[before:]
    replies = [
        c for c in calls if c.method == "chat.postMessage" and c.args["channel"] == person.dm
    ]
    conversations, tickets = reporter_rows(jethro, person.user)
    assert_nothing_injected(calls)
    assert all(c.ok for c in calls), [c.response for c in calls if not c.ok]
    if shape in NOT_PERSON:
        assert (replies, conversations, tickets) == ([], [], [])
        return
    assert len(replies) == 1, [c.args.get("text") for c in replies]
    assert len(conversations) <= 1  # none: a greeting or "help", answered by a reply only
    if conversations:  # escalated: its own ticket, or one it joined (a storm of the same words)
        [conversation] = conversations
        escalated = conversation.state is ThreadState.ESCALATED
        assert escalated == (conversation.ticket_id is not None)
        assert [t.id for t in tickets] in ([], [conversation.ticket_id])
    else:
        assert tickets == []
    assert "Sorry, something went wrong" not in strings([c.args for c in calls])


@SLOW
@given(text=TEXTS)
def test_every_mention_gets_one_reply_where_it_was_asked(jethro: Jethro, text: str) -> None:
    person = new_person()
    channel = "C9" + person.user[2:]
    before = len(jethro.slack.calls())
    payload = slack.app_mention("placeholder", user=person.user, channel=channel)
    payload.data["event"]["text"] = f"<@{slack.BOT_USER}> {text}"
    body = json.dumps(payload.data).encode()

    assert jethro.send(slack.Payload(body, slack.JSON, payload.data)).status == 200
    jethro.settle()

    calls = jethro.slack.calls()[before:]
    assert_nothing_injected(calls)
    posts = [c for c in calls if c.method == "chat.postMessage" and c.ok]
    here = [c for c in posts if c.args["channel"] == channel]
    in_dm = [c for c in posts if c.args["channel"] == person.user]
    assert len(here) == 1
    moved = "answered you in a direct message" in strings(here[0].args)
    assert len(in_dm) == (1 if moved else 0)
    conversations, tickets = reporter_rows(jethro, person.user)
    assert len(conversations) <= 1 and len(tickets) <= 1
