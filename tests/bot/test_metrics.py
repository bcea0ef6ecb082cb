"""`GET /metrics` after real traffic: the figures an operator's dashboard and alerts read."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from bot.metrics import Metrics
from escalation.db import make_engine, session
from knowledge.decision import Outcome
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import (
    WAIT,
    Employee,
    Engineers,
    Jethro,
    copy_of_sample_kb,
    wait_until,
)

UNKNOWN = "the quantum flux capacitor on floor 3 is humming"
ALICE = "U0ALICE001"
METHOD = ("method", "chat.postMessage")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def jethro(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[Jethro]:
    bot = Jethro(fake_slack, database_url, copy_of_sample_kb(tmp_path))
    try:
        yield bot
    finally:
        bot.close()


def scrape(jethro: Jethro) -> tuple[str, Samples]:
    """The content type and every sample, keyed by name and sorted labels."""
    with urllib.request.urlopen(jethro.url + "/metrics", timeout=WAIT) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return content_type, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_count_reports_deflections_tickets_and_their_times(
    jethro: Jethro, fake_slack: FakeSlack
) -> None:
    employee, engineers = Employee(jethro), Engineers(jethro)
    answered = employee.dm("my vpn keeps dropping")
    employee.click("kb_solved", answered.last_reply())
    Employee(jethro, "U0SECOND01", "D0SECOND01").dm(UNKNOWN)
    [posted] = engineers.tickets_posted()
    [alice] = engineers.on_duty(ALICE)
    jethro.time_passes(minutes=10)
    alice.click("ticket_ack", posted)
    jethro.settle()  # handled at 10 minutes, before the clock moves on
    jethro.time_passes(hours=2)
    alice.resolve(posted, "Replaced the capacitor.")
    jethro.settle()

    content_type, samples = scrape(jethro)

    assert content_type.startswith("text/plain; version=0.0.4")
    assert value(samples, "jethro_reports_total", outcome="answer") == 1
    assert value(samples, "jethro_reports_total", outcome="escalate") == 1
    assert value(samples, "jethro_reports_total", outcome="suggest") == 0
    assert value(samples, "jethro_deflections_total") == 1
    assert value(samples, "jethro_escalations_total", team="it", severity="normal") == 1
    assert value(samples, "jethro_time_to_acknowledge_seconds_count", team="it") == 1
    assert value(samples, "jethro_time_to_acknowledge_seconds_sum", team="it") == 600
    assert value(samples, "jethro_time_to_acknowledge_seconds_bucket", team="it", le="600.0") == 1
    assert value(samples, "jethro_time_to_acknowledge_seconds_bucket", team="it", le="300.0") == 0
    assert value(samples, "jethro_time_to_resolve_seconds_sum", team="it") == 600 + 7200
    assert value(samples, "jethro_matcher_latency_seconds_count") == 2
    assert value(samples, "jethro_outbox_attempts_total", result="sent") >= 4
    assert value(samples, "jethro_database_up") == 1
    assert value(samples, "jethro_outbox_pending_messages") == 0
    assert value(samples, "jethro_outbox_dead_messages") == 0
    assert value(samples, "jethro_escalation_steps_overdue") == 0
    assert not any(name == "jethro_open_tickets" for name, _ in samples), "it was resolved"
    # the thresholds in use, labelled with where they came from (the sample base calibrates)
    thresholds = {
        labels: v for (name, labels), v in samples.items() if name == "jethro_answer_threshold"
    }
    assert list(thresholds) == [(("source", "base"),)]
    assert 0.5 <= thresholds[(("source", "base"),)] <= 1.0
    assert 0 < value(samples, "jethro_expected_precision", source="base") <= 1


def test_metrics_show_slack_errors_and_the_outbox_backlog_read_from_the_database(
    jethro: Jethro, fake_slack: FakeSlack
) -> None:
    fake_slack.error_next("chat.postMessage", "channel_not_found")
    Employee(jethro).dm("my vpn keeps dropping")
    wait_until(lambda: scrape(jethro)[1].get(("jethro_outbox_dead_messages", ())) == 1, "dead")
    fake_slack.fail_next("chat.postMessage", 500, times=1000)
    Employee(jethro, "U0SECOND01", "D0SECOND01").dm(UNKNOWN)
    failed = ("jethro_slack_api_errors_total", (("error", "fatal_error"), METHOD))
    wait_until(lambda: failed in scrape(jethro)[1], "a failed attempt counted")
    jethro.clock.advance(seconds=90)  # no wake: the message waits for its retry

    _, samples = scrape(jethro)

    errors = "jethro_slack_api_errors_total"
    assert value(samples, errors, method="chat.postMessage", error="channel_not_found") == 1
    assert value(samples, errors, method="chat.postMessage", error="fatal_error") >= 1
    assert value(samples, "jethro_outbox_dead_messages") == 1
    assert value(samples, "jethro_outbox_pending_messages") >= 1
    assert value(samples, "jethro_outbox_oldest_pending_age_seconds") == 90
    assert value(samples, "jethro_open_tickets", team="it", status="open") == 1


def counted(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_metrics_are_counted_only_when_the_transaction_commits(engine: Engine) -> None:
    metrics = Metrics(engine)
    with pytest.raises(RuntimeError), session(engine) as db:
        metrics.report_handled(db, Outcome.ANSWER, 0.01)
        raise RuntimeError("the database went away")
    with session(engine) as db:
        metrics.report_handled(db, Outcome.ANSWER, 0.01)
        with db.begin_nested():
            metrics.deflected(db)
        assert counted(metrics, "jethro_reports_total", outcome="answer") == 0, "not yet"

    assert counted(metrics, "jethro_reports_total", outcome="answer") == 1
    assert counted(metrics, "jethro_deflections_total") == 1
    assert b"jethro_reports_total" in Metrics().exposition(), "each bot its own registry"


def test_a_database_away_reads_as_down_instead_of_failing_the_scrape() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics = Metrics(make_engine(f"postgresql+psycopg://jethro@127.0.0.1:{port}/jethro"))

    text = metrics.exposition().decode()

    assert "jethro_database_up 0.0" in text
    assert "jethro_reports_total" in text
    assert "jethro_outbox_pending_messages" not in text
