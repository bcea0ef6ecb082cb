"""Signed requests built like Slack's, accepted and routed by a real Bolt app over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import Clock, SignatureVerifier

from bot.local.signing import signed_headers
from tests.fakes import slack_events as slack
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_spec import PAYLOADS


def test_signing_matches_slacks_published_test_vector() -> None:
    vector = json.loads((PAYLOADS / "signature_test_vector.json").read_text())
    body = vector["body"].encode()

    headers = signed_headers(
        vector["signing_secret"], body, vector["headers"]["X-Slack-Request-Timestamp"]
    )

    assert headers == vector["headers"]
    verifier = SignatureVerifier(
        vector["signing_secret"], clock=FixedClock(vector["clock_now_for_validity"])
    )
    assert verifier.is_valid_request(body, headers)


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


@contextmanager
def bolt_over_http(app: App) -> Iterator[str]:
    """The smallest HTTP adapter for a Bolt app: what `bot/server.py` does, on port 0."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            reply = app.dispatch(BoltRequest(body=body, headers=dict(self.headers.items())))
            data = reply.body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def seen(fake_slack: FakeSlack) -> Iterator[tuple[slack.SlackDriver, list[tuple[str, Any]]]]:
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    app = App(signing_secret=SIGNING_SECRET, client=client, process_before_response=True)
    got: list[tuple[str, Any]] = []

    @app.message("")
    def message(message: dict[str, Any]) -> None:
        got.append(("message", message))

    @app.event("app_mention")
    def mention(event: dict[str, Any]) -> None:
        got.append(("app_mention", event))

    @app.event("app_home_opened")
    def home(event: dict[str, Any]) -> None:
        got.append(("app_home_opened", event))

    @app.action("kb_solved")
    def solved(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        got.append(("kb_solved", body))

    @app.command("/triage")
    def triage(ack: Ack, command: dict[str, Any]) -> None:
        ack()
        got.append(("/triage", command))

    @app.view("report_form")
    def submitted(ack: Ack, view: dict[str, Any]) -> None:
        ack()
        got.append(("report_form", view))

    @app.shortcut("report_message")
    def shortcut(ack: Ack, shortcut: dict[str, Any]) -> None:
        ack()
        got.append(("report_message", shortcut))

    with bolt_over_http(app) as url:
        yield slack.SlackDriver(url, SIGNING_SECRET), got


def test_bolt_accepts_and_routes_every_payload(
    seen: tuple[slack.SlackDriver, list[tuple[str, Any]]],
) -> None:
    driver, got = seen
    sent = [
        slack.message_im("vpn is down &amp; so is mail", user="U1", channel="D1"),
        slack.thread_reply("only on Mondays", "1700000000.000100", user="U1", channel="D1"),
        slack.app_mention("printer jammed", user="U2", channel="C2"),
        slack.app_home_opened("U3"),
        slack.block_action("kb_solved", "ref-1", user="U4", channel="D4"),
        slack.slash_command("wifi drops", user="U5", channel="C5"),
        slack.view_submission("report_form", {"b": {"a": "laptop won't boot"}}, user="U6"),
        slack.message_shortcut("report_message", "the build is red", user="U7"),
    ]

    assert [driver.send(payload).status for payload in sent] == [200] * len(sent)

    kinds = [kind for kind, _ in got]
    assert kinds == [
        "message", "message", "app_mention", "app_home_opened", "kb_solved", "/triage",
        "report_form", "report_message",
    ]  # fmt: skip
    by_kind = dict(got)
    assert got[0][1]["text"] == "vpn is down &amp; so is mail"
    assert got[1][1]["thread_ts"] == "1700000000.000100"
    assert by_kind["app_mention"]["text"] == f"<@{slack.BOT_USER}> printer jammed"
    assert by_kind["kb_solved"]["actions"][0]["value"] == "ref-1"
    assert by_kind["kb_solved"]["user"]["id"] == "U4"
    assert by_kind["/triage"]["text"] == "wifi drops"
    assert by_kind["report_form"]["state"]["values"]["b"]["a"]["value"] == "laptop won't boot"
    assert by_kind["report_message"]["message"]["text"] == "the build is red"


def test_each_build_is_a_new_event(seen: tuple[slack.SlackDriver, list[tuple[str, Any]]]) -> None:
    first, second = slack.message_im("a"), slack.message_im("a")

    assert first.data["event_id"] != second.data["event_id"]
    assert float(second.data["event"]["ts"]) > float(first.data["event"]["ts"])


def test_url_verification_echoes_the_challenge(
    seen: tuple[slack.SlackDriver, list[tuple[str, Any]]],
) -> None:
    driver, _ = seen

    reply = driver.send(slack.url_verification("abc123"))

    assert (reply.status, reply.json()) == (200, {"challenge": "abc123"})


def test_a_wrong_secret_or_a_stale_request_is_refused(
    seen: tuple[slack.SlackDriver, list[tuple[str, Any]]],
) -> None:
    driver, got = seen
    payload = slack.message_im("hello")

    forged = slack.post(driver.url, payload, "not-the-secret")
    stale = slack.post(driver.url, payload, SIGNING_SECRET, timestamp=1_000_000_000)
    retried = driver.retry(payload)

    assert (forged.status, stale.status, retried.status) == (401, 401, 200)
    assert len(got) == 1
