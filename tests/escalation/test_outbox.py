"""The outbox against the fake Slack Web API, on SQLite and PostgreSQL: nothing dropped, nothing
sent twice, Slack's limits honoured, all by advancing a clock instead of sleeping."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from escalation.clock import FixedClock
from escalation.conversations import conversation, log_turn
from escalation.db import session
from escalation.models import OutboxMessage, OutboxStatus, Role
from escalation.outbox import (
    BACKOFF_CAP,
    GIVE_UP_AFTER,
    KEEP_SENT,
    OutboxSender,
    OutboxWorker,
    dead,
    enqueue,
    pending,
    purge,
    register_hook,
)
from tests.dbfixtures import run_at_once
from tests.fakes.fixtures import BOT_TOKEN
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).parents[2]


@pytest.fixture
def sender(engine: Engine, slack_client: WebClient, clock: FixedClock) -> OutboxSender:
    return OutboxSender(engine, slack_client, clock, worker_id="test-worker")


def post(engine: Engine, clock: FixedClock, channel: str, text: str, **kwargs: Any) -> int | None:
    """Enqueue a chat.postMessage in its own transaction; its id, or None if the key was seen."""
    with session(engine) as s:
        args = {"channel": channel, "text": text}
        return enqueue(s, method="chat.postMessage", args=args, clock=clock, **kwargs)


def texts(fake: FakeSlack, channel: str | None = None) -> list[str]:
    return [str(m["text"]) for m in fake.posted(channel)]


def stored(engine: Engine, message_id: int | None) -> OutboxMessage:
    with session(engine) as s:
        message = s.get(OutboxMessage, message_id)
        assert message is not None
        return message


def test_a_message_is_sent_once(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    message_id = post(engine, clock, "C_ENG", "ticket #1 opened")

    assert sender.send_due() == 1
    assert sender.send_due() == 0

    assert texts(fake_slack, "C_ENG") == ["ticket #1 opened"]
    sent = stored(engine, message_id)
    assert sent.status is OutboxStatus.SENT
    assert sent.result["ts"] == fake_slack.posted("C_ENG")[0]["ts"]
    with session(engine) as s:
        assert pending(s) == []


def test_nothing_is_sent_when_the_state_change_is_rolled_back(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    with pytest.raises(RuntimeError), session(engine) as s:
        enqueue(s, method="chat.postMessage", args={"channel": "C", "text": "x"}, clock=clock)
        raise RuntimeError("the ticket could not be opened")

    assert sender.send_due() == 0
    assert fake_slack.posted() == []


def test_a_rate_limited_message_waits_for_retry_after_and_not_less(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=2)
    post(engine, clock, "C_ENG", "hello")

    sender.send_due()
    clock.advance(seconds=1.9)
    sender.send_due()

    assert texts(fake_slack) == []
    assert len(fake_slack.calls("chat.postMessage")) == 1
    clock.advance(seconds=0.1)
    assert sender.send_due() == 1
    assert texts(fake_slack) == ["hello"]


def test_server_errors_are_retried_with_back_off_until_sent(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500, times=3)
    message_id = post(engine, clock, "C_ENG", "hello")

    sender.send_due()
    assert sender.send_due() == 0, "a failed message is not retried at once"
    for _ in range(3):
        clock.advance(BACKOFF_CAP)
        sender.send_due()

    assert texts(fake_slack) == ["hello"]
    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [500, 500, 500, 200]
    assert stored(engine, message_id).attempts == 4


def test_an_unreachable_slack_keeps_the_message_and_retries_later(
    engine: Engine, clock: FixedClock
) -> None:
    nowhere = WebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:1/api/", timeout=5)
    message_id = post(engine, clock, "C_ENG", "hello")

    OutboxSender(engine, nowhere, clock).send_due()

    kept = stored(engine, message_id)
    assert kept.status is OutboxStatus.PENDING
    assert kept.next_attempt_at > clock.now()
    assert kept.last_error and "refused" in kept.last_error.lower()


def test_a_timed_out_call_is_tried_again(
    engine: Engine, clock: FixedClock, fake_slack: FakeSlack
) -> None:
    """Slack may have posted a message whose answer never came: sending it again is the price
    of never losing one (at least once)."""
    impatient = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url, timeout=1)
    fake_slack.delay_next("chat.postMessage", 3)
    message_id = post(engine, clock, "C_ENG", "hello")
    sender = OutboxSender(engine, impatient, clock)

    sender.send_due()
    assert stored(engine, message_id).status is OutboxStatus.PENDING
    clock.advance(BACKOFF_CAP)
    sender.send_due()

    assert stored(engine, message_id).status is OutboxStatus.SENT
    assert len(fake_slack.calls("chat.postMessage")) == 2


def test_transient_failures_give_up_after_hours_and_say_so(
    engine: Engine,
    clock: FixedClock,
    sender: OutboxSender,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=503, times=1000)
    message_id = post(engine, clock, "C_ENG", "hello")

    for _ in range(int(GIVE_UP_AFTER / BACKOFF_CAP) + 10):
        sender.send_due()
        clock.advance(BACKOFF_CAP)

    with session(engine) as s:
        assert [m.id for m in dead(s)] == [message_id]
    assert f"outbox message {message_id}" in caplog.text
    assert "still failing after" in caplog.text


@pytest.mark.parametrize("error", ["channel_not_found", "msg_too_long", "invalid_blocks"])
def test_a_message_slack_refuses_is_dead_at_once_and_logged(
    engine: Engine,
    clock: FixedClock,
    sender: OutboxSender,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    error: str,
) -> None:
    fake_slack.error_next("chat.postMessage", error)
    message_id = post(engine, clock, "C_GONE", "hello")

    sender.send_due()
    clock.advance(BACKOFF_CAP)
    sender.send_due()

    assert len(fake_slack.calls("chat.postMessage")) == 1
    with session(engine) as s:
        assert [(m.id, m.last_error) for m in dead(s)] == [(message_id, error)]
        assert pending(s) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"outbox message {message_id}" in e and error in e for e in errors), errors


def test_a_revoked_token_keeps_messages_until_an_operator_fixes_it(
    engine: Engine,
    clock: FixedClock,
    sender: OutboxSender,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.error_next("chat.postMessage", "token_revoked", times=2)
    post(engine, clock, "C_ENG", "hello")

    for _ in range(3):
        sender.send_due()
        clock.advance(BACKOFF_CAP)

    assert texts(fake_slack) == ["hello"]
    loud = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(loud) == 2 and all("SLACK_BOT_TOKEN" in r.getMessage() for r in loud)
    assert BOT_TOKEN not in caplog.text


def test_an_idempotency_key_enqueues_once(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    first = post(engine, clock, "C_ENG", "ticket #7 opened", key="ticket-7-opened")
    second = post(engine, clock, "C_ENG", "ticket #7 opened", key="ticket-7-opened")
    sender.send_due()
    third = post(engine, clock, "C_ENG", "ticket #7 opened", key="ticket-7-opened")

    assert first is not None and second is None and third is None
    assert texts(fake_slack) == ["ticket #7 opened"]


def test_the_same_key_enqueued_at_once_by_two_replicas_is_kept_once(
    engine: Engine, clock: FixedClock
) -> None:
    results = run_at_once(
        lambda: post(engine, clock, "C_ENG", "a", key="k"),
        lambda: post(engine, clock, "C_ENG", "b", key="k"),
    )

    assert sorted(r is None for r in results) == [False, True], results
    with session(engine) as s:
        assert len(pending(s)) == 1


def test_a_channel_gets_one_message_a_second_while_other_channels_go_on(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    for text in ("eng 1", "eng 2", "eng 3"):
        post(engine, clock, "C_ENG", text)
    post(engine, clock, "C_OPS", "ops 1")

    sender.send_due()
    assert sorted(texts(fake_slack)) == ["eng 1", "ops 1"], "one per channel, sent together"

    clock.advance(seconds=0.9)
    assert sender.send_due() == 0
    clock.advance(seconds=0.1)
    sender.send_due()
    clock.advance(seconds=1)
    sender.send_due()

    assert texts(fake_slack, "C_ENG") == ["eng 1", "eng 2", "eng 3"]
    eng_calls = fake_slack.calls("chat.postMessage")
    assert [c.args["text"] for c in eng_calls][2:] == ["eng 2", "eng 3"]


def test_a_message_held_back_by_a_rate_limit_is_not_overtaken_in_its_channel(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    post(engine, clock, "C_ENG", "first")
    post(engine, clock, "C_ENG", "second")

    sender.send_due()
    clock.advance(seconds=10)
    sender.send_due()
    assert texts(fake_slack) == []

    clock.advance(seconds=20)
    sender.send_due()
    clock.advance(seconds=1)
    sender.send_due()
    assert texts(fake_slack) == ["first", "second"]


def test_two_senders_at_once_never_send_a_message_twice(
    engine: Engine, clock: FixedClock, slack_client: WebClient, fake_slack: FakeSlack
) -> None:
    wanted = [f"{channel} {n}" for n in range(4) for channel in ("C1", "C2", "C3")]
    for text in wanted:
        post(engine, clock, text.split()[0], text)
    senders = [
        OutboxSender(engine, slack_client, clock, worker_id=name, channel_interval=0)
        for name in ("replica-a", "replica-b")
    ]

    handled = run_at_once(*(s.send_due for s in senders))
    handled += run_at_once(*(s.send_due for s in senders))

    assert sum(handled) == len(wanted), handled
    assert sorted(texts(fake_slack)) == sorted(wanted)
    for channel in ("C1", "C2", "C3"):
        assert texts(fake_slack, channel) == [t for t in wanted if t.startswith(channel)]


CLAIM_THEN_HANG = """
import sys
from datetime import datetime
from slack_sdk import WebClient
from escalation.clock import FixedClock
from escalation.db import make_engine
from escalation.outbox import OutboxSender
url, api_url, at = sys.argv[1:]
clock = FixedClock(datetime.fromisoformat(at))
client = WebClient(token="xoxb-doomed", base_url=api_url, timeout=5)
sender = OutboxSender(make_engine(url), client, clock, worker_id="doomed", lease_seconds=60)
print([m.id for m in sender.claim()], flush=True)
sys.stdin.readline()
"""


def test_a_worker_killed_holding_a_claim_loses_it_when_the_lease_runs_out(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    message_id = post(engine, clock, "C_ENG", "survives")
    url = engine.url.render_as_string(hide_password=False)
    with doomed_worker(url, fake_slack.api_url, clock) as claimed:
        assert claimed == f"[{message_id}]"

    assert sender.send_due() == 0, "the dead worker's lease still holds"
    clock.advance(seconds=59)
    assert sender.send_due() == 0
    clock.advance(seconds=1)
    assert sender.send_due() == 1
    assert texts(fake_slack) == ["survives"]


def test_old_sent_messages_are_purged_but_unsent_and_dead_ones_stay(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    post(engine, clock, "C_ENG", "sent long ago")
    sender.send_due()
    fake_slack.error_next("chat.postMessage", "channel_not_found")
    dead_id = post(engine, clock, "C_GONE", "dead")
    sender.send_due()
    fake_slack.fail_next("chat.postMessage", status=503)
    pending_id = post(engine, clock, "C_OPS", "still trying")
    sender.send_due()
    clock.advance(KEEP_SENT, seconds=1)

    with session(engine) as s:
        assert purge(s, sent_before=clock.now() - KEEP_SENT) == 1
    with session(engine) as s:
        assert [m.id for m in dead(s)] == [dead_id]
        assert [m.id for m in pending(s)] == [pending_id]


@pytest.fixture
def hook_name() -> str:
    return f"test-hook-{uuid4().hex}"


def test_a_hook_runs_in_the_transaction_that_marks_the_message_sent(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack, hook_name: str
) -> None:
    seen_elsewhere: list[str] = []

    def remember_ts(s: Session, message: OutboxMessage, data: dict[str, Any]) -> None:
        with engine.connect() as other:
            query = sa.text("SELECT status FROM outbox_message WHERE id = :id")
            seen_elsewhere.append(other.execute(query, {"id": message.id}).scalar_one())
        log_turn(
            s,
            conversation_key=message.ref["conversation"],
            user_id="bot",
            role=Role.BOT,
            text=f"escalated as {data['ts']}",
            clock=clock,
        )

    register_hook(hook_name, remember_ts)
    post(engine, clock, "C_ENG", "ticket", after_sent=hook_name, ref={"conversation": "D1:1.0"})

    sender.send_due()

    ts = fake_slack.posted("C_ENG")[0]["ts"]
    with session(engine) as s:
        assert [t.text for t in conversation(s, "D1:1.0")] == [f"escalated as {ts}"]
    assert seen_elsewhere == ["pending"], "committed together with the hook's changes"


def test_a_failing_hook_is_rolled_back_and_logged_but_the_message_is_not_sent_again(
    engine: Engine,
    clock: FixedClock,
    sender: OutboxSender,
    fake_slack: FakeSlack,
    hook_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(s: Session, message: OutboxMessage, data: dict[str, Any]) -> None:
        log_turn(s, conversation_key="D1", user_id="bot", role=Role.BOT, text="x", clock=clock)
        raise KeyError("ticket_id")

    register_hook(hook_name, broken)
    message_id = post(engine, clock, "C_ENG", "ticket", after_sent=hook_name)

    sender.send_due()
    clock.advance(BACKOFF_CAP)
    sender.send_due()

    assert texts(fake_slack) == ["ticket"]
    message = stored(engine, message_id)
    assert message.status is OutboxStatus.SENT
    assert f"hook {hook_name!r} failed" in (message.last_error or "")
    with session(engine) as s:
        assert conversation(s, "D1") == []
    assert f"hook {hook_name!r} failed" in caplog.text


def test_an_unknown_hook_is_refused_when_enqueuing(engine: Engine, clock: FixedClock) -> None:
    with pytest.raises(ValueError, match="no outbox hook named 'nope'"):
        post(engine, clock, "C_ENG", "x", after_sent="nope")


def test_the_worker_thread_sends_soon_after_a_wake(
    engine: Engine, clock: FixedClock, sender: OutboxSender, fake_slack: FakeSlack
) -> None:
    worker = OutboxWorker(sender, poll_seconds=60)
    worker.start()
    try:
        post(engine, clock, "U_ALICE", "your ticket is #3")
        worker.wake()
        fake_slack.wait_for("chat.postMessage", timeout=10)
    finally:
        worker.stop()

    assert texts(fake_slack) == ["your ticket is #3"]


def test_a_lease_shorter_than_the_client_timeout_is_refused(
    engine: Engine, clock: FixedClock, slack_client: WebClient
) -> None:
    with pytest.raises(ValueError, match="lease_seconds=5 must be longer"):
        OutboxSender(engine, slack_client, clock, lease_seconds=5)


def test_the_callers_client_keeps_its_own_retry_handlers(
    engine: Engine, clock: FixedClock, slack_client: WebClient
) -> None:
    before = list(slack_client.retry_handlers)

    OutboxSender(engine, slack_client, clock)

    assert slack_client.retry_handlers == before


@contextmanager
def doomed_worker(url: str, api_url: str, clock: FixedClock) -> Iterator[str]:
    """A real process that claims the due messages, says which, and is then killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", CLAIM_THEN_HANG, url, api_url, clock.now().isoformat()],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line:
            raise AssertionError(process.communicate(timeout=30))
        yield line
    finally:
        process.kill()
        process.communicate(timeout=30)
