"""What Slack sends an app: Events API and interactivity requests, signed, over HTTP.

Bodies start from Slack's recorded samples (`slack_spec/payloads/`) with who, where, what and
when filled in; `post` signs them with the app's signing secret and delivers them. The local
workspace sends these to the bot's `/slack/events`; the tests' builders (`tests/fakes/
slack_events.py`) use the same pieces.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

from bot.local.signing import signed_headers
from bot.local.spec import sample_payload

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
TIMEOUT_S = 10


@dataclass(frozen=True)
class Payload:
    """A request body exactly as Slack sends it, and what it says."""

    body: bytes
    content_type: str
    data: dict[str, Any]


class Reply(NamedTuple):
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def template(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded payload, to fill in."""
    return copy.deepcopy(sample_payload(name))


def json_payload(data: dict[str, Any]) -> Payload:
    return Payload(json.dumps(data).encode(), JSON, data)


def form_payload(data: dict[str, Any]) -> Payload:
    """Interactivity: the JSON travels url-encoded in a single `payload` form field."""
    return Payload(urlencode({"payload": json.dumps(data)}).encode(), FORM, data)


def command_payload(data: dict[str, Any]) -> Payload:
    """A slash command: a plain form body (no `payload=` wrapper), fields as strings."""
    return Payload(urlencode(data).encode(), FORM, data)


def event_callback(
    data: dict[str, Any],
    event: dict[str, Any],
    *,
    team: str,
    bot_user: str,
    app_id: str,
    event_id: str,
) -> Payload:
    """An Events API delivery: `event` inside the envelope Slack wraps it in."""
    data["event"].update(event)
    data.update(team_id=team, api_app_id=app_id, event_id=event_id)
    data["event_time"] = int(float(data["event"].get("event_ts", 0)))
    data["authorizations"] = [
        {"team_id": team, "user_id": bot_user, "is_bot": True, "is_enterprise_install": False}
    ]
    return json_payload(data)


def message_action(
    *,
    team: dict[str, str],
    user: dict[str, Any],
    channel: dict[str, str],
    callback_id: str,
    trigger_id: str,
    response_url: str,
    message: dict[str, Any],
) -> Payload:
    """A message shortcut chosen on `message` (keys as in the java SDK's shape; Slack records no
    sample of it)."""
    data = {
        "type": "message_action",
        "token": "verification_token",
        "action_ts": f"{time.time():.6f}",
        "team": team,
        "user": user,
        "channel": channel,
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.get("ts", ""),
        "message": message,
    }
    return form_payload(data)


def post(
    url: str,
    payload: Payload,
    secret: str,
    headers: dict[str, str] | None = None,
    timestamp: int | None = None,
) -> Reply:
    """Send `payload` signed with `secret`, as Slack would; HTTP errors are replies, not raises."""
    all_headers = {"Content-Type": payload.content_type}
    all_headers |= signed_headers(secret, payload.body, timestamp) | (headers or {})
    request = urllib.request.Request(url, data=payload.body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return Reply(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode())
