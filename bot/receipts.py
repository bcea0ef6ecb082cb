"""Receipts: each Slack request that needs an answer is stored before it is acknowledged.

Bolt acknowledges an event before its listener works (`process_before_response` off), so a
process killed in between would lose the report: Slack got its 200 and never sends it again. So a
global middleware, which runs in the request's thread before any listener can ack, stores the
raw request under its dedup key (one small insert; requests arriving together share one
transaction, `escalation.group_commit`). The work deletes the receipt in its own
transaction (`escalation.inbox.claim_event`); when the listener returns, whatever is left (a
request that needed nothing after all) is dropped. A receipt still there when its lease runs out
(its process died, or the database went away mid-way) is replayed by `ReceiptReplayer`, on any
replica, through the same app and listeners, as Socket Mode delivers requests: already verified,
so an old signature is not checked again. The work's key makes a replay of finished work a no-op.
When the receipt cannot be stored (the database is away) the request is refused with 503, so
Slack sends the event again later, instead of acknowledged and lost.

Receipted: message and `app_mention` events, `/triage` and the *Triage this* shortcut. Not:
button clicks, menus and modal submissions. Their `trigger_id` expires within 3 seconds and a
replay could not open the modal they ask for; the person sees at once that the click did nothing
and clicks again; Slack never resends them; and their effects are state changes guarded by the
state they were read in, not reports waiting for an answer. App Home renders on the next open.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler
from slack_bolt.middleware import Middleware
from slack_bolt.request.internals import build_context
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.listeners.commands import COMMAND, SHORTCUT, invocation_key
from bot.listeners.messages import REPORT_SUBTYPES, event_key
from escalation.clock import Clock
from escalation.db import session
from escalation.group_commit import GroupCommit
from escalation.inbox import (
    GIVE_UP_AFTER,
    Receipt,
    claim_receipts,
    drop_receipt,
    receipt_dropped_here,
    receipt_kept,
    store_receipts,
)
from escalation.models import SlackReceipt
from escalation.sqlite_writers import urgent_writes
from escalation.worker import PollingWorker

log = logging.getLogger(__name__)

KEY = "jethro_receipt"
"""Context entries: the request's receipt key, whether it is a replay, and whether to keep it."""
REPLAYED = "jethro_replayed"
KEEP = "jethro_keep_receipt"
ANSWERED_EVENTS = frozenset({"message", "app_mention"})
BATCH = 20
REPLAY_POLL_SECONDS = 2.0
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def slack_request(body: str, headers: dict[str, Any], **options: Any) -> BoltRequest:
    """A `BoltRequest` of a raw body, with Bolt 1.30's form parsing corrected.

    Bolt reads any form body containing the word "payload" as an interactive payload, so
    `/triage the payload service is down` would reach no listener (its body parses to `{}`).
    A form with no `payload` field is read as the plain form it is.
    """
    request = BoltRequest(body=body, headers=headers, **options)
    if "payload" in body and (request.content_type or "").startswith(FORM):
        fields = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" not in fields:
            request.body = fields
            request.context = build_context(request.context, fields)
    return request


def receipt_key(body: dict[str, Any]) -> str | None:
    """The dedup key of a request that needs an answer, or None for one that does not.

    The same key the listeners claim when they do the work, so a replay of finished work finds
    it claimed.
    """
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        if event.get("type") not in ANSWERED_EVENTS or event.get("bot_id"):
            return None
        if event.get("subtype") not in REPORT_SUBTYPES or not body.get("event_id"):
            return None
        overheard = event.get("channel_type") != "im" and not event.get("thread_ts")
        if event["type"] == "message" and overheard:
            return None  # a channel message: only replies in a report's thread concern the bot
        return event_key(body)
    if body.get("command") == COMMAND:
        return invocation_key("command", body)
    if body.get("type") == "message_action" and body.get("callback_id") == SHORTCUT:
        return invocation_key("shortcut", body)
    return None


class InHand:
    """Receipts this process has stored or is replaying and not yet finished: queued behind a
    burst, their lease can run out while the work is still coming. The replayer of this
    process then leaves them alone (its claim just renews their lease) instead of queueing the
    same work twice, which made an overload worse. An entry older than `STALE` is not trusted
    (a request no listener took never reports back)."""

    STALE = 600.0

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._since[key] = time.monotonic()

    def done(self, key: str) -> None:
        with self._lock:
            self._since.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            since = self._since.get(str(key))
            if since is not None and time.monotonic() - since > self.STALE:
                del self._since[str(key)]
                return False
            return since is not None


def keep_for_replay(context: BoltContext) -> None:
    """The listener failed for want of the database: leave its receipt for a replay."""
    context[KEEP] = True


