"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that slack_sdk's WebClient talks to.

Point a client at it with `WebClient(token=..., base_url=fake.url + "/api/")`. It answers like
Slack (fresh increasing `ts`, the channel echoed, `D…` ids for DMs), records every whole call, and
can be told to fail: 429 with Retry-After, 5xx, Slack error codes, slow answers, for the next
few calls or for every call until it comes back (`go_down`). It judges nothing;
`tests.fakes.slack_spec.assert_calls_valid` checks the recorded calls.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.local.spec import sample_payload
from tests.fakes import slack_spec

JSON_ARGS = ("blocks", "attachments", "view", "metadata")
WORKSPACE_URL = "https://subarachnoid.slack.com/"

Answer = tuple[int, dict[str, Any], dict[str, str]]


@dataclass(frozen=True)
class Call:
    """One whole request as the fake saw it, and what it answered."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    at: float
    status: int
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1
    lost: bool = False
    """The call never reached Slack: nothing is done, and no answer comes before `delay`."""


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    dms: dict[tuple[str, ...], str] = field(default_factory=dict)
    last_ts_us: int = 0
    outage: Fault | None = None


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    """http.server's listen backlog is 5: a sixth connection arriving at once (the outbox sends
    a batch concurrently) had its SYN dropped and waited a second for the retransmit."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.open_connections: set[socket.socket] = set()
        self.connections_opened = 0
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self.open_connections.add(request)
            self.connections_opened += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close the kept-alive connections too, as a stopped Slack would: their threads would
        otherwise go on answering after `close`."""
        with self._connections_lock:
            for connection in self.open_connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class FakeSlack:
    """The fake; use it as a context manager, or through the `fake_slack` pytest fixture."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.identity: dict[str, Any] = sample_payload("web_api.auth_test.ok.json")
        self.clock = clock
        self.members: dict[str, list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self._state = _State()
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self.check_contract = True
        """The `fake_slack` fixture checks every call at teardown unless a test turns this off."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def bot_user_id(self) -> str:
        return str(self.identity["user_id"])

    @property
    def team_id(self) -> str:
        return str(self.identity["team_id"])

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Slack server is not running: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def connections_opened(self) -> int:
        """TCP connections clients have opened so far (kept-alive ones carry many calls)."""
        return self._server.connections_opened if self._server is not None else 0

    def drop_connections(self) -> None:
        """Close every open client connection, as Slack does to idle ones."""
        if self._server is not None:
            self._server.drop_connections()

    @property
    def api_url(self) -> str:
        """What `WebClient(base_url=...)` wants."""
        return self.url + "/api/"

    def response_url(self) -> str:
        """A fresh `response_url` for a slash command or click; what is posted to it is recorded
        as a call of the pseudo-method `response_url`."""
        return f"{self.url}/response/{next(self._ids)}"

    def start(self) -> FakeSlack:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.02,), name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.drop_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # What tests tell the fake.

    def set_members(self, channel: str, users: list[str]) -> None:
        self.members[channel] = list(users)

    def add_user(self, user_id: str, **fields: Any) -> None:
        """Override the made-up profile `users.info` returns (e.g. `tz=`, `is_bot=`)."""
        self.users[user_id] = {**self._made_up_user(user_id), **fields}

    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 1, *, times: int = 1
    ) -> None:
        """The next `times` calls of `method` ("*" for any) fail at the HTTP level."""
        after = retry_after if status == 429 else None
        self._add_fault(method, Fault(status=status, retry_after=after, times=times))

    def error_next(self, method: str, error: str = "invalid_auth", *, times: int = 1) -> None:
        """The next `times` calls answer HTTP 200 with `{"ok": false, "error": error}`."""
        self._add_fault(method, Fault(error=error, times=times))

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls are answered late: a client time-out when over its timeout."""
        self._add_fault(method, Fault(delay=seconds, times=times))

    def go_down(self, status: int = 500, *, retry_after: int = 1, hang: float = 0.0) -> None:
        """Every call fails until `come_back()`: HTTP `status` (5xx: Slack's trouble; 429 with
        `retry_after`), or with `hang` seconds, no answer for that long and nothing done (set it
        over the client's timeout for time-outs that never reached Slack)."""
        after = retry_after if status == 429 else None
        outage = Fault(status=status, retry_after=after, delay=hang, lost=hang > 0)
        with self._changed:
            self._state.outage = outage

    def come_back(self) -> None:
        with self._changed:
            self._state.outage = None

    def reset(self) -> None:
        with self._changed:
            self._state = _State()
            self.members.clear()
            self.users.clear()

    # What tests read back.

    def calls(self, method: str | None = None) -> list[Call]:
        with self._changed:
            return [c for c in self._state.calls if method is None or c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until `count` calls of `method` (matching `where`) arrived: the bot acknowledges
        Slack first and calls the Web API afterwards, from another thread."""

        def matching() -> list[Call]:
            return [
                c for c in self._state.calls if c.method == method and (where is None or where(c))
            ]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                seen = [c.method for c in self._state.calls]
                raise AssertionError(
                    f"expected {count} {method} call(s) within {timeout}s; saw {seen}"
                )
            return matching()

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """A posted message as it is now (after any chat.update)."""
        with self._changed:
            return dict(self._state.messages[(channel, ts)])

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they are now, oldest first."""
        with self._changed:
            found = [
                m for (ch, _), m in self._state.messages.items() if channel is None or ch == channel
            ]
        return sorted(found, key=lambda m: float(m["ts"]))

    # The server side.

    def _add_fault(self, method: str, fault: Fault) -> None:
        with self._changed:
            self._state.faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str) -> Fault | None:
        for key in (method, "*"):
            queue = self._state.faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                return fault
        return None

    def handle(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> Answer:
        token = _bearer(headers) or args.pop("token", None)
        with self._changed:
            fault = self._state.outage or self._take_fault(method)
            status, body, extra = self._answer(method, args, token, fault)
            call = Call(method, args, headers, token, self.clock(), status, body)
            self._state.calls.append(call)
            self._changed.notify_all()
        if fault is not None and fault.delay:
            self._closing.wait(fault.delay)
        return status, body, extra

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None, fault: Fault | None
    ) -> Answer:
        if fault is not None and fault.lost:
            return 504, {"ok": False, "error": "request_timeout"}, {}
        if fault is not None and fault.status == 429:
            headers = {"Retry-After": str(fault.retry_after or 1)}
            return 429, {"ok": False, "error": "ratelimited"}, headers
        if fault is not None and fault.status >= 500:
            return fault.status, {"ok": False, "error": "fatal_error"}, {}
        if fault is not None and fault.error:
            return 200, {"ok": False, "error": fault.error}, {}
        if method == slack_spec.RESPONSE_URL:
            return 200, {"ok": True}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if not slack_spec.known_method(method):
            return 404, {"ok": False, "error": "unknown_method"}, {}
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        body = answer(args) if answer is not None else {"ok": True}
        return 200, body, {}

    def _next_ts(self) -> str:
        now_us = int(self.clock() * 1_000_000)
        self._state.last_ts_us = max(now_us, self._state.last_ts_us + 1)
        seconds, micros = divmod(self._state.last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _channel(self, channel: str) -> str:
        """Posting to a user id lands in the DM with that user, as on real Slack."""
        if channel[:1] in ("U", "W"):
            return self._dm((channel,))
        return channel

    def _dm(self, users: tuple[str, ...]) -> str:
        key = tuple(sorted(users))
        if key not in self._state.dms:
            self._state.dms[key] = f"D{next(self._ids):08d}"
        return self._state.dms[key]

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return dict(self.identity)

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not any(args.get(key) for key in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        channel = self._channel(str(args["channel"]))
        ts = self._next_ts()
        message = self._message_from(args, ts)
        self._state.messages[(channel, ts)] = {**message, "channel": channel}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel", "")), str(args.get("ts", "")))
        if key not in self._state.messages:
            return {"ok": False, "error": "message_not_found"}
        message = {**self._state.messages[key], **self._message_from(args, key[1])}
        self._state.messages[key] = message
        answer = {"ok": True, "channel": key[0], "ts": key[1], "text": message["text"]}
        return {**answer, "message": message}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _message_from(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
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
                message[key] = args[key]
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
        known = tuple(sorted(users)) in self._state.dms
        channel = self._dm(users)
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
        if user_id[:1] not in ("U", "W") or not user_id[1:].isalnum():
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": self._made_up_user(user_id)}

    def _made_up_user(self, user_id: str) -> dict[str, Any]:
        name = user_id.lower()
        profile = {"real_name": f"User {user_id}", "display_name": name}
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
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return self._store_view(args.get("view"), None)

    _views_push = _views_open

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("user_id"):
            return {"ok": False, "error": "user_not_found"}
        return self._store_view(args.get("view"), None)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("external_id")
        by_external = (
            k for k, v in self._state.views.items() if wanted and v.get("external_id") == wanted
        )
        view_id = args.get("view_id") or next(by_external, None)
        if view_id not in self._state.views:
            return {"ok": False, "error": "not_found"}
        return self._store_view(args.get("view"), str(view_id))

    def _store_view(self, view: Any, view_id: str | None) -> dict[str, Any]:
        decoded = slack_spec.decoded(view)
        if not isinstance(decoded, dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = view_id or f"V{next(self._ids):08d}"
        stored = {
            **decoded,
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{self._next_ts()}.fake",
            "root_view_id": view_id,
            "previous_view_id": None,
            "bot_id": self.identity["bot_id"],
        }
        self._state.views[view_id] = stored
        return {"ok": True, "view": stored}


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeSlack/1"
    protocol_version = "HTTP/1.1"  # keeps connections open between calls, as Slack does
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms ACK wait
    timeout = 30  # an idle kept connection's thread ends, as Slack closes idle connections

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows the recorded calls when a test fails."""

    def _serve(self) -> None:
        fake: FakeSlack = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        if parts.path.startswith("/api/"):
            method = parts.path.removeprefix("/api/")
        elif parts.path.startswith("/response/"):
            method = slack_spec.RESPONSE_URL
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"ok": False, "error": "not_found"}, {})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        args: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        args.update(_body_args(headers.get("Content-Type", ""), body))
        for key in JSON_ARGS:
            if key in args:
                args[key] = slack_spec.decoded(args[key])
        status, answer, extra = fake.handle(method, args, headers)
        self._reply(status, answer, extra)

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a delay_next time-out): nothing left to answer


def _bearer(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return value.removeprefix("Bearer ").strip() or None


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
