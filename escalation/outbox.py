"""The durable outbox: Slack Web API calls stored in the caller's transaction, sent by a worker.

A state change and the messages about it commit together (`enqueue` flushes, never commits), so
a message is never lost to a crash between the two. `OutboxSender` claims due messages with a
lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so several replicas
share the work and a dead worker's claim runs out. Slack's limits are honoured without sleeping:
a 429 moves the message to `now + Retry-After`, transient failures back off exponentially with
jitter, and each channel gets at most one message per `channel_interval`, oldest first, while
other channels go on. A message is sent at least once: a time-out after Slack posted it means
it is posted again. Nothing here decides what to say; callers build the Web API arguments.
"""

from __future__ import annotations

import copy
import logging
import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from escalation.clock import Clock
from escalation.db import plain
from escalation.db import session as unit_of_work
from escalation.inbox import insert_unless_kept
from escalation.models import OutboxMessage, OutboxStatus, metadata
from escalation.worker import PollingWorker, Work, note_queued

log = logging.getLogger(__name__)

Hook = Callable[[Session, OutboxMessage, dict[str, Any]], None]

MIN_RETRY = timedelta(seconds=1)
"""Never retry sooner, even on `Retry-After: 0`, so a loop cannot spin on one message."""
BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(hours=6)
"""How long transient failures are retried (counted from `created_at`) before a message is dead."""
KEEP_SENT = timedelta(days=7)
"""Sent messages are deleted after this, so the per-channel checks stay fast; dead ones stay."""
PURGE_EVERY = timedelta(hours=1)

# Slack error codes an operator fixes (token, scopes): retried forever, logged loudly.
OPERATOR_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "not_allowed_token_type",
        "no_permission",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
# Slack's own trouble: retried with back-off. Any other error code is about the message itself
# (`channel_not_found`, `msg_too_long`, `invalid_blocks`, ...), so retrying cannot help.
TRANSIENT_ERRORS = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "ratelimited",
        "rate_limited",
        "message_limit_exceeded",
        "team_added_to_org",
    }
)
RESULT_KEYS = ("channel", "ts", "message_ts")
BATCH = 20
"""Messages a worker claims at a time; a full batch means more are due, so it goes on at once."""
SEND_THREADS = 8
"""Calls of one batch in flight at once (to different channels: a batch has one a channel)."""

_hooks: dict[str, Hook] = {}


class SendObserver(Protocol):
    """Told what each attempt came to (`bot.metrics.Metrics` counts it); must not raise."""

    def slack_error(self, method: str, error: str) -> None:
        """A call failed: Slack's error code, `http_NNN`, `timeout` or `unreachable`."""

    def send_result(self, result: str) -> None:
        """`sent`, `retry` or `dead`."""


class _Unobserved:
    def slack_error(self, method: str, error: str) -> None:
        pass

    def send_result(self, result: str) -> None:
        pass


def enqueue(
    session: Session,
    *,
    method: str,
    args: dict[str, Any],
    clock: Clock,
    key: str | None = None,
    after_sent: str | None = None,
    ref: dict[str, Any] | None = None,
) -> int | None:
    """Store a Web API call in the caller's transaction; its id, or None if `key` was already
    enqueued. A plain insert (no ORM object), since nothing reads it back before the commit.

    `after_sent` names a hook (see `register_hook`) run with `ref` when Slack accepted the call.
    Call `OutboxWorker.wake()` after the transaction commits for the lowest latency.
    """
    values = message_values(
        method=method, args=args, now=clock.now(), key=key, after_sent=after_sent, ref=ref
    )
    note_queued(session, Work.OUTBOX)
    return _insert_once(session, values)


