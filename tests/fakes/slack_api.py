"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that slack_sdk's WebClient talks to.

Point a client at it with `WebClient(token=..., base_url=fake.url + "/api/")`. It answers like
Slack (fresh increasing `ts`, the channel echoed, `D…` ids for DMs), records every whole call, and
can be told to fail: 429 with Retry-After, 5xx, Slack error codes, slow answers, for the next
few calls or for every call until it comes back (`go_down`). The answers are the local
workspace's (`bot.local.web_api.WebApi`, lenient here); it judges nothing at call time:
`tests.fakes.slack_spec.assert_calls_valid` checks the recorded calls.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bot.local.web_api import Answer, Store, WebApi, bearer, request_args
from tests.fakes import slack_spec


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
    outage: Fault | None = None
    meanwhile: list[tuple[str, Callable[[Call], bool], Callable[[Call], None]]] = field(
        default_factory=list
    )


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


class FakeSlack(WebApi):
    """The fake; use it as a context manager, or through the `fake_slack` pytest fixture."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self._state = _State()
        self._changed = self.changed
        self._closing = threading.Event()
        self.check_contract = True
        """The `fake_slack` fixture checks every call at teardown unless a test turns this off."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

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
        return f"{self.url}/response/{self.next_id('R')}"

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
        self.users[user_id] = {**self.made_up_user(user_id), **fields}

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

    def meanwhile_next(
        self,
        method: str,
        then: Callable[[Call], None],
        where: Callable[[Call], bool] = lambda call: True,
    ) -> None:
        """On the next call of `method` (matching `where`), run `then` after the fake did what
        the call asks and before the caller hears the answer: the window between Slack acting
        and the bot knowing, made as wide as `then` takes."""
        with self._changed:
            self._state.meanwhile.append((method, where, then))

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
            self.store = Store()
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
        timeout: float = 15.0,
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
            return dict(self.store.messages[(channel, ts)])

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they are now, oldest first."""
        with self._changed:
            found = [
                m for (ch, _), m in self.store.messages.items() if channel is None or ch == channel
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

    def _take_meanwhile(self, call: Call) -> Callable[[Call], None] | None:
        for number, (method, where, then) in enumerate(self._state.meanwhile):
            if method == call.method and where(call):
                del self._state.meanwhile[number]
                return then
        return None

    def handle(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> Answer:
        token = bearer(headers) or args.pop("token", None)
        with self._changed:
            fault = self._state.outage or self._take_fault(method)
            status, body, extra = self._answer(method, args, token, fault)
            call = Call(method, args, headers, token, self.clock(), status, body)
            self._state.calls.append(call)
            self._changed.notify_all()
            then = self._take_meanwhile(call)
        if then is not None:
            then(call)
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
        return self.answer(method, args, token)


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
        args = request_args(parts.query, headers.get("Content-Type", ""), body)
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
