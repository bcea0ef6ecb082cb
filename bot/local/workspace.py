"""The stand-in Slack's people and channels, and what they do, delivered to the bot as Slack would.

A person typing in a DM becomes a `message.im` event; `@Jethro` in a channel an `app_mention`
(and the `message.channels` Slack sends beside it); `/triage` a slash command; a click a
`block_actions`; a menu with an external data source, opened or typed in, a
`block_suggestion`; Submit a `view_submission`. Each is signed with the run's signing secret and
POSTed to the bot's `/slack/events`; what the bot answers in the HTTP response (a slash command's
text, a modal's errors) is shown as Slack shows it. The bot's own calls arrive at `web_api`.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.local.slack_requests import (
    Payload,
    Reply,
    command_payload,
    event_callback,
    form_payload,
    message_action,
    post,
    template,
)
from bot.local.spec import RESPONSE_URL, call_problems
from bot.local.web_api import WebApi

log = logging.getLogger(__name__)

APP_ID = "A0LOCALAPP"
COMMANDS = ("/triage", "/oncall")
SHORTCUT = "triage_message"
"""The message shortcut's callback_id, as in manifest.yml."""
BOT_NAME = "Jethro"
MENTION = re.compile(r"@jethro\b", re.IGNORECASE)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    engineer: bool = False
    admin: bool = False


PEOPLE = (
    Person("U0LOCAL001", "Ana Ortiz", "employee"),
    Person("U0LOCAL002", "Ben Kaur", "employee"),
    Person("U0LOCAL003", "Chen Wu", "on-call engineer", engineer=True),
    Person("U0LOCAL004", "Dana Ilves", "engineer (not on call)", engineer=True),
    Person("U0LOCAL005", "Eli Moreau", "sales, not an engineer"),
    Person("U0LOCAL006", "Fay Adeyemi", "admin", engineer=True, admin=True),
)
ONCALL = PEOPLE[2]
BACKUP = PEOPLE[3]


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    purpose: str


HELP = Channel("C0LOCALHELP", "help", "Anyone asks here; @mention Jethro.")
ENGINEERS_ID = "C0LOCALENGS"