def message_values(
    *,
    method: str,
    args: dict[str, Any],
    now: datetime,
    key: str | None = None,
    after_sent: str | None = None,
    ref: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`enqueue`'s row, for inserting many messages with no `key` at once (`bot.answered`)."""
    if after_sent is not None and after_sent not in _hooks:
        raise ValueError(f"no outbox hook named {after_sent!r}: call register_hook() first")
    return {
        "key": key,
        "method": method,
        "channel": pace_key(method, args),
        "args": args,
        "status": OutboxStatus.PENDING,
        "after_sent": after_sent,
        "ref": ref or {},
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "result": {},
    }


def register_hook(name: str, hook: Hook) -> None:
    """Name a function to run in the transaction that marks a message sent.

    It gets the session, the message and Slack's response data (e.g. store the `ts` of the
    escalation message on its ticket). If it raises, its changes are rolled back and logged; the
    message still counts as sent, because sending it again would post it twice.
    """
    known = _hooks.get(name)
    if known is not None and known is not hook:
        log.warning("outbox hook %r replaced by %r", name, getattr(hook, "__qualname__", hook))
    _hooks[name] = hook


def pending(session: Session) -> list[OutboxMessage]:
    """Messages not yet sent (including those waiting to retry), oldest first."""
    query = select(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.PENDING)
    return list(session.exec(query.order_by(col(OutboxMessage.id))))


def dead(session: Session) -> list[OutboxMessage]:
    """Messages given up on, oldest first, with `last_error` saying why: for operators."""
    query = select(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.DEAD)
    return list(session.exec(query.order_by(col(OutboxMessage.id))))


def purge(session: Session, *, sent_before: datetime) -> int:
    """Delete messages sent before `sent_before`; returns how many."""
    table = metadata.tables[OutboxMessage.__tablename__]
    statement = table.delete().where(
        table.c.status == OutboxStatus.SENT, table.c.sent_at < sent_before
    )
    return session.connection().execute(statement).rowcount


def pace_key(method: str, args: dict[str, Any]) -> str:
    """Where Slack paces a call: its channel (a user id posts to the DM), or the user whose App
    Home is published, else the method itself."""
    for name in ("channel", "user_id", "user"):
        value = args.get(name)
        if isinstance(value, str) and value:
            return value
    return f"method:{method}"


@dataclass(frozen=True)
class _Outcome:
    """What one attempt came to: sent (with Slack's data), retry at `retry_at`, or dead."""

    data: dict[str, Any] | None = None
    retry_at: datetime | None = None
    error: str | None = None


class OutboxSender:
    """Claims due messages, sends them, and records what happened.

    `lease_seconds` must outlast one Web API call (the client's timeout), or a slow call could
    be claimed and sent again by another worker. Every time decision reads `clock`.
    """

    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        clock: Clock,
        *,
        worker_id: str | None = None,
        channel_interval: float = 1.0,
        lease_seconds: float = 60.0,
        observer: SendObserver | None = None,
        send_threads: int = SEND_THREADS,
    ) -> None:
        if lease_seconds <= client.timeout:
            raise ValueError(
                f"lease_seconds={lease_seconds} must be longer than the Slack client's "
                f"timeout ({client.timeout}s), or a slow send could be sent twice"
            )
        self.engine = engine
        self.client = _without_retries(client)
        self.clock = clock
        self.worker_id = worker_id or f"outbox-{uuid.uuid4().hex[:12]}"
        self.channel_interval = timedelta(seconds=channel_interval)
        self.lease = timedelta(seconds=lease_seconds)
        self._random = random.Random()
        self.observer: SendObserver = observer or _Unobserved()
        self.send_threads = send_threads
        self._sending: ThreadPoolExecutor | None = None

    def send_due(self, limit: int = BATCH) -> int:
        """Claim due messages, send them, record what came of them; returns how many were
        attempted.

        A claimed batch holds at most one message a channel, so its calls go out at once, on
        `send_threads` threads (each waits on Slack, not on the interpreter), and their outcomes
        are recorded in one transaction: one commit a batch instead of one a message.
        """
        handled = 0
        while handled < limit:
            wanted = limit - handled
            claimed = self.claim(wanted)
            if claimed:
                self._record(claimed, self._attempt_all(claimed))
                handled += len(claimed)
            if not claimed or (len(claimed) < wanted and self.channel_interval):
                # Nothing else is due: the claimed channels wait out their interval, and work
                # queued meanwhile wakes the worker. Spares a claim (on SQLite, the write lock).
                break
        return handled

    def close(self) -> None:
        """Let the sending threads go (the messages are in the database, nothing is lost)."""
        if self._sending is not None:
            self._sending.shutdown(wait=True)
            self._sending = None

    def _attempt_all(self, claimed: list[OutboxMessage]) -> list[_Outcome]:
        if len(claimed) == 1 or self.send_threads <= 1:
            return [self._attempt(message) for message in claimed]
        if self._sending is None:
            self._sending = ThreadPoolExecutor(self.send_threads, "jethro-outbox-send")
        return list(self._sending.map(self._attempt, claimed))

    def claim(self, limit: int = BATCH) -> list[OutboxMessage]:
        """Lease up to `limit` due messages, at most one per channel: the oldest pending one,
        and only if that channel had nothing sent within `channel_interval`."""
        now = self.clock.now()
        with unit_of_work(self.engine) as s:
            if self.engine.dialect.name == "sqlite":
                s.connection().exec_driver_sql("BEGIN IMMEDIATE")
            params = {"now": now, "since": now - self.channel_interval, "limit": limit}
            claimed = list(s.exec(_DUE, params=params))
            if claimed:
                lease = {"ids": [m.id for m in claimed], "by": self.worker_id}
                s.connection().execute(_LEASE, lease | {"until": now + self.lease})
            s.expunge_all()  # the objects below are what was leased, not changes to save
        for message in claimed:
            message.claimed_by = self.worker_id
            message.claimed_until = now + self.lease
            message.attempts += 1
        return claimed

    def _attempt(self, message: OutboxMessage) -> _Outcome:
        started = self.clock.now()
        try:
            response = self.client.api_call(message.method, json=message.args)
        except SlackApiError as exc:
            return self._failed(message, exc, started)
        except (OSError, SlackClientError) as exc:  # time-outs, refused connections, resets
            log.warning(
                "outbox message %s: Slack unreachable: %s", message.id, exc, extra=_fields(message)
            )
            self.observer.slack_error(
                message.method, "timeout" if isinstance(exc, TimeoutError) else "unreachable"
            )
            return self._retry(message, started, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug; kept and retried so nothing is lost meanwhile
            log.exception("outbox message %s: sending failed", message.id)
            return self._retry(message, started, f"{type(exc).__name__}: {exc}")
        data = response.data if isinstance(response.data, dict) else {}
        return _Outcome(data=data)

    def _failed(self, message: OutboxMessage, exc: SlackApiError, now: datetime) -> _Outcome:
        status = exc.response.status_code
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        self.observer.slack_error(message.method, str(data.get("error") or f"http_{status}"))
        if status == 429 or error in ("ratelimited", "rate_limited"):
            wait = max(MIN_RETRY, timedelta(seconds=_retry_after(exc.response.headers)))
            log.info("outbox message %s: rate limited, retry in %ss", message.id, wait.seconds)
            return _Outcome(retry_at=now + wait, error=f"ratelimited (HTTP {status})")
        if error in OPERATOR_ERRORS:
            log.error(
                "outbox message %s: Slack refused the bot's token or scopes (%s): fix "
                "SLACK_BOT_TOKEN or reinstall the app; the message is kept and retried",
                message.id,
                error,
                extra=_fields(message),
            )
            return _Outcome(retry_at=now + self._backoff(message.attempts), error=error)
        if status >= 500 or error in TRANSIENT_ERRORS:
            log.warning("outbox message %s: Slack failed (%s), will retry", message.id, error)
            return self._retry(message, now, f"{error} (HTTP {status})")
        log.error(
            "outbox message %s (%s to %s) is dead: Slack refused it with %r",
            message.id,
            message.method,
            message.channel,
            error,
            extra=_fields(message),
        )
        return _Outcome(error=error)

    def _retry(self, message: OutboxMessage, now: datetime, error: str) -> _Outcome:
        retry_at = now + self._backoff(message.attempts)
        if retry_at - message.created_at > GIVE_UP_AFTER:
            log.error(
                "outbox message %s (%s to %s) is dead: still failing after %s: %s",
                message.id,
                message.method,
                message.channel,
                GIVE_UP_AFTER,
                error,
                extra=_fields(message),
            )
            return _Outcome(error=f"gave up after {GIVE_UP_AFTER}: {error}")
        return _Outcome(retry_at=retry_at, error=error)

    def _backoff(self, attempts: int) -> timedelta:
        """Exponential, capped, with jitter (half to all of the step) so replicas spread out."""
        step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(max(attempts - 1, 0), 20))
        jittered = timedelta(seconds=step.total_seconds() * self._random.uniform(0.5, 1.0))
        return max(MIN_RETRY, jittered)

    def _record(self, claimed: list[OutboxMessage], outcomes: list[_Outcome]) -> None:
        """What came of a batch, in one transaction of plain UPDATEs (`_FINISH`, guarded by the
        message's status, so one another worker finished is left alone): one statement for the
        messages with no hook to run, and one each for those with a hook, which runs only if
        its message was still this worker's to finish."""
        now = self.clock.now()
        rows: list[dict[str, Any]] = []
        hooked: list[tuple[OutboxMessage, dict[str, Any], dict[str, Any]]] = []
        for message, outcome in zip(claimed, outcomes, strict=True):
            if message.claimed_until is not None and now > message.claimed_until:
                log.warning("outbox message %s: lease ran out while sending", message.id)
            row = _finished(message, outcome, now)
            if outcome.data is not None and message.after_sent is not None:
                hooked.append((message, row, outcome.data))
            else:
                rows.append(row)
            if outcome.data is not None:
                fields = _fields(message)
                log.info("outbox message %s sent (%s)", message.id, message.method, extra=fields)
        with unit_of_work(self.engine) as s:
            finished = s.connection().execute(_FINISH, rows).rowcount if rows else 0
            for message, row, data in hooked:
                if s.connection().execute(_FINISH, row).rowcount == 1:
                    self._after_sent(s, message, row, data)
                else:
                    log.warning("outbox message %s was finished by another worker", message.id)
            if 0 <= finished < len(rows):
                log.warning(
                    "%d outbox messages were finished by another worker", len(rows) - finished
                )
        for outcome in outcomes:
            self.observer.send_result(
                "sent" if outcome.data is not None else "retry" if outcome.retry_at else "dead"
            )

    def _after_sent(
        self, s: Session, message: OutboxMessage, row: dict[str, Any], data: dict[str, Any]
    ) -> None:
        """Run the message's hook in a savepoint: a failing hook is logged and noted on the
        message, which still counts as sent (sending it again would post it twice)."""
        message.status = OutboxStatus.SENT
        message.sent_at = row["sent"]
        message.result = row["outcome"]
        hook = _hooks.get(message.after_sent or "")
        if hook is None:
            error = f"sent, but no hook named {message.after_sent!r} is registered"
            log.error("outbox message %s: %s", message.id, error)
        else:
            try:
                with s.begin_nested():
                    hook(s, message, data)
                return
            except Exception as exc:
                error = f"sent, but hook {message.after_sent!r} failed: {exc!r}"
                log.exception("outbox message %s: %s", message.id, error)
        s.connection().execute(_NOTE_ERROR, {"message_id": message.id, "error": error})


