"""Slack's Web API as the bot sees it: the methods Jethro calls, answered as Slack answers them.

Fresh increasing `ts`, the channel echoed, `D…` ids for DMs, messages updated in place, modals
stacked per person, App Home per person, ephemeral messages kept for the one person who may see
them. The local workspace serves it `strict`: a call Slack would refuse (`bot.local.spec`) gets
Slack's error. The tests' fake (`tests/fakes/slack_api.py`) is this same class, lenient, with
recording and faults on top; it judges the recorded calls at a test's end instead.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from bot.local import spec
from bot.local.spec import sample_payload

JSON_ARGS = ("blocks", "attachments", "view", "metadata")
WORKSPACE_URL = "https://subarachnoid.slack.com/"

Answer = tuple[int, dict[str, Any], dict[str, str]]
"""HTTP status, JSON body, extra headers."""


@dataclass
class Store:
    """Everything the Web API has been told, as Slack would keep it."""

    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    dms: dict[tuple[str, ...], str] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    homes: dict[str, str] = field(default_factory=dict)
    """user -> the view id of their App Home."""
    modals: dict[str, list[str]] = field(default_factory=dict)
    """user -> their open modals' view ids, the top one last (views.push stacks)."""
    triggers: dict[str, str] = field(default_factory=dict)
    """trigger_id -> the user whose click or command made it (views.open opens for them)."""
    last_ts_us: int = 0
    version: int = 0
    """Bumped on every change, so a page can wait for the next one."""


