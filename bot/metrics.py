"""Every Prometheus metric Jethro exports, on a registry each `Services` owns (`GET /metrics`).

Two kinds. Counters and histograms count what this process handled (reports, tickets, Slack
errors); each replica exports its own and Prometheus sums them. The backlog (outbox depth and age,
escalation steps past due, open tickets) is read from the database at scrape time, so every
replica reports the same true figure: aggregate those with `max`, not `sum`.

Events are counted only once their transaction commits (`after_commit`): a report whose
transaction fails is redelivered by Slack and would otherwise count twice. Nothing here decides
anything; callers say what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from escalation.backlog import read_backlog
from escalation.clock import Clock
from escalation.models import Ticket
from escalation.sla import time_to_acknowledge, time_to_resolve
from knowledge.calibration import Thresholds
from knowledge.decision import Outcome

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format, which Prometheus 2 and 3 both read; `generate_latest` writes it for
plain ASCII names like these (prometheus-client's own server sends this type by default too)."""
MINUTE, HOUR = 60.0, 3600.0
ACK_BUCKETS = tuple(m * MINUTE for m in (1, 5, 10, 15, 30, 60, 120, 240, 480, 1440))
RESOLVE_BUCKETS = tuple(h * HOUR for h in (0.25, 0.5, 1, 2, 4, 8, 24, 48, 72, 168))
MATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_PENDING = "jethro.metrics.after_commit"


