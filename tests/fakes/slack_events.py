"""What Slack sends the bot: realistic, signed Events API and interactivity requests.

Each builder starts from a recorded payload (`bot/local/slack_spec/payloads/`, or
`tests/fakes/payloads/` for the ones only tests send) and overrides only
who, where, what and when, with a fresh `event_id`, `ts` and `trigger_id` each time (Slack never
repeats them; retries say so in headers). `post` signs the body and sends it with urllib.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from functools import cache
from typing import Any

from bot.local.slack_requests import (
    FORM,
    JSON,
    Payload,
    Reply,
    command_payload,
    event_callback,
    json_payload,
    message_action,
    post,
)
from bot.local.slack_requests import form_payload as _form_payload
from bot.local.spec import sample_payload
from tests.fakes.slack_spec import PAYLOADS

__all__ = ["FORM", "JSON", "Payload", "Reply", "SlackDriver", "post"]

TEAM = "T0G9PQBBK"
"""The fake Web API's `auth.test` team and bot user, so events and the bot agree on who is who."""
BOT_USER = "W23456789"
USER = "U2147483697"
DM_CHANNEL = "D024BE91L"
CHANNEL = "C123ABC456"
APP_ID = "A0PNCHHK2"
RESPONSE_URL = "https://hooks.slack.com/actions/T0G9PQBBK/111/random-value"
"""Real Slack's; pass `fake_slack.response_url()` instead when the bot will `respond()`."""

_counter = itertools.count(1)


@cache
def _recorded(name: str) -> dict[str, Any]:
    if (PAYLOADS / name).is_file():
        loaded: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
        return loaded
    return sample_payload(name)


def _template(name: str) -> dict[str, Any]:
    return copy.deepcopy(_recorded(name))


def fresh_ts() -> str:
    """A message timestamp after every other one this process made."""
    number = next(_counter)
    return f"{int(time.time())}.{number:06d}"


def _event_callback(name: str, event: dict[str, Any], team: str) -> Payload:
    event_id = f"Ev{next(_counter):08d}"
    return event_callback(
        _template(name), event, team=team, bot_user=BOT_USER, app_id=APP_ID, event_id=event_id
    )


