"""The page at http://127.0.0.1:3000: the stand-in Slack in a browser, and its Web API.

One WSGI app serves the page (server-rendered with Jinja2), the forms people use (each a POST
that the stand-in turns into a signed request to the bot, then a redirect back), `/version` (a
long poll the page's small script waits on to refresh what changed), the Web API the bot calls
(`/api/<method>`), the `response_url`s, `/suggest` (an external select's options, asked of the
bot as Slack asks), and the admin view under `/admin`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from bot.local.page.blockkit import BlockKit, Place, action_payload, view_state
from bot.local.page.wsgi import json_reply, read_body, read_form, redirect, safe_back, send
from bot.local.web_api import WebApi, bearer, request_args
from bot.local.workspace import PEOPLE, Workspace
from escalation.clock import OffsetClock

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from bot.local.run import Running

LONG_POLL_SECONDS = 15.0
STATIC_PACKAGE = "bot.local"
SKIPS = (("+15 min", 15), ("+1 hour", 60), ("+4 hours", 240), ("+1 day", 1440))
ADMIN_PREFIX = "/admin"
HOME = "home"
MIN_QUERY_LENGTH = 3
"""Slack's default for an external select's `min_query_length`."""


class PageApp:
    def __init__(self, clock: OffsetClock) -> None:
        self.clock = clock
        self.api = WebApi(clock=lambda: clock.now().timestamp(), strict=True)
        self.workspace: Workspace | None = None
        self.running: Running | None = None
        self.admin: WSGIApplication | None = None
        self.closing = False
        self.env = Environment(
            loader=PackageLoader("bot.local.page", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["live"] = lambda html, name: _region(name, str(html))

    def attach(self, engineers_channel: str, address: str) -> Workspace:
        workspace = Workspace(self.api, engineers_channel)
        workspace.response_base = f"{address}/response/"
        self.workspace = workspace
        return workspace

    def serve(self, running: Running, admin: WSGIApplication | None = None) -> None:
        self.running = running
        self.admin = admin

    # WSGI.

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        method = str(environ.get("REQUEST_METHOD") or "GET")
        if path.startswith("/api/"):
            return self._web_api(environ, start_response, path.removeprefix("/api/"))
        if path.startswith("/response/") and method == "POST":
            return self._response_url(environ, start_response, path.removeprefix("/response/"))
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self._admin(environ, start_response, path)
        if path.startswith("/static/"):
            return self._static(start_response, path.removeprefix("/static/"))
        query = {k: v[-1] for k, v in parse_qs(str(environ.get("QUERY_STRING") or "")).items()}
        if method == "GET" and path == "/":
            live = bool(environ.get("HTTP_X_LIVE"))
            return send(start_response, 200, "text/html; charset=utf-8", self.page(query, live))
        if method == "GET" and path == "/version":
            return json_reply(
                start_response, 200, {"version": self.wait(int(query.get("since", 0)))}
            )
        if method == "GET" and path == "/home":
            user = self._user(query)
            self._workspace().open_home(user)
            return redirect(start_response, "/?" + urlencode({"as": user, "at": HOME}))
        if method == "POST" and path == "/suggest":
            html = self._suggest({k: v[-1] for k, v in read_form(environ).items()})
            return send(start_response, 200, "text/html; charset=utf-8", html)
        if method == "POST" and path in self.forms:
            form = read_form(environ)
            self.forms[path](self, {k: v[-1] for k, v in form.items()}, form)
            return redirect(start_response, safe_back(form.get("back", ["/"])[-1]))
        return send(start_response, 404, "text/plain; charset=utf-8", "Nothing here.")

    # The page.

    def page(self, query: Mapping[str, str], live: bool = False) -> str:
        workspace = self._workspace()
        user = self._user(query)
        at = query.get("at") or workspace.dm_of(user)
        thread = query.get("thread") or ""
        with self.api.changed:
            store = self.api.store
            version = store.version
            messages = [m for (ch, _), m in store.messages.items() if ch == at]
            ephemerals = [
                e for e in store.ephemerals if e["channel"] == at and e["for_user"] == user
            ]
            home = store.views.get(store.homes.get(user, ""))
            stack = store.modals.get(user, [])
            modal = dict(store.views[stack[-1]]) if stack else None
            notices = list(workspace.notices[-5:])
        back = "/?" + urlencode(
            {k: v for k, v in (("as", user), ("at", at), ("thread", thread)) if v}
        )
        kit = self._kit()
        context = {
            "me": workspace.person(user),
            "people": PEOPLE,
            "bot_name": "Jethro",
            "at": at,
            "thread": thread,
            "back": back,
            "version": version,
            "channels": workspace.channels,
            "engineers": workspace.engineers,
            "dm": workspace.dm_of(user),
            "title": self._title(at, user),
            "clock": self.clock.now().strftime("%a %d %b %H:%M UTC"),
            "ahead": _ahead(self.clock),
            "skips": SKIPS,
            "notices": notices,
            "home": kit.blocks(home.get("blocks") or [], Place(user, back, view_id=str(home["id"])))
            if home and at == HOME
            else None,
            "timeline": self._timeline(kit, messages, ephemerals, user, back, thread=None),
            "replies": self._timeline(kit, messages, ephemerals, user, back, thread=thread)
            if thread
            else [],
            "modal": self._modal(kit, modal, user, back) if modal else None,
            "admin_ready": self.admin is not None,
        }
        return self.env.get_template("page.j2").render(context)

    def _timeline(
        self,
        kit: BlockKit,
        messages: list[dict[str, Any]],
        ephemerals: list[dict[str, Any]],
        user: str,
        back: str,
        *,
        thread: str | None,
    ) -> list[dict[str, Any]]:
        """The channel's messages (or one thread's), with this person's ephemeral ones, by time."""

        def in_view(m: Mapping[str, Any]) -> bool:
            parent = m.get("thread_ts")
            if thread is None:
                return not parent or parent == m["ts"] or m.get("subtype") == "thread_broadcast"
            return m["ts"] == thread or parent == thread

        replies: dict[str, list[dict[str, Any]]] = {}
        for m in messages:
            if m.get("thread_ts") and m["thread_ts"] != m["ts"]:
                replies.setdefault(str(m["thread_ts"]), []).append(m)
        shown = [(m, False) for m in messages if in_view(m)]
        shown += [(e, True) for e in ephemerals if in_view(e)]
        shown.sort(key=lambda pair: float(pair[0]["ts"]))
        items = []
        for message, ephemeral in shown:
            place = Place(
                user,
                back,
                channel=str(message["channel"]),
                ts=str(message["ts"]),
                ephemeral=ephemeral,
            )
            author = str(message.get("user", ""))
            items.append(
                {
                    "ts": message["ts"],
                    "author": self._workspace().name_of(author),
                    "is_bot": bool(message.get("bot_id")),
                    "time": _time(str(message["ts"])),
                    "body": kit.message(message, place),
                    "ephemeral": ephemeral,
                    "replies": len(replies.get(str(message["ts"]), [])) if thread is None else 0,
                    "broadcast": message.get("subtype") == "thread_broadcast",
                    "thread": str(message.get("thread_ts") or message["ts"]),
                    "edited": "edited" in message,
                }
            )
        return items

    def _modal(self, kit: BlockKit, view: dict[str, Any], user: str, back: str) -> dict[str, Any]:
        place = Place(
            user, back, view_id=str(view["id"]), modal=True, errors=view.get("errors") or {}
        )
        return {
            "id": view["id"],
            "title": kit.text(view.get("title")),
            "submit": kit.text(view.get("submit")) if view.get("submit") else None,
            "close": kit.text(view.get("close")) if view.get("close") else Markup("Cancel"),
            "body": kit.blocks(view.get("blocks") or [], place),
        }

    def _title(self, at: str, user: str) -> str:
        workspace = self._workspace()
        if at == HOME:
            return "Jethro · Home"
        if at == workspace.dm_of(user):
            return "Jethro · direct messages"
        return "#" + workspace.channel_name(at)

    def _kit(self) -> BlockKit:
        workspace = self._workspace()
        people = [(p.id, p.name) for p in PEOPLE]
        channels = [(c.id, "#" + c.name) for c in workspace.channels]
        return BlockKit(self._name, people, channels)

    def _name(self, some_id: str) -> str:
        workspace = self._workspace()
        if some_id[:1] == "C":
            return workspace.channel_name(some_id)
        return workspace.name_of(some_id)

    def wait(self, since: int) -> int:
        """The next version after `since` (or the current one after the long poll's time)."""
        with self.api.changed:
            self.api.changed.wait_for(
                lambda: self.closing or self.api.store.version != since, LONG_POLL_SECONDS
            )
            return self.api.store.version

    def close(self) -> None:
        """Let every long poll answer now, so the server stops without waiting for them."""
        with self.api.changed:
            self.closing = True
            self.api.changed.notify_all()

    # The forms.

    def _say(self, form: Mapping[str, str], _: Mapping[str, list[str]]) -> None:
        user = self._user(form)
        self._workspace().say(
            user, form.get("channel", ""), form.get("text", ""), form.get("thread_ts") or None
        )

    def _action(self, form: Mapping[str, str], _: Mapping[str, list[str]]) -> None:
        user = self._user(form)
        element = self._element(form)
        if element is not None and element.get("type") == "external_select":
            where = form.get("view_id") or f"{form.get('channel', '')}/{form.get('ts', '')}"
            served = self._workspace().suggested(
                user, form.get("block_id", ""), form.get("action_id", ""), where=where
            )
            element = dict(element, options=list(served.values()))
        if form.get("type", "button") != "button" and not form.get("selected"):
            return  # the placeholder chosen again: Slack sends nothing
        self._workspace().click(
            user,
            action_payload(form, element),
            channel=form.get("channel", ""),
            ts=form.get("ts", ""),
            ephemeral=bool(form.get("ephemeral")),
            view_id=form.get("view_id", ""),
        )

    def _shortcut(self, form: Mapping[str, str], _: Mapping[str, list[str]]) -> None:
        self._workspace().shortcut(self._user(form), form.get("channel", ""), form.get("ts", ""))

    def _submit(self, form: Mapping[str, str], every: Mapping[str, list[str]]) -> None:
        view_id = form.get("view_id", "")
        with self.api.changed:
            view = dict(self.api.store.views.get(view_id) or {})
        if not view:
            return
        user, workspace = self._user(form), self._workspace()

        def served(block_id: str, action_id: str) -> Mapping[str, Mapping[str, Any]]:
            return workspace.suggested(user, block_id, action_id, where=view_id)

        workspace.submit(user, view_id, view_state(view, every, served))

    def _suggest(self, form: Mapping[str, str]) -> str:
        """A menu with an external data source opened or typed in: its options, from the bot,
        as `<option>`s for the page's script to put in. Nothing is asked before the element's
        `min_query_length` (Slack's default: 3) characters are typed."""
        element = self._element(form) or {}
        typed = form.get("value", "")
        placeholder = str((element.get("placeholder") or {}).get("text", "Choose…"))
        wanted = element.get("min_query_length", MIN_QUERY_LENGTH)
        if element.get("type") != "external_select" or len(typed) < int(wanted):
            return str(self._kit().suggestions([], placeholder))
        groups = self._workspace().suggest(
            self._user(form),
            form.get("block_id", ""),
            form.get("action_id", ""),
            typed,
            channel=form.get("channel", ""),
            ts=form.get("ts", ""),
            ephemeral=bool(form.get("ephemeral")),
            view_id=form.get("view_id", ""),
        )
        return str(self._kit().suggestions(groups, placeholder))

    def _close(self, form: Mapping[str, str], _: Mapping[str, list[str]]) -> None:
        self._workspace().close_view(self._user(form), form.get("view_id", ""))

    def _clock(self, form: Mapping[str, str], _: Mapping[str, list[str]]) -> None:
        try:
            minutes = float(form.get("minutes", "0"))
        except ValueError:
            return
        if self.running is not None and 0 < minutes <= 7 * 1440:
            self.running.skip(minutes)
            with self.api.changed:
                self.api.touched()

    forms: ClassVar[
        dict[str, Callable[[PageApp, Mapping[str, str], Mapping[str, list[str]]], None]]
    ] = {
        "/say": _say,
        "/action": _action,
        "/shortcut": _shortcut,
        "/view/submit": _submit,
        "/view/close": _close,
        "/clock": _clock,
    }

    def _element(self, form: Mapping[str, str]) -> dict[str, Any] | None:
        """The clicked element as the bot sent it (a select's options come from it)."""
        with self.api.changed:
            store = self.api.store
            if form.get("view_id"):
                blocks = (store.views.get(form["view_id"]) or {}).get("blocks") or []
            elif form.get("ephemeral"):
                found = [e for e in store.ephemerals if e["ts"] == form.get("ts")]
                blocks = found[0].get("blocks") or [] if found else []
            else:
                blocks = (
                    store.messages.get((form.get("channel", ""), form.get("ts", ""))) or {}
                ).get("blocks") or []
        for block in blocks:
            if not isinstance(block, dict) or block.get("block_id", "") != form.get("block_id", ""):
                continue
            elements = [*list(block.get("elements") or []), block.get("accessory") or {}]
            elements.append(block.get("element") or {})
            for element in elements:
                if isinstance(element, dict) and element.get("action_id") == form.get("action_id"):
                    return element
        return None

    # The Slack side.

    def _web_api(
        self, environ: WSGIEnvironment, start_response: StartResponse, method: str
    ) -> Iterable[bytes]:
        body = read_body(environ)
        headers = {"Authorization": str(environ.get("HTTP_AUTHORIZATION") or "")}
        try:
            args = request_args(
                str(environ.get("QUERY_STRING") or ""), str(environ.get("CONTENT_TYPE") or ""), body
            )
        except ValueError:
            return json_reply(start_response, 200, {"ok": False, "error": "invalid_form_data"})
        token = bearer(headers) or args.pop("token", None)
        if token is not None and token != self._workspace().token:
            return json_reply(start_response, 200, {"ok": False, "error": "invalid_auth"})
        with self.api.changed:
            status, answer, extra = self.api.answer(method, args, token)
        return json_reply(start_response, status, answer, extra)

    def _response_url(
        self, environ: WSGIEnvironment, start_response: StartResponse, response_id: str
    ) -> Iterable[bytes]:
        try:
            args = request_args("", str(environ.get("CONTENT_TYPE") or ""), read_body(environ))
        except ValueError:
            return json_reply(start_response, 400, {"ok": False, "error": "invalid_payload"})
        status, answer = self._workspace().respond(response_id, args)
        return json_reply(start_response, status, answer)

    def _admin(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        if self.admin is None:
            html = self.env.get_template("admin_pending.j2").render()
            return send(start_response, 200, "text/html; charset=utf-8", html)
        inner = dict(environ)
        inner["SCRIPT_NAME"] = str(environ.get("SCRIPT_NAME") or "") + ADMIN_PREFIX
        inner["PATH_INFO"] = path.removeprefix(ADMIN_PREFIX) or "/"
        return self.admin(inner, start_response)

    def _static(self, start_response: StartResponse, name: str) -> Iterable[bytes]:
        kinds = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
        kind = next((v for k, v in kinds.items() if name.endswith(k)), None)
        if kind is None or "/" in name or name.startswith("."):
            return send(start_response, 404, "text/plain", "Nothing here.")
        data = resources.files(STATIC_PACKAGE).joinpath("static", name).read_bytes()
        start_response(
            "200 OK",
            [
                ("Content-Type", kind),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "no-cache"),
            ],
        )
        return [data]

    def _workspace(self) -> Workspace:
        if self.workspace is None:
            raise RuntimeError("the page has no workspace yet: call attach() first")
        return self.workspace

    def _user(self, given: Mapping[str, str]) -> str:
        user = given.get("as", "")
        return user if user in self._workspace().people else PEOPLE[0].id


def _region(name: str, html: str) -> Markup:
    version = hashlib.sha1(html.encode()).hexdigest()[:12]
    return (
        Markup('<div data-live="%s" data-version="%s">') % (name, version)
        + Markup(html)
        + Markup("</div>")
    )


def _ahead(clock: OffsetClock) -> str:
    minutes = int(clock.ahead.total_seconds() // 60)
    if not minutes:
        return ""
    hours, minutes = divmod(minutes, 60)
    return f"+{hours} h {minutes} min" if hours else f"+{minutes} min"


def _time(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M")
