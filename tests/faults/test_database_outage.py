"""PostgreSQL going away under load (a restart, a failover): the bot reconnects, no request
crashes it, a request that cannot be stored is refused (Slack sends it again), and every report
it acknowledged is answered once the database is back. The shared server is never restarted:
the bot reaches it through a TCP relay the test cuts."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.desk import BUSY_THREADS
from escalation.db import make_engine
from escalation.inbox import RECEIPT_LEASE
from tests.dbfixtures import POSTGRES_URL_VARIABLE, postgres_schema
from tests.fakes import slack_events as slack
from tests.fakes.slack_api import FakeSlack
from tests.faults.tcp_proxy import TcpProxy
from tests.scenarios.world import Jethro, copy_of_sample_kb, wait_until

pytestmark = pytest.mark.skipif(
    not os.environ.get(POSTGRES_URL_VARIABLE),
    reason=f"a PostgreSQL restart needs {POSTGRES_URL_VARIABLE} (SQLite has no server to lose)",
)


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema(os.environ[POSTGRES_URL_VARIABLE]) as url:
        yield url


@contextmanager
def work_blocked(url: str) -> Iterator[sa.Connection]:
    """Hold a lock every report's work needs, from outside the relay, until the block ends: the
    reports are acknowledged and then wait, mid-transaction, for the database to go away."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("LOCK TABLE slack_conversation IN ACCESS EXCLUSIVE MODE")
            yield connection
            connection.rollback()
    finally:
        engine.dispose()


def waiting_on(lock: sa.Connection) -> int:
    pid = lock.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    return int(lock.execute(query, {"pid": pid}).scalar_one())


def test_reports_acknowledged_before_postgresql_went_away_are_answered_after(
    fake_slack: FakeSlack, schema_url: str, tmp_path: Path
) -> None:
    database = sa.make_url(schema_url)
    with TcpProxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
        relayed = database.set(host="127.0.0.1", port=proxy.port)
        jethro = Jethro(fake_slack, relayed.render_as_string(False), copy_of_sample_kb(tmp_path))
        try:
            reports = [
                slack.message_im("my vpn keeps dropping", user=f"U0E{i}", channel=f"D0E{i}")
                for i in range(6)
            ]
            with work_blocked(schema_url) as lock:
                acked = [jethro.send(p).status for p in reports[:3]]
                busy = min(3, BUSY_THREADS)  # the third may wait for a turn instead
                wait_until(lambda: waiting_on(lock) >= busy, "the reports' work did not start")
                proxy.cut()
                refused = [jethro.send(p).status for p in reports[3:]]
                health_while_away = jethro.get("/healthz")[0]
            proxy.restore()

            retried = [jethro.driver.retry(p, reason="http_error").status for p in reports[3:]]
            jethro.time_passes(seconds=RECEIPT_LEASE.seconds + 1)
            answered = fake_slack.wait_for("chat.postMessage", 6, timeout=15)
            jethro.settle()
            health_after = jethro.get("/healthz")[0]
            conversations = len(jethro.conversations())
            receipts_left = jethro.rows("slack_receipt")
        finally:
            jethro.close()

    assert (acked, refused, retried) == ([200] * 3, [503] * 3, [200] * 3)
    assert (health_while_away, health_after) == (503, 200)
    assert sorted(c.response["channel"] for c in answered) == [f"D0E{i}" for i in range(6)]
    assert len([c for c in fake_slack.calls("chat.postMessage") if c.ok]) == 6
    assert conversations == 6 and receipts_left == 0


def test_a_report_still_queued_when_its_lease_runs_out_is_not_queued_twice(
    fake_slack: FakeSlack, schema_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a burst, work can wait longer than its receipt's lease: the replayer of the same
    process renews the lease instead of queueing the report a second time."""
    caplog.set_level(logging.INFO, logger="bot.receipts")
    jethro = Jethro(fake_slack, schema_url, copy_of_sample_kb(tmp_path))
    engine = make_engine(schema_url)
    try:
        report = slack.message_im("my vpn keeps dropping", user="U0Q1", channel="D0Q1")
        with work_blocked(schema_url) as lock:
            assert jethro.send(report).status == 200
            wait_until(lambda: waiting_on(lock) >= 1, "the report's work did not start")
            jethro.time_passes(seconds=RECEIPT_LEASE.seconds + 1)
            wait_until(lambda: _replay_attempts(engine) >= 1, "the replayer did not look")
        answered = fake_slack.wait_for("chat.postMessage", 1, timeout=15)
        jethro.settle()
        receipts_left = jethro.rows("slack_receipt")
    finally:
        jethro.close()
        engine.dispose()

    assert [c.response["channel"] for c in answered] == ["D0Q1"]
    assert receipts_left == 0
    assert "is still queued here" in caplog.text
    assert "handling Slack request" not in caplog.text, "queued a second time"


def _replay_attempts(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        attempts = connection.exec_driver_sql("SELECT max(attempts) FROM slack_receipt").scalar()
    return int(attempts or 0)