def message_im(
    text: str,
    *,
    user: str = USER,
    channel: str = DM_CHANNEL,
    ts: str | None = None,
    team: str = TEAM,
) -> Payload:
    """A direct message to the bot. `text` is as Slack delivers it (`&`, `<`, `>` escaped)."""
    ts = ts or fresh_ts()
    event = {"channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts}
    event |= {"client_msg_id": str(uuid.uuid4()), "team": team}
    return _event_callback("event_callback.message_im.json", event, team)


def thread_reply(
    text: str,
    thread_ts: str,
    *,
    user: str = USER,
    channel: str = DM_CHANNEL,
    ts: str | None = None,
    team: str = TEAM,
) -> Payload:
    """A reply in a thread, such as more detail on a report the bot already answered."""
    ts = ts or fresh_ts()
    event = {"channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts}
    event |= {"thread_ts": thread_ts, "parent_user_id": user, "team": team}
    event["client_msg_id"] = str(uuid.uuid4())
    return _event_callback("event_callback.message_im_thread_reply.json", event, team)


def app_mention(
    text: str,
    *,
    user: str = USER,
    channel: str = CHANNEL,
    ts: str | None = None,
    team: str = TEAM,
    bot_user: str = BOT_USER,
) -> Payload:
    """`@bot text` in a channel; the event text starts with the bot's mention, as on Slack."""
    ts = ts or fresh_ts()
    event = {"channel": channel, "user": user, "ts": ts, "event_ts": ts}
    event["text"] = f"<@{bot_user}> {text}"
    return _event_callback("event_callback.app_mention.json", event, team)


def app_home_opened(user: str = USER, *, channel: str = DM_CHANNEL, team: str = TEAM) -> Payload:
    event = {"user": user, "channel": channel, "tab": "home", "event_ts": fresh_ts()}
    return _event_callback("event_callback.app_home_opened.json", event, team)


def url_verification(challenge: str | None = None) -> Payload:
    data = _template("url_verification.json")
    if challenge is not None:
        data["challenge"] = challenge
    return json_payload(data)


def slash_command(
    text: str,
    *,
    command: str = "/triage",
    user: str = USER,
    user_name: str = "employee",
    channel: str = CHANNEL,
    team: str = TEAM,
    response_url: str = RESPONSE_URL,
) -> Payload:
    """A slash command: a plain form body (no `payload=` wrapper), fields as strings."""
    data = _template("slash_command.json")
    data.update(text=text, command=command, user_id=user, user_name=user_name)
    data.update(channel_id=channel, team_id=team, api_app_id=APP_ID, response_url=response_url)
    data["trigger_id"] = f"{next(_counter)}.{int(time.time())}.fake"
    return command_payload(data)


def block_action(
    action_id: str,
    value: str,
    *,
    user: str = USER,
    channel: str = DM_CHANNEL,
    message_ts: str | None = None,
    block_id: str = "b",
    button_text: str = "Button",
    message: dict[str, Any] | None = None,
    team: str = TEAM,
    response_url: str = RESPONSE_URL,
) -> Payload:
    """A button click on a message; pass the clicked `message` (as posted) to include it."""
    data = _template("block_actions.json")
    ts = message_ts or (message or {}).get("ts") or fresh_ts()
    data["user"].update(id=user, team_id=team)
    data["team"] = {"id": team, "domain": "subarachnoid"}
    data["channel"] = {"id": channel, "name": "directmessage" if channel[:1] == "D" else "help"}
    data["container"] = {"type": "message", "message_ts": ts, "channel_id": channel}
    data["container"]["is_ephemeral"] = False
    data.update(api_app_id=APP_ID, response_url=response_url, state={"values": {}})
    data["trigger_id"] = f"{next(_counter)}.{int(time.time())}.fake"
    if message is not None:
        data["message"] = message
    data["actions"] = [
        {
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": button_text, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": fresh_ts(),
        }
    ]
    return _form_payload(data)


def user_selected(
    action_id: str,
    selected_user: str,
    **click: Any,
) -> Payload:
    """A user chosen in a `users_select` on a message: `block_action`'s click, another element."""
    payload = block_action(action_id, "", **click)
    data = payload.data
    element = data["actions"][0]
    element.pop("value")
    element.pop("text")
    element.update(type="users_select", selected_user=selected_user)
    return _form_payload(data)


def view_submission(
    callback_id: str,
    values: dict[str, dict[str, str]],
    *,
    user: str = USER,
    private_metadata: str = "",
    team: str = TEAM,
    checked: dict[str, dict[str, list[str]]] | None = None,
    selected: dict[str, dict[str, str]] | None = None,
) -> Payload:
    """A modal's Submit; `values` maps block_id -> action_id -> the typed text, `checked`
    block_id -> action_id -> the values of the ticked checkboxes, and `selected` block_id ->
    action_id -> the value chosen in an `external_select`."""
    data = _template("view_submission.json")
    data["user"].update(id=user, team_id=team)
    data["team"] = {"id": team, "domain": "subarachnoid"}
    view = data["view"]
    view.update(callback_id=callback_id, private_metadata=private_metadata, team_id=team)
    state: dict[str, dict[str, Any]] = {
        block_id: {
            action_id: {"type": "plain_text_input", "value": text}
            for action_id, text in actions.items()
        }
        for block_id, actions in values.items()
    }
    for block_id, boxes in (checked or {}).items():
        for action_id, ticked in boxes.items():
            options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in ticked]
            state.setdefault(block_id, {})[action_id] = {
                "type": "checkboxes",
                "selected_options": options,
            }
    for block_id, menus in (selected or {}).items():
        for action_id, value in menus.items():
            option = {"text": {"type": "plain_text", "text": value}, "value": value}
            state.setdefault(block_id, {})[action_id] = {
                "type": "external_select",
                "selected_option": option,
            }
    view["state"] = {"values": state}
    data.update(api_app_id=APP_ID, trigger_id=f"{next(_counter)}.{int(time.time())}.fake")
    return _form_payload(data)


def block_suggestion(
    action_id: str,
    block_id: str,
    typed: str,
    *,
    callback_id: str,
    private_metadata: str = "",
    user: str = USER,
    team: str = TEAM,
) -> Payload:
    """A select menu with an external data source asking for its options (`block_suggestion`),
    as Slack sends it when a modal's menu opens or the person types in it: `typed` is `value`."""
    view_id = f"V{next(_counter):010d}"
    data: dict[str, Any] = {
        "type": "block_suggestion",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team},
        "container": {"type": "view", "view_id": view_id},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "action_id": action_id,
        "block_id": block_id,
        "value": typed,
        "team": {"id": team, "domain": "subarachnoid"},
        "view": {
            "id": view_id,
            "team_id": team,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": {}},
        },
    }
    return _form_payload(data)


def message_shortcut(
    callback_id: str,
    message_text: str,
    *,
    user: str = USER,
    author: str = USER,
    channel: str = CHANNEL,
    message_ts: str | None = None,
    team: str = TEAM,
    response_url: str = RESPONSE_URL,
) -> Payload:
    """ "Report this to Jethro" chosen on someone's message (keys as in the java SDK's shape)."""
    ts = message_ts or fresh_ts()
    message = {"type": "message", "user": author, "ts": ts, "text": message_text, "team": team}
    return message_action(
        team={"id": team, "domain": "subarachnoid"},
        user={"id": user, "name": "employee", "team_id": team},
        channel={"id": channel, "name": "help"},
        callback_id=callback_id,
        trigger_id=f"{next(_counter)}.{int(time.time())}.fake",
        response_url=response_url,
        message=message | {"client_msg_id": str(uuid.uuid4())},
    )


class SlackDriver:
    """Slack's side of the conversation with one app: where it listens and how it is signed."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret

    def send(self, payload: Payload, headers: dict[str, str] | None = None) -> Reply:
        return post(self.url, payload, self.secret, headers)

    def retry(self, payload: Payload, attempt: int = 1, reason: str = "http_timeout") -> Reply:
        """Redeliver an event as Slack does after a slow or failed acknowledgement."""
        retry = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": reason}
        return self.send(payload, retry)