class OutboxWorker(PollingWorker):
    """Runs an `OutboxSender` on a daemon thread: polls every `poll_seconds`, or at once on
    `wake()`, and purges old sent messages once in a while."""

    name = "jethro-outbox"

    def __init__(self, sender: OutboxSender, poll_seconds: float = 0.5) -> None:
        super().__init__(poll_seconds)
        self.sender = sender
        self._purged_at: datetime | None = None
        self.pause: Callable[[], None] = lambda: None
        """Called before each batch; `jethro run` lets acknowledgements in flight go first."""

    def stop(self, timeout: float = 5) -> None:
        super().stop(timeout)
        self.sender.close()

    def tick(self) -> bool:
        self.pause()
        busy = self.sender.send_due(BATCH) == BATCH
        self._purged_at = self._purge(self._purged_at)
        return busy

    def _purge(self, purged_at: datetime | None) -> datetime:
        now = self.sender.clock.now()
        if purged_at is not None and now - purged_at < PURGE_EVERY:
            return purged_at
        with unit_of_work(self.sender.engine) as s:
            purge(s, sent_before=now - KEEP_SENT)
        return now


def _due_query() -> SelectOfScalar[OutboxMessage]:
    """Built once, with parameters `now`, `since` and `limit`: building it was most of the
    Python time a claim took, and the worker claims after every commit that wakes it."""
    now: sa.BindParameter[datetime] = sa.bindparam("now")
    limit: sa.BindParameter[int] = sa.bindparam("limit")
    earlier = aliased(OutboxMessage)
    recent = aliased(OutboxMessage)
    message = OutboxMessage
    waiting_behind = (
        sa.select(col(earlier.id))
        .where(col(earlier.channel) == col(message.channel))
        .where(col(earlier.status) == OutboxStatus.PENDING)
        .where(col(earlier.id) < col(message.id))
    )
    sent_recently = (
        sa.select(col(recent.id))
        .where(col(recent.channel) == col(message.channel))
        .where(col(recent.attempted_at) > sa.bindparam("since"))
    )
    return (
        select(message)
        .where(col(message.status) == OutboxStatus.PENDING)
        .where(col(message.next_attempt_at) <= now)
        .where(sa.or_(col(message.claimed_until).is_(None), col(message.claimed_until) <= now))
        .where(~waiting_behind.exists())
        .where(~sent_recently.exists())
        .order_by(col(message.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=message)
    )


_DUE = _due_query()
_OUTBOX = metadata.tables[OutboxMessage.__tablename__]
INSERT_MESSAGE = _OUTBOX.insert()
_LEASE = (
    _OUTBOX.update()
    .where(_OUTBOX.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(
        claimed_by=sa.bindparam("by"),
        claimed_until=sa.bindparam("until"),
        attempts=_OUTBOX.c.attempts + 1,
    )
)
_FINISH = (
    _OUTBOX.update()
    .where(_OUTBOX.c.id == sa.bindparam("message_id"))
    .where(_OUTBOX.c.status == OutboxStatus.PENDING)
    .values(
        status=sa.bindparam("new_status"),
        attempted_at=sa.bindparam("now"),
        claimed_by=None,
        claimed_until=None,
        last_error=sa.bindparam("error"),
        next_attempt_at=sa.bindparam("next_attempt"),
        sent_at=sa.bindparam("sent"),
        result=sa.bindparam("outcome"),
    )
)


_NOTE_ERROR = (
    _OUTBOX.update()
    .where(_OUTBOX.c.id == sa.bindparam("message_id"))
    .values(last_error=sa.bindparam("error"))
)


def _finished(message: OutboxMessage, outcome: _Outcome, now: datetime) -> dict[str, Any]:
    """`_FINISH`'s parameters for a message: sent, to retry, or dead."""
    status = OutboxStatus.PENDING if outcome.retry_at is not None else OutboxStatus.DEAD
    if outcome.data is not None:
        status = OutboxStatus.SENT
    data = outcome.data or {}
    return {
        "message_id": message.id,
        "new_status": status,
        "now": now,
        "error": outcome.error,
        "next_attempt": outcome.retry_at or message.next_attempt_at,
        "sent": now if outcome.data is not None else None,
        "outcome": {k: data[k] for k in RESULT_KEYS if k in data}
        if outcome.data
        else message.result,
    }


def _insert_once(session: Session, values: dict[str, Any]) -> int | None:
    """Insert unless the key exists (a None key never does), safely against a concurrent
    insert of the same key; the new id, or None."""
    dialect = session.get_bind().dialect.name
    statement = insert_unless_kept(dialect, OutboxMessage.__tablename__, "id")
    return plain(session).execute(statement, values).scalar()


def _fields(message: OutboxMessage) -> dict[str, Any]:
    """The structured-log fields of a message: grep the logs for a ticket or a channel."""
    return {
        "outbox_id": message.id,
        "method": message.method,
        "channel": message.channel,
        "ticket_id": message.ref.get("ticket"),
    }


def _retry_after(headers: Any) -> float:
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                break
    return 1.0


def _without_retries(client: WebClient) -> WebClient:
    """A copy of `client` whose slack_sdk retry handlers are off: the outbox owns retries, and
    slack_sdk would sleep through a 429 while holding the claim."""
    own = copy.copy(client)
    own.retry_handlers = []
    return own
