"""The stand-in Slack over HTTP, no browser: Slack's errors, signatures, who sees what."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from sqlmodel import select

from bot.local.run import Running
from bot.local.signing import signature
from bot.local.slack_requests import JSON, Payload, post
from bot.local.workspace import ONCALL, PEOPLE, Workspace
from escalation.db import session
from escalation.models import Ticket

ANA, ELI = PEOPLE[0], PEOPLE[4]
REPORT = "my vpn keeps dropping every few minutes"
WAIT = 10.0


def client(running: Running, token: str | None = None) -> WebClient:
    return WebClient(
        token=token or running.workspace.token, base_url=running.url + "/api/", timeout=5
    )


def until(running: Running, what: Callable[[], Any], message: str) -> Any:
    """Wait for the workspace to change until `what` is true (the bot works after its ack)."""
    api = running.workspace.api
    deadline = time.monotonic() + WAIT
    with api.changed:
        while not (found := what()):
            left = deadline - time.monotonic()
            assert left > 0, message
            api.changed.wait(min(left, 0.05))  # the database changes unannounced
    return found


def bot_messages(running: Running, channel: str) -> list[dict[str, Any]]:
    api = running.workspace.api
    found = [m for (ch, _), m in api.store.messages.items() if ch == channel and m.get("bot_id")]
    return sorted(found, key=lambda m: float(m["ts"]))


def page(running: Running, person: str, channel: str) -> str:
    query = urlencode({"as": person, "at": channel})
    with urllib.request.urlopen(f"{running.url}/?{query}", timeout=5) as response:
        return str(response.read().decode())


def escalate(running: Running) -> dict[str, Any]:
    """Ana reports a VPN problem, is answered, says Still broken; the ticket message."""
    workspace = running.workspace
    dm = workspace.dm_of(ANA.id)
    workspace.say(ANA.id, dm, REPORT)
    [answer] = until(running, lambda: bot_messages(running, dm), "no answer")
    button = next(
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "kb_not_solved"
    )
    workspace.click(ANA.id, button, channel=dm, ts=answer["ts"])
    engineers = workspace.engineers.id
    [ticket] = until(running, lambda: bot_messages(running, engineers), "no ticket")
    until(running, lambda: _posted_ts_stored(running), "the bot did not note where it posted")
    return ticket


def _posted_ts_stored(running: Running) -> bool:
    """The bot stores the ticket message's ts a moment after Slack answered with it; a click
    in between (faster than any person) finds no message to update yet."""
    with session(running.services.engine) as db:
        return all(t.slack_ts for t in db.exec(select(Ticket)).all())


def ticket_button(ticket: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(
        dict(e, block_id=b.get("block_id", ""))
        for b in ticket["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


def test_an_unknown_method_gets_slacks_unknown_method(workspace: Running) -> None:
    with pytest.raises(SlackApiError) as raised:
        client(workspace).api_call("chat.frobnicate", json={"channel": "C1"})

    assert raised.value.response.status_code == 404
    assert raised.value.response["error"] == "unknown_method"


def test_a_missing_or_unknown_argument_gets_invalid_arguments_naming_it(
    workspace: Running,
) -> None:
    with pytest.raises(SlackApiError) as missing:
        client(workspace).api_call("chat.postMessage", json={"text": "hello"})
    with pytest.raises(SlackApiError) as unknown:
        client(workspace).api_call(
            "chat.postMessage", json={"channel": "C0LOCALHELP", "text": "hi", "colour": "red"}
        )

    assert missing.value.response["error"] == "invalid_arguments"
    assert "missing required 'channel'" in str(missing.value.response["response_metadata"])
    assert unknown.value.response["error"] == "invalid_arguments"
    assert "unknown argument 'colour'" in str(unknown.value.response["response_metadata"])


def test_blocks_slack_would_refuse_get_invalid_blocks(workspace: Running) -> None:
    too_long = {"type": "button", "text": {"type": "plain_text", "text": "x" * 80}}
    blocks = [{"type": "actions", "elements": [too_long | {"action_id": "a"}]}]

    with pytest.raises(SlackApiError) as raised:
        client(workspace).chat_postMessage(channel="C0LOCALHELP", text="hi", blocks=blocks)

    assert raised.value.response["error"] == "invalid_blocks"


def test_a_wrong_token_gets_invalid_auth(workspace: Running) -> None:
    with pytest.raises(SlackApiError) as raised:
        client(workspace, token="xoxb-someone-else").auth_test()

    assert raised.value.response["error"] == "invalid_auth"


def test_requests_to_the_bot_carry_a_signature_it_checks(workspace: Running) -> None:
    w = workspace.workspace
    body = json.dumps({"type": "url_verification", "challenge": "abc", "token": "t"}).encode()
    payload = Payload(body, JSON, {})
    stamp = str(int(time.time()))

    good = post(w.events_url, payload, w.secret)
    forged = post(w.events_url, payload, "not-the-runs-secret")

    assert good.status == 200 and good.json()["challenge"] == "abc"
    assert forged.status == 401
    assert SignatureVerifier(w.secret).is_valid(body, stamp, signature(w.secret, body, stamp))
    assert len(w.secret) == 32


def test_a_refusal_is_shown_only_to_the_person_who_clicked(workspace: Running) -> None:
    ticket = escalate(workspace)
    engineers = workspace.workspace.engineers.id

    workspace.workspace.click(
        ELI.id, ticket_button(ticket, "ticket_ack"), channel=engineers, ts=ticket["ts"]
    )
    until(workspace, lambda: workspace.workspace.api.store.ephemerals, "no refusal")

    refusal = "only the engineers in the escalation channel"
    assert refusal in page(workspace, ELI.id, engineers)
    [shown] = workspace.workspace.api.store.ephemerals
    assert f"<@{ONCALL.id}>" in shown["text"]
    assert f"<@{workspace.workspace.api.bot_user_id}>" not in shown["text"]  # not "@Jethro"
    assert "Only visible to you" in page(workspace, ELI.id, engineers)
    assert refusal not in page(workspace, ONCALL.id, engineers)
    assert refusal not in page(workspace, ANA.id, engineers)


def test_acknowledging_updates_the_ticket_message_in_place(workspace: Running) -> None:
    ticket = escalate(workspace)
    engineers = workspace.workspace.engineers.id

    workspace.workspace.click(
        ONCALL.id, ticket_button(ticket, "ticket_ack"), channel=engineers, ts=ticket["ts"]
    )

    def updated() -> bool:
        [message] = bot_messages(workspace, engineers)
        return "acknowledged" in json.dumps(message["blocks"])

    until(workspace, updated, "the ticket message was not updated")
    [message] = bot_messages(workspace, engineers)
    assert message["ts"] == ticket["ts"]
    assert "Acknowledged by" in page(workspace, ONCALL.id, engineers)


def test_what_people_type_is_shown_as_text_never_as_markup(workspace: Running) -> None:
    w: Workspace = workspace.workspace
    typed = "<script>alert(1)</script> <img src=x onerror=alert(2)> *not bold?* <@U0LOCAL003>"

    w.say(ANA.id, "C0LOCALHELP", typed)
    shown = page(workspace, ANA.id, "C0LOCALHELP")

    assert "<script>alert(1)" not in shown and "<img src=x" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "@Chen Wu" not in shown  # typed brackets are not a mention


def test_a_mention_in_a_channel_is_answered_in_its_thread(workspace: Running) -> None:
    w = workspace.workspace

    w.say(ANA.id, "C0LOCALHELP", "@Jethro my vpn keeps dropping every few minutes")

    [answer] = until(workspace, lambda: bot_messages(workspace, "C0LOCALHELP"), "no answer")
    [asked] = [m for m in w.api.store.messages.values() if m.get("user") == ANA.id]
    assert answer["thread_ts"] == asked["ts"]
    assert asked["text"].startswith(f"<@{w.api.bot_user_id}>")


def test_the_triage_command_answers_only_the_asker_then_in_their_dm(workspace: Running) -> None:
    w = workspace.workspace

    w.say(ANA.id, "C0LOCALHELP", "/triage my vpn keeps dropping every few minutes")

    dm = w.dm_of(ANA.id)
    until(workspace, lambda: bot_messages(workspace, dm), "no answer in the DM")
    [on_it] = [e for e in w.api.store.ephemerals if e["channel"] == "C0LOCALHELP"]
    assert on_it["for_user"] == ANA.id
    assert not bot_messages(workspace, "C0LOCALHELP")


def test_triage_this_on_someones_message_answers_the_one_who_chose_it(
    workspace: Running,
) -> None:
    w = workspace.workspace
    ben = PEOPLE[1]
    w.say(ben.id, "C0LOCALHELP", REPORT)
    [said] = [m for m in w.api.store.messages.values() if m.get("user") == ben.id]

    w.shortcut(ANA.id, "C0LOCALHELP", said["ts"])

    [answer] = until(workspace, lambda: bot_messages(workspace, w.dm_of(ANA.id)), "no answer")
    assert answer["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"
    assert not bot_messages(workspace, w.dm_of(ben.id))
    assert not bot_messages(workspace, "C0LOCALHELP")  # Ben's words alone are not a report


def test_the_admin_view_links_back_to_the_workspace(workspace: Running) -> None:
    with urllib.request.urlopen(f"{workspace.url}/admin/", timeout=5) as response:
        admin = response.read().decode()
    back = re.search(r'<a class="back" id="back-to-workspace" href="([^"]+)"', admin)

    assert back, "no link back to the workspace"
    with urllib.request.urlopen(workspace.url + back.group(1), timeout=5) as response:
        assert 'id="persona"' in response.read().decode()  # the workspace page, who you are