class WebApi:
    """The methods; callers hold `changed` (a Condition) around `answer`."""

    def __init__(self, *, clock: Callable[[], float] = time.time, strict: bool = False) -> None:
        self.identity: dict[str, Any] = sample_payload("web_api.auth_test.ok.json")
        self.clock = clock
        self.strict = strict
        self.members: dict[str, list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.store = Store()
        self.changed = threading.Condition()
        self._ids = itertools.count(1)

    @property
    def bot_user_id(self) -> str:
        return str(self.identity["user_id"])

    @property
    def team_id(self) -> str:
        return str(self.identity["team_id"])

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def touched(self) -> None:
        """Something changed: wake whoever waits for the next version (hold `changed`)."""
        self.store.version += 1
        self.changed.notify_all()

    def answer(self, method: str, args: dict[str, Any], token: str | None) -> Answer:
        """One call, answered as Slack would; hold `changed` while calling it."""
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if not spec.known_method(method):
            return 404, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if self.strict:
            problems = spec.call_problems(method, args)
            if problems:
                body = {"ok": False, "error": _error_for(method, problems)}
                return 200, body | {"response_metadata": {"messages": problems}}, {}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        body = handler(args) if handler is not None else {"ok": True}
        if body.get("ok"):
            self.touched()
        return 200, body, {}

    def next_ts(self) -> str:
        now_us = int(self.clock() * 1_000_000)
        self.store.last_ts_us = max(now_us, self.store.last_ts_us + 1)
        seconds, micros = divmod(self.store.last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def dm(self, users: tuple[str, ...]) -> str:
        key = tuple(sorted(users))
        if key not in self.store.dms:
            self.store.dms[key] = self.next_id("D")
        return self.store.dms[key]

    def _channel(self, channel: str) -> str:
        """Posting to a user id lands in the DM with that user, as on real Slack."""
        if channel[:1] in ("U", "W"):
            return self.dm((channel,))
        return channel

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return dict(self.identity)

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not any(args.get(key) for key in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        channel = self._channel(str(args["channel"]))
        ts = self.next_ts()
        message = self.message_from(args, ts)
        self.store.messages[(channel, ts)] = {**message, "channel": channel}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel", "")), str(args.get("ts", "")))
        if key not in self.store.messages:
            return {"ok": False, "error": "message_not_found"}
        if self.strict and self.store.messages[key].get("user") != self.bot_user_id:
            return {"ok": False, "error": "cant_update_message"}
        message = {**self.store.messages[key], **self.message_from(args, key[1])}
        self.store.messages[key] = message
        answer = {"ok": True, "channel": key[0], "ts": key[1], "text": message["text"]}
        return {**answer, "message": message}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        ts = self.next_ts()
        self.post_ephemeral(
            self._channel(str(args["channel"])), str(args["user"]), self.message_from(args, ts)
        )
        return {"ok": True, "message_ts": ts}

    def post_ephemeral(self, channel: str, user: str, message: dict[str, Any]) -> None:
        """Only `user` sees it, in `channel` (and its thread when it has a `thread_ts`)."""
        self.store.ephemerals.append({**message, "channel": channel, "for_user": user})

    def message_from(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.identity["bot_id"],
            "team": self.team_id,
            "text": args.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "thread_ts", "metadata"):
            if key in args:
                message[key] = spec.decoded(args[key])
        if "thread_ts" in args and args.get("reply_broadcast") in (True, "true", "1"):
            message["subtype"] = "thread_broadcast"  # also shown in the channel, as on Slack
        return message

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "message_not_found"}
        link = f"{WORKSPACE_URL}archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}}
        users = tuple(u for u in str(args.get("users", "")).split(",") if u)
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        known = tuple(sorted(users)) in self.store.dms
        channel = self.dm(users)
        answer: dict[str, Any] = {"ok": True, "channel": {"id": channel}}
        if known:
            answer |= {"no_op": True, "already_open": True}
        return answer

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel not in self.members:
            return {"ok": False, "error": "channel_not_found"}
        members = self.members[channel]
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user", ""))
        if user_id in self.users:
            return {"ok": True, "user": self.users[user_id]}
        if user_id == self.bot_user_id:  # the app's own bot user, as Slack describes it
            bot = self.made_up_user(user_id, str(self.identity.get("user", "bot")))
            return {"ok": True, "user": bot | {"is_bot": True}}
        if self.strict or user_id[:1] not in ("U", "W") or not user_id[1:].isalnum():
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": self.made_up_user(user_id)}

    def made_up_user(self, user_id: str, real_name: str = "") -> dict[str, Any]:
        name = user_id.lower()
        profile = {"real_name": real_name or f"User {user_id}", "display_name": name}
        profile["email"] = f"{name}@example.com"
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": profile["real_name"],
            "deleted": False,
            "is_bot": False,
            "tz": "Europe/London",
            "tz_offset": 0,
            "profile": profile,
        }

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id") or "")
        if not trigger:
            return {"ok": False, "error": "invalid_trigger_id"}
        user = self.store.triggers.pop(trigger, None)
        if self.strict and user is None:
            return {"ok": False, "error": "expired_trigger_id"}
        answer = self.store_view(args.get("view"), None)
        if answer["ok"] and user is not None:
            self.store.modals.setdefault(user, []).append(answer["view"]["id"])
        return answer

    _views_push = _views_open

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id") or "")
        if not user or (self.strict and user not in self.users):
            return {"ok": False, "error": "user_not_found"}
        answer = self.store_view(args.get("view"), self.store.homes.get(user))
        if answer["ok"]:
            self.store.homes[user] = answer["view"]["id"]
        return answer

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("external_id")
        by_external = (
            k for k, v in self.store.views.items() if wanted and v.get("external_id") == wanted
        )
        view_id = args.get("view_id") or next(by_external, None)
        if view_id not in self.store.views:
            return {"ok": False, "error": "not_found"}
        return self.store_view(args.get("view"), str(view_id))

    def store_view(self, view: Any, view_id: str | None) -> dict[str, Any]:
        decoded = spec.decoded(view)
        if not isinstance(decoded, dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = view_id or self.next_id("V")
        stored = {
            **decoded,
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{self.next_ts()}.local",
            "root_view_id": view_id,
            "previous_view_id": None,
            "bot_id": self.identity["bot_id"],
        }
        self.store.views[view_id] = stored
        return {"ok": True, "view": stored}


def _error_for(method: str, problems: list[str]) -> str:
    """The error code Slack gives: `invalid_blocks` for a message's bad blocks (its messages
    say which), else `invalid_arguments`."""
    if method in spec.MESSAGE_METHODS and all("blocks" in p for p in problems):
        return "invalid_blocks"
    return "invalid_arguments"


def bearer(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return value.removeprefix("Bearer ").strip() or None


def request_args(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """A call's arguments from its query string and body, JSON-valued fields decoded."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    args.update(_body_args(content_type, body))
    for key in JSON_ARGS:
        if key in args:
            args[key] = spec.decoded(args[key])
    return args


def _body_args(content_type: str, body: bytes) -> dict[str, Any]:
    """The three encodings slack_sdk uses: JSON, url-encoded form, multipart (file uploads)."""
    if not body:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        parsed = json.loads(body)
        return dict(parsed) if isinstance(parsed, dict) else {}
    if kind == "multipart/form-data":
        return _multipart(content_type, body)
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    args: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            is_file = part.get_filename() is not None
            args[name] = payload if is_file else payload.decode("utf-8")
    return args
