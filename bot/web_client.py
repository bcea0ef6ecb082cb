"""A slack_sdk `WebClient` that keeps its HTTP connections open between calls.

Why: slack_sdk sends every call through `urllib.request.urlopen`, which opens a new connection
(on https, a new TLS handshake) and closes it after one response. The outbox makes one call a
message, so under load most of a call's cost was setting up and tearing down its connection, on
both sides: against the fake Slack server, 0.50-0.73 ms of CPU a call (both sides) with urllib
and 0.14-0.26 ms on a kept connection (`bench/web_client.py`). Only the method that moves the
bytes is replaced; slack_sdk's request building, retry handlers, rate-limit and error handling
and response parsing are its own. Each thread keeps one connection a host (http.client
connections are not thread-safe), and a connection the server has closed while idle is noticed
before it is used, so a kept connection does not turn into a failed call.
"""

from __future__ import annotations

import http.client
import io
import select
import threading
import weakref
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import SplitResult, urlsplit
from urllib.request import Request

from slack_sdk import WebClient


class KeepAliveWebClient(WebClient):
    """`WebClient`, with one kept-alive connection per thread and host; `close` ends them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections: dict[tuple[int, str, str], http.client.HTTPConnection] = {}
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._connections, self._lock)

    def close(self) -> None:
        """Close every kept connection (a later call opens a new one)."""
        _close_all(self._connections, self._lock)

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        key = (threading.get_ident(), parts.scheme, parts.netloc)
        connection = self._connection(key, parts)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {name.title(): value for name, value in req.header_items()}  # as urllib sends
        try:
            try:
                connection.request(req.get_method(), path, body=req.data, headers=headers)
            except OSError as exc:  # as urllib reports it, so slack_sdk's retry handler sees it
                raise URLError(exc) from exc
            response = connection.getresponse()
            body = response.read()
        except BaseException:
            self._forget(key)
            raise
        if response.will_close:
            self._forget(key)
        if not 200 <= response.status < 300:  # urllib raises these; slack_sdk expects that
            raise HTTPError(url, response.status, response.reason, response.msg, io.BytesIO(body))
        if response.msg.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": response.msg, "body": body}
        charset = response.msg.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": response.msg, "body": body.decode(charset)}

    def _connection(
        self, key: tuple[int, str, str], parts: SplitResult
    ) -> http.client.HTTPConnection:
        connection = self._connections.get(key)
        if connection is not None and _closed_by_server(connection):
            self._forget(key)
            connection = None
        if connection is None:
            host, port = parts.hostname or "", parts.port
            if parts.scheme == "https":
                connection = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=self.ssl
                )
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            with self._lock:
                _forget_ended_threads(self._connections)
                self._connections[key] = connection
        return connection

    def _forget(self, key: tuple[int, str, str]) -> None:
        with self._lock:
            connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()


def _close_all(
    connections: dict[tuple[int, str, str], http.client.HTTPConnection], lock: threading.Lock
) -> None:
    with lock:
        kept = list(connections.values())
        connections.clear()
    for connection in kept:
        connection.close()


def _forget_ended_threads(
    connections: dict[tuple[int, str, str], http.client.HTTPConnection],
) -> None:
    """Connections of threads that have ended are never used again: close them."""
    alive = {thread.ident for thread in threading.enumerate()}
    for key in [key for key in connections if key[0] not in alive]:
        connections.pop(key).close()


def _closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """An idle kept connection with something to read has been closed by the server (or holds
    bytes nobody asked for): either way it must not carry the next request."""
    sock = connection.sock
    if sock is None:
        return False  # not connected yet, or closed by http.client: it reconnects by itself
    if not hasattr(select, "poll"):  # Windows; select() is fine for one low socket there
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()  # not select(): it fails on descriptors above 1023
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