class Workspace:
    """One team: `api` is the Web API the bot calls; the methods here are what people do."""

    def __init__(self, api: WebApi, engineers_channel: str = ENGINEERS_ID) -> None:
        self.api = api
        self.secret = secrets.token_hex(16)
        """Signs every request to the bot; a new one each run, as a new app would have."""
        self.token = "xoxb-local-" + secrets.token_hex(12)
        self.events_url = ""
        """The bot's `/slack/events`; set once the bot listens."""
        self.response_base = ""
        """Where `response_url`s point (the page server's `/response/`); set at start."""
        self.people = {person.id: person for person in PEOPLE}
        self.engineers = Channel(engineers_channel, "engineers", "Tickets for the on-call team.")
        self.channels = (HELP, self.engineers)
        self.notices: list[str] = []
        """What went wrong delivering to the bot, shown on the page (nothing is silently lost)."""
        self._counter = itertools.count(1)
        self._responses: dict[str, dict[str, str]] = {}
        self._suggested: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
        api.identity = {**api.identity, "team": "Local workspace", "user": BOT_NAME.lower()}
        with api.changed:
            for person in PEOPLE:
                api.users[person.id] = api.made_up_user(person.id, person.name)
                api.dm((person.id,))
            everyone = [p.id for p in PEOPLE] + [api.bot_user_id]
            api.members[HELP.id] = everyone
            api.members[self.engineers.id] = [p.id for p in PEOPLE if p.engineer] + [
                api.bot_user_id
            ]

    # Who and where.

    def person(self, user: str) -> Person:
        return self.people.get(user, PEOPLE[0])

    def dm_of(self, user: str) -> str:
        with self.api.changed:
            return self.api.dm((user,))

    def name_of(self, user: str) -> str:
        if user == self.api.bot_user_id:
            return BOT_NAME
        person = self.people.get(user)
        return person.name if person else user

    def channel_name(self, channel: str) -> str:
        found = next((c for c in self.channels if c.id == channel), None)
        return found.name if found else channel

    # What people do.

    def say(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> None:
        """Someone sends `text` in `channel` (or its thread): a slash command when it is one."""
        text = text.strip()
        if not text:
            return
        word, _, rest = text.partition(" ")
        if word in COMMANDS and thread_ts is None:
            self.command(user, channel, word, rest)
            return
        delivered = MENTION.sub(f"<@{self.api.bot_user_id}>", _slack_escaped(text))
        with self.api.changed:
            ts = self.api.next_ts()
            message: dict[str, Any] = {"type": "message", "user": user, "text": delivered}
            message |= {"ts": ts, "team": self.api.team_id, "channel": channel}
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.api.store.messages[(channel, ts)] = message
            self.api.touched()
        event = dict(message) | {"event_ts": ts, "client_msg_id": secrets.token_hex(8)}
        if thread_ts:
            parent = self.api.store.messages.get((channel, thread_ts), {})
            event["parent_user_id"] = parent.get("user", user)
        if channel[:1] == "D":
            self._event(event | {"channel_type": "im"}, "event_callback.message_im.json")
            return
        if f"<@{self.api.bot_user_id}>" in delivered:
            mention = {k: v for k, v in event.items() if k != "type"}
            self._event(mention, "event_callback.app_mention.json")
        self._event(event | {"channel_type": "channel"}, "event_callback.message_im.json")

    def command(self, user: str, channel: str, command: str, text: str) -> None:
        data = template("slash_command.json")
        data.update(
            command=command,
            text=_slack_escaped(text),
            user_id=user,
            user_name=self.name_of(user),
            channel_id=channel,
            channel_name=self.channel_name(channel),
            team_id=self.api.team_id,
            team_domain="local",
            api_app_id=APP_ID,
            response_url=self._response_url(user, channel),
            trigger_id=self._trigger(user),
        )
        reply = self._deliver(command_payload(data), f"{command} {text}")
        self._show_ack(reply, user, channel)

    def shortcut(self, user: str, channel: str, ts: str) -> None:
        """*Triage this* chosen on a message."""
        with self.api.changed:
            message = dict(self.api.store.messages.get((channel, ts)) or {})
        message.pop("channel", None)
        payload = message_action(
            team={"id": self.api.team_id, "domain": "local"},
            user=self._user(user),
            channel={"id": channel, "name": self.channel_name(channel)},
            callback_id=SHORTCUT,
            trigger_id=self._trigger(user),
            response_url=self._response_url(user, channel),
            message=message,
        )
        self._deliver(payload, "Triage this")

    def click(
        self,
        user: str,
        action: Mapping[str, Any],
        *,
        channel: str = "",
        ts: str = "",
        ephemeral: bool = False,
        view_id: str = "",
    ) -> None:
        """A button, or an option chosen in a select, on a message or in a view (App Home)."""
        data = template("block_actions.json")
        data.update(
            user=self._user(user),
            api_app_id=APP_ID,
            team={"id": self.api.team_id, "domain": "local"},
            trigger_id=self._trigger(user),
            actions=[dict(action, action_ts=f"{time.time():.6f}")],
            state={"values": {}},
        )
        self._on_surface(data, user, view_id=view_id, channel=channel, ts=ts, ephemeral=ephemeral)
        if not view_id:
            data["response_url"] = self._response_url(user, channel, ts)
        self._deliver(form_payload(data), "your click")

    def suggest(
        self,
        user: str,
        block_id: str,
        action_id: str,
        typed: str,
        *,
        channel: str = "",
        ts: str = "",
        ephemeral: bool = False,
        view_id: str = "",
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        """A menu with an external data source opened or typed in: Slack asks the app for its
        options (`block_suggestion`, answered in the response). The options as groups (label,
        options; one unlabelled group for plain `options`), remembered for the choice."""
        data = template("block_suggestion.json")
        data.update(
            user=self._user(user),
            api_app_id=APP_ID,
            team={"id": self.api.team_id, "domain": "local"},
            action_id=action_id,
            block_id=block_id,
            value=typed,
        )
        self._on_surface(data, user, view_id=view_id, channel=channel, ts=ts, ephemeral=ephemeral)
        body = _reply_json(self._deliver(form_payload(data), "your search"))
        groups = [("", list(body.get("options") or []))] if body.get("options") else []
        for group in body.get("option_groups") or []:
            if isinstance(group, dict):
                label = str((group.get("label") or {}).get("text", ""))
                groups.append((label, list(group.get("options") or [])))
        groups = [(label, [o for o in found if isinstance(o, dict)]) for label, found in groups]
        key = (user, view_id or f"{channel}/{ts}", block_id, action_id)
        with self.api.changed:
            known = self._suggested.setdefault(key, {})
            known.update((str(o.get("value", "")), o) for _, found in groups for o in found)
        return groups

    def suggested(
        self, user: str, block_id: str, action_id: str, *, where: str
    ) -> dict[str, dict[str, Any]]:
        """The options the bot served `user` for one menu (`where`: a view id or
        `channel/ts`), by value: what a choice among them is sent as."""
        with self.api.changed:
            return dict(self._suggested.get((user, where, block_id, action_id)) or {})

    def _on_surface(
        self,
        data: dict[str, Any],
        user: str,
        *,
        view_id: str,
        channel: str,
        ts: str,
        ephemeral: bool,
    ) -> None:
        """Where an interaction happened, as Slack says it: the view, or the message."""
        if view_id:
            with self.api.changed:
                view = dict(self.api.store.views.get(view_id) or {})
            data["container"] = {"type": "view", "view_id": view_id}
            data["view"] = view
            data.pop("channel", None)
            data.pop("response_url", None)
            return
        data["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        }
        data["channel"] = {"id": channel, "name": self.channel_name(channel)}
        data.pop("view", None)
        with self.api.changed:
            message = dict(self.api.store.messages.get((channel, ts)) or {})
        if message and not ephemeral:
            message.pop("channel", None)
            data["message"] = message

    def submit(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> None:
        """Submit on the top modal; `values` as Slack's view state (block -> action -> value)."""
        with self.api.changed:
            view = dict(self.api.store.views.get(view_id) or {})
        if not view:
            return
        view["state"] = {"values": values}
        data = template("view_submission.json")
        data.update(
            user=self._user(user),
            team={"id": self.api.team_id, "domain": "local"},
            api_app_id=APP_ID,
            trigger_id=self._trigger(user),
            view=view,
        )
        reply = self._deliver(form_payload(data), "the form")
        self._after_submit(reply, user, view_id)

    def close_view(self, user: str, view_id: str) -> None:
        with self.api.changed:
            stack = self.api.store.modals.get(user, [])
            if view_id in stack:
                del stack[stack.index(view_id) :]
            self.api.touched()

    def open_home(self, user: str) -> None:
        event = {"user": user, "channel": self.dm_of(user), "tab": "home"}
        self._event(
            event | {"event_ts": f"{time.time():.6f}"}, "event_callback.app_home_opened.json"
        )

    def respond(self, response_id: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """What the bot posts to a `response_url`: shown only to the clicker, or in the channel,
        or replacing the clicked message, as Slack does."""
        where = self._responses.get(response_id)
        if where is None:
            return 404, {"ok": False, "error": "expired_url"}
        problems = call_problems(RESPONSE_URL, args)
        if problems:
            return 400, {"ok": False, "error": "invalid_blocks", "messages": problems}
        channel, user, ts = where["channel"], where["user"], where["ts"]
        replace = str(args.get("replace_original", "")).lower() in ("true", "1")
        with self.api.changed:
            message = self.api.message_from(args, self.api.next_ts())
            if str(args.get("delete_original", "")).lower() in ("true", "1") and ts:
                self.api.store.messages.pop((channel, ts), None)
            elif replace and ts and (channel, ts) in self.api.store.messages:
                kept = self.api.store.messages[(channel, ts)]
                self.api.store.messages[(channel, ts)] = kept | message | {"ts": ts}
            elif args.get("response_type") == "in_channel":
                self.api.store.messages[(channel, message["ts"])] = message | {"channel": channel}
            else:
                self.api.post_ephemeral(channel, user, message)
            self.api.touched()
        return 200, {"ok": True}

    # Delivery.

    def _event(self, event: dict[str, Any], name: str) -> None:
        data = template(name)
        data["event"] = {"type": data["event"]["type"]}  # the sample's own fields go
        payload = event_callback(
            data,
            event,
            team=self.api.team_id,
            bot_user=self.api.bot_user_id,
            app_id=APP_ID,
            event_id=f"Ev{next(self._counter):08d}{secrets.token_hex(3).upper()}",
        )
        self._deliver(payload, "your message")

    def _deliver(self, payload: Payload, what: str) -> Reply | None:
        if not self.events_url:
            self._notice(f"Jethro is not listening yet; {what} was not delivered.")
            return None
        try:
            reply = post(self.events_url, payload, self.secret)
        except OSError as exc:
            self._notice(f"Jethro could not be reached with {what}: {exc}")
            return None
        if reply.status != 200:
            self._notice(f"Jethro answered HTTP {reply.status} to {what}: {reply.body[:200]}")
        return reply

    def _notice(self, text: str) -> None:
        log.warning("%s", text)
        with self.api.changed:
            self.notices.append(text)
            self.api.touched()

    def _show_ack(self, reply: Reply | None, user: str, channel: str) -> None:
        """A slash command's acknowledgement with a body: only its sender sees it."""
        body = _reply_json(reply)
        if body and (body.get("text") or body.get("blocks")):
            with self.api.changed:
                self.api.post_ephemeral(
                    channel, user, self.api.message_from(body, self.api.next_ts())
                )
                self.api.touched()

    def _after_submit(self, reply: Reply | None, user: str, view_id: str) -> None:
        if reply is None or reply.status != 200:
            return
        body = _reply_json(reply)
        action = body.get("response_action")
        with self.api.changed:
            stored = self.api.store.views.get(view_id)
            if action == "errors" and stored is not None:
                stored["errors"] = dict(body.get("errors") or {})
            elif action in ("update", "push") and isinstance(body.get("view"), dict):
                answer = self.api.store_view(body["view"], view_id if action == "update" else None)
                if action == "push" and answer["ok"]:
                    self.api.store.modals.setdefault(user, []).append(answer["view"]["id"])
            elif action == "clear":
                self.api.store.modals[user] = []
            else:
                stack = self.api.store.modals.get(user, [])
                if view_id in stack:
                    stack.remove(view_id)
            self.api.touched()

    def _trigger(self, user: str) -> str:
        trigger = f"{next(self._counter)}.{int(time.time())}.{secrets.token_hex(8)}"
        with self.api.changed:
            self.api.store.triggers[trigger] = user
        return trigger

    def _response_url(self, user: str, channel: str, ts: str = "") -> str:
        response_id = secrets.token_hex(8)
        self._responses[response_id] = {"user": user, "channel": channel, "ts": ts}
        return f"{self.response_base}{response_id}"

    def _user(self, user: str) -> dict[str, Any]:
        name = self.name_of(user)
        return {"id": user, "username": name, "name": name, "team_id": self.api.team_id}


def _slack_escaped(text: str) -> str:
    """Slack delivers typed text with `&`, `<` and `>` escaped: the bot expects nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _reply_json(reply: Reply | None) -> dict[str, Any]:
    if reply is None or not reply.body.strip():
        return {}
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
