"""Forged, stale, oversized and malformed requests: each refused with its status, and nothing
stored (no receipt, no event key, no report) and nothing sent to Slack."""

from __future__ import annotations

import time
from collections.abc import Callable
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest

from bot.local.signing import signed_headers
from bot.server import MAX_BODY_BYTES
from tests.fakes import slack_events as slack
from tests.fakes.fixtures import SIGNING_SECRET
from tests.scenarios.world import Jethro

TABLES = ("slack_receipt", "slack_event", "slack_conversation", "ticket", "outbox_message")
JSON = slack.JSON


def signed(body: bytes, content_type: str = JSON, **kwargs: int) -> Callable[[str], slack.Reply]:
    payload = slack.Payload(body, content_type, {})
    return lambda url: slack.post(url, payload, SIGNING_SECRET, **kwargs)  # type: ignore[arg-type]


def report(text: str = "my vpn keeps dropping") -> slack.Payload:
    return slack.message_im(text)


def oversized(url: str, body: bytes) -> slack.Reply:
    """Signed headers and the first bytes of `body`: the server answers from `Content-Length`
    and closes, so sending all of it would only race that close."""
    parts = urlsplit(url)
    connection = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
    try:
        connection.putrequest("POST", parts.path)
        headers = {"Content-Type": JSON, "Content-Length": str(len(body))}
        for name, value in (headers | signed_headers(SIGNING_SECRET, body)).items():
            connection.putheader(name, value)
        connection.endheaders(body[:1024])
        response = connection.getresponse()
        return slack.Reply(response.status, response.read().decode())
    finally:
        connection.close()


BAD: dict[str, tuple[int, Callable[[str], slack.Reply]]] = {
    "forged": (401, lambda url: slack.post(url, report(), "not-the-signing-secret")),
    "unsigned": (401, lambda url: slack.post(url, report(), "", {"X-Slack-Signature": ""})),
    "stale": (
        401,
        lambda url: slack.post(url, report(), SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60),
    ),
    "oversized": (413, lambda url: oversized(url, report("vpn " * (MAX_BODY_BYTES // 4)).body)),
    "bad JSON": (400, signed(b'{"type": "event_callback", "event": {')),
    "JSON not an object": (400, signed(b'["event_callback"]')),
    "not UTF-8": (400, signed(b'{"type": "event_callback", "text": "\xff\xfe"}')),
    "wrong content type": (400, signed(report().body, "text/plain")),
    "no content type": (400, signed(report().body, "")),
    "form with a broken payload": (400, signed(b"payload=%7Bnot+json", slack.FORM)),
    "form that is no form": (400, signed(b"just some words", slack.FORM)),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_request_is_refused_and_changes_nothing(jethro: Jethro, case: str) -> None:
    status, send = BAD[case]

    reply = send(jethro.driver.url)
    jethro.settle()

    assert reply.status == status, reply.body
    assert [c.method for c in jethro.slack.calls()] == ["auth.test"]
    assert {table: jethro.rows(table) for table in TABLES} == dict.fromkeys(TABLES, 0)
    assert jethro.send(report()).status == 200, "the bot goes on serving"