class Metrics:
    """The metrics of one running bot. With `engine`, `/metrics` also reads the backlog."""

    def __init__(self, engine: Engine | None = None, clock: Clock | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reports = Counter(
            "jethro_reports", "Reports handled, by decision.", ["outcome"], registry=r
        )
        for outcome in Outcome:
            self.reports.labels(outcome.value)
        self.deflections = Counter(
            "jethro_deflections", "Answers the reporter confirmed solved their problem.", registry=r
        )
        self.escalations = Counter(
            "jethro_escalations",
            "Tickets opened, by team and severity.",
            ["team", "severity"],
            registry=r,
        )
        self.acknowledged = Histogram(
            "jethro_time_to_acknowledge_seconds",
            "From ticket opened to acknowledged, by team.",
            ["team"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.resolved = Histogram(
            "jethro_time_to_resolve_seconds",
            "From ticket opened to resolved, by team.",
            ["team"],
            buckets=RESOLVE_BUCKETS,
            registry=r,
        )
        self.slack_errors = Counter(
            "jethro_slack_api_errors",
            "Failed Slack Web API calls by the outbox, by method and "
            "error (Slack's error code, http_NNN, timeout or unreachable).",
            ["method", "error"],
            registry=r,
        )
        self.outbox_results = Counter(
            "jethro_outbox_attempts",
            "Outbox send attempts, by result (sent, retry, dead).",
            ["result"],
            registry=r,
        )
        self.matching = Histogram(
            "jethro_matcher_latency_seconds",
            "Time to match one report against the knowledge base.",
            buckets=MATCH_BUCKETS,
            registry=r,
        )
        ProcessCollector(registry=r)
        if engine is not None:
            r.register(BacklogCollector(engine, clock or _system_clock()))

    def exposition(self) -> bytes:
        """The Prometheus text format, for `GET /metrics`."""
        return generate_latest(self.registry)

    # What happened; each is counted when `db` commits.

    def report_handled(self, db: Session, outcome: Outcome, matching_seconds: float) -> None:
        after_commit(db, lambda: self.report_stored(outcome, matching_seconds))

    def report_stored(self, outcome: Outcome, matching_seconds: float) -> None:
        """`report_handled` for a report stored without a session (`bot.answered`)."""
        self.matching.observe(matching_seconds)
        self.reports.labels(outcome.value).inc()

    def deflected(self, db: Session) -> None:
        after_commit(db, self.deflections.inc)

    def escalated(self, db: Session, ticket: Ticket, team: str) -> None:
        labels = self.escalations.labels(team, ticket.severity.value)
        after_commit(db, labels.inc)

    def ticket_acknowledged(self, db: Session, ticket: Ticket, team: str) -> None:
        took = time_to_acknowledge(ticket)
        if took is not None:
            after_commit(db, lambda: self.acknowledged.labels(team).observe(took.total_seconds()))

    def ticket_resolved(self, db: Session, ticket: Ticket, team: str) -> None:
        took = time_to_resolve(ticket)
        if took is not None:
            after_commit(db, lambda: self.resolved.labels(team).observe(took.total_seconds()))

    # The outbox's observer (`escalation.outbox.SendObserver`): counted at once, nothing to undo.

    def slack_error(self, method: str, error: str) -> None:
        self.slack_errors.labels(method, error).inc()

    def send_result(self, result: str) -> None:
        self.outbox_results.labels(result).inc()


class ThresholdsCollector:
    """The decision's thresholds in use, read at each scrape (a reload may recalibrate them):
    `source` says where they came from (prior, base, outcomes, setting)."""

    def __init__(self, read: Callable[[], Thresholds]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        found = self.read()
        figures = (
            (
                "jethro_answer_threshold",
                "Confidence at or above which reports are answered.",
                found.answer,
            ),
            (
                "jethro_suggest_threshold",
                "Confidence at or above which a shortlist is offered.",
                found.suggest,
            ),
            (
                "jethro_expected_precision",
                "Share of answers expected right at these thresholds.",
                found.expected_precision,
            ),
            (
                "jethro_expected_deflection",
                "Share of covered reports expected answered right at these thresholds.",
                found.expected_deflection,
            ),
        )
        for name, documentation, value in figures:
            if value is not None:
                gauge = GaugeMetricFamily(name, documentation, labels=["source"])
                gauge.add_metric([found.source], value)
                yield gauge


class BacklogCollector:
    """Reads the backlog from the database at each scrape; a database away reads as
    `jethro_database_up 0` rather than failing the scrape."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("jethro_database_up", "1 when the database answered this scrape.")
        now = self.clock.now()
        try:
            with Session(self.engine) as db:
                backlog = read_backlog(db, now)
        except Exception as exc:
            log.warning("metrics: cannot read the backlog from the database: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _gauge(
            "jethro_outbox_pending_messages",
            "Messages waiting to be sent (any replica).",
            backlog.pending,
        )
        yield _gauge(
            "jethro_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent; 0 when none waits.",
            _age(now, backlog.oldest_pending),
        )
        yield _gauge(
            "jethro_outbox_dead_messages",
            "Messages given up on (kept for inspection).",
            backlog.dead,
        )
        yield _gauge(
            "jethro_escalation_steps_overdue",
            "Escalation steps (pages) more than two minutes past due: no worker is running them.",
            backlog.overdue_steps,
        )
        tickets = GaugeMetricFamily(
            "jethro_open_tickets",
            "Tickets not yet resolved, by team and status.",
            labels=["team", "status"],
        )
        for (team, status), count in sorted(backlog.open_tickets.items()):
            tickets.add_metric([team, status], count)
        yield tickets


def after_commit(db: Session, action: Callable[[], None]) -> None:
    """Run `action` once `db`'s outermost transaction commits; never if it rolls back."""
    pending: list[Callable[[], None]] | None = db.info.get(_PENDING)
    if pending is None:
        pending = db.info[_PENDING] = []
        event.listen(db, "after_commit", _run_pending)
        event.listen(db, "after_soft_rollback", _drop_pending)
    pending.append(action)


def _run_pending(db: Session) -> None:
    if db.get_nested_transaction() is not None:
        return  # a savepoint was released; the real commit is still to come
    actions = db.info.get(_PENDING) or []
    db.info[_PENDING] = []
    for action in actions:
        action()


def _drop_pending(db: Session, previous: object) -> None:
    if not getattr(previous, "nested", False):
        db.info[_PENDING] = []


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


def _system_clock() -> Clock:
    from escalation.clock import SystemClock

    return SystemClock()
