"""HTTP mode as an operator and a load balancer see it: health, unknown paths, oversized bodies."""

from __future__ import annotations

from http.client import HTTPConnection

from bot.server import EVENTS_PATH, MAX_BODY_BYTES, health_check
from escalation.db import make_engine
from tests.fakes import slack_events as slack
from tests.scenarios.world import Jethro


def test_health_reports_articles_and_the_database(jethro: Jethro) -> None:
    status, body = jethro.get("/healthz")

    assert status == 200
    assert body == {
        "ok": True,
        "articles": len(jethro.knowledge.current.kb.articles),
        "database": True,
    }


def test_health_fails_when_the_database_is_unreachable(jethro: Jethro) -> None:
    nowhere = make_engine("postgresql+psycopg://jethro@127.0.0.1:1/gone")

    health = health_check(nowhere, jethro.knowledge)()

    assert (health.ok, health.database, health.articles > 0) == (False, False, True)


def test_other_paths_are_not_found(jethro: Jethro) -> None:
    assert jethro.get("/")[0] == 404
    assert jethro.get("/slack/events")[0] == 404  # Slack only POSTs


def test_an_oversized_body_is_refused_unread(jethro: Jethro) -> None:
    connection = HTTPConnection("127.0.0.1", jethro.port, timeout=5)
    try:
        connection.putrequest("POST", EVENTS_PATH)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        connection.endheaders(b"{")  # the server answers from the headers alone
        status = connection.getresponse().status
    finally:
        connection.close()

    assert status == 413
    jethro.settle()
    assert jethro.rows("slack_event") == 0


def test_url_verification_echoes_the_challenge(jethro: Jethro) -> None:
    reply = jethro.send(slack.url_verification("c-123"))

    assert (reply.status, reply.json()) == (200, {"challenge": "c-123"})