class ReceiptMiddleware(Middleware):
    """Stores the receipt before the chain goes on to the listener (and so before its ack)."""

    def __init__(self, engine: Engine, clock: Clock, owner: str, in_hand: InHand) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner
        self.in_hand = in_hand
        self._group = GroupCommit[dict[str, Any]](self._write)

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        if req.context.get(REPLAYED):
            return next()
        key = receipt_key(req.body)
        if key is None:
            return next()
        try:
            self._store(key, req)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("refused Slack request %s, Slack will send it again: %s", key, exc)
            return BoltResponse(status=503, body={"error": "cannot store the request now"})
        req.context[KEY] = key
        self.in_hand.add(key)
        return next()

    def _store(self, key: str, req: BoltRequest) -> None:
        # Socket Mode hands over a parsed body: stored as JSON, the way it would be replayed.
        body = req.raw_body or json.dumps(req.body)
        content_type = (req.content_type or JSON) if req.raw_body else JSON
        receipt = {"key": key, "body": body, "content_type": content_type[:64]}
        self._group.submit(receipt | {"owner": self.owner, "now": self.clock.now()})

    def _write(self, receipts: list[dict[str, Any]]) -> None:
        """Requests arriving together are stored in one transaction (`GroupCommit`), before
        the work waiting for SQLite's write lock: an acknowledgement waits for this."""
        with urgent_writes(), self.engine.begin() as connection:
            store_receipts(connection, receipts)


class ReceiptCompletion(ListenerCompletionHandler):
    """After a listener returns: drop its receipt, unless it asked to keep it for a replay."""

    def __init__(self, engine: Engine, in_hand: InHand) -> None:
        self.engine = engine
        self.in_hand = in_hand

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        key = request.context.get(KEY)
        if key:
            self.in_hand.done(key)
        if not key or request.context.get(KEEP) or receipt_dropped_here(key):
            return
        try:
            with self.engine.begin() as connection:
                if receipt_kept(connection, key):
                    drop_receipt(connection, key)
        except sa.exc.SQLAlchemyError as exc:  # replayed later; its claimed key makes it a no-op
            log.warning("could not drop the receipt of %s: %s", key, exc)


class ReceiptReplayer(PollingWorker):
    """Replays receipts whose lease ran out through `app`; at its first tick, also those left by
    the process it replaces (received before it started, by another owner)."""

    name = "jethro-receipts"

    def __init__(
        self,
        app: App,
        engine: Engine,
        clock: Clock,
        owner: str,
        poll_seconds: float = REPLAY_POLL_SECONDS,
        in_hand: InHand | None = None,
    ) -> None:
        super().__init__(poll_seconds)
        self.in_hand = in_hand or InHand()
        self.app = app
        self.engine = engine
        self.clock = clock
        self.owner = owner
        self.started_at = clock.now()
        self._took_over = False

    def tick(self) -> bool:
        receipts = self._claim()
        self._took_over = True
        for receipt in receipts:
            if receipt.key in self.in_hand:
                log.info("Slack request %s is still queued here; its lease is renewed", receipt.key)
                continue
            self.replay(receipt)
        return len(receipts) == BATCH

    def replay(self, receipt: Receipt) -> None:
        log.warning(
            "handling Slack request %s again (replay %s): its first handling did not finish",
            receipt.key,
            receipt.attempts,
        )
        request = slack_request(
            receipt.body,
            {"content-type": receipt.content_type},
            mode="socket_mode",  # verified when it arrived: the signature's age no longer matters
            context={REPLAYED: True, KEY: receipt.key},
        )
        self.in_hand.add(receipt.key)
        response = self.app.dispatch(request)
        if response.status >= 400:
            log.warning("replay of %s answered %s", receipt.key, response.status)

    def _claim(self) -> list[Receipt]:
        if self._took_over and not self._anything_due():
            return []
        with session(self.engine) as s:
            if self.engine.dialect.name == "sqlite":
                s.connection().exec_driver_sql("BEGIN IMMEDIATE")
            return claim_receipts(
                s,
                owner=self.owner,
                now=self.clock.now(),
                limit=BATCH,
                taking_over=None if self._took_over else self.started_at,
            )

    def _anything_due(self) -> bool:
        """A read first: nearly always nothing is due, and a claim takes SQLite's write lock."""
        with self.engine.connect() as connection:
            now = self.clock.now()
            params = {"now": now, "given_up": now - GIVE_UP_AFTER}
            return connection.execute(_ANY_DUE, params).first() is not None


_ANY_DUE = (
    sa.select(col(SlackReceipt.key))
    .where(
        sa.or_(
            col(SlackReceipt.claimed_until) <= sa.bindparam("now"),
            col(SlackReceipt.received_at) < sa.bindparam("given_up"),
        )
    )
    .limit(1)
)


def install(app: App, engine: Engine, clock: Clock, owner: str) -> ReceiptReplayer:
    """Store receipts on `app` and drop them after its listeners; the replayer is not started."""
    in_hand = InHand()
    app.use(ReceiptMiddleware(engine, clock, owner, in_hand))
    app.listener_runner.listener_completion_handler = ReceiptCompletion(engine, in_hand)
    return ReceiptReplayer(app, engine, clock, owner, in_hand=in_hand)
