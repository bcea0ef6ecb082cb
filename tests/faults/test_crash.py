"""The bot killed after acknowledging a request and before answering it: the answer still comes,
once, from the process that replaces it or from another replica."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import PIPE

import sqlalchemy as sa

from bot.receipts import receipt_key
from escalation.db import make_engine
from escalation.inbox import RECEIPT_LEASE, store_receipt
from tests.bot.cli_driver import jethro_executable
from tests.fakes import slack_events as slack
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import ENGINEERS, Jethro, wait_until

LISTENING = "Jethro is serving Slack on "
STALLED = "stalled after the ack"
STALLING_RUN = f"""
import sys, threading
from bot import answered
from bot.cli import main

claim = answered.claim_events

def claim_and_stall(connection, keys, now):
    claim(connection, keys, now)  # the answer's transaction is open, its key claimed, no commit
    print({STALLED!r}, flush=True)
    threading.Event().wait()

answered.claim_events = claim_and_stall
main.main(args=sys.argv[1:], prog_name="jethro")
"""
RUN = ("run", "--http", "--port", "0", "--host", "127.0.0.1")
Popen = subprocess.Popen[str]


def answers(fake: FakeSlack) -> int:
    return len([c for c in fake.calls("chat.postMessage") if c.ok])


def left_by_a_dead_process(jethro: Jethro, payload: slack.Payload) -> None:
    """What a process killed right after acknowledging `payload` leaves: its receipt."""
    key = receipt_key(payload.data)
    assert key is not None
    with jethro.engine.begin() as connection:
        store_receipt(
            connection,
            key=key,
            body=payload.body.decode(),
            content_type=payload.content_type,
            owner="jethro-killed",
            now=jethro.clock.now(),
        )


def test_a_report_a_dead_replica_acknowledged_is_answered_after_its_lease_once(
    jethro: Jethro,
) -> None:
    jethro.time_passes(seconds=1)  # after this replica started: not the one it replaced
    payload = slack.message_im("my vpn keeps dropping")
    left_by_a_dead_process(jethro, payload)
    jethro.time_passes(seconds=RECEIPT_LEASE.seconds - 1)
    jethro.settle()
    assert answers(jethro.slack) == 0, "replayed while the other replica might still be on it"

    jethro.time_passes(seconds=2)
    [answer] = jethro.slack.wait_for("chat.postMessage")
    jethro.settle()
    jethro.driver.retry(payload, attempt=1)  # Slack, unsure, sends it again
    jethro.settle()

    assert answer.args["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"
    assert answers(jethro.slack) == 1 and jethro.rows("slack_receipt") == 0


def test_a_restarted_bot_at_once_answers_what_the_killed_one_acknowledged(jethro: Jethro) -> None:
    jethro.time_passes(seconds=1)
    dm = slack.message_im("my vpn keeps dropping")
    command = slack.slash_command("the quantum flux capacitor is humming", user="U0FLUX")
    left_by_a_dead_process(jethro, dm)
    left_by_a_dead_process(jethro, command)

    jethro.restart()
    jethro.slack.wait_for("chat.postMessage", 3)  # the answer; the ticket and the word to U0FLUX
    jethro.settle()

    assert answers(jethro.slack) == 3 and len(jethro.tickets()) == 1
    assert {c.source for c in jethro.conversations()} == {"dm", "command"}
    assert jethro.rows("slack_receipt") == 0


def environment(fake: FakeSlack, database_url: str, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JETHRO_", "SLACK_"))}
    return base | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "JETHRO_ESCALATION_CHANNEL": ENGINEERS,
        "JETHRO_MATCHER": "lexical",
        "DATABASE_URL": database_url,
    }


@contextmanager
def running(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[tuple[Popen, str]]:
    """A `jethro run` process and the URL it serves Slack on; killed at the end if still up."""
    with subprocess.Popen(command, env=env, cwd=cwd, stdout=PIPE, stderr=PIPE, text=True) as bot:
        try:
            assert bot.stdout is not None
            line = bot.stdout.readline()
            assert line.startswith(LISTENING), line + (bot.stderr.read() if bot.stderr else "")
            yield bot, line.removeprefix(LISTENING).strip()
        finally:
            bot.kill()


def test_sigkill_after_the_ack_and_a_restart_answer_the_report_once(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    env = environment(fake_slack, database_url, tmp_path)
    payload = slack.message_im("my vpn keeps dropping")
    with running([sys.executable, "-c", STALLING_RUN, *RUN], env, tmp_path) as (bot, url):
        acked = slack.post(url, payload, SIGNING_SECRET)
        assert next_line(bot, timeout=20) == STALLED
        bot.kill()
        bot.wait(timeout=10)
    unanswered = answers(fake_slack)

    with running([jethro_executable(), *RUN], env, tmp_path) as (bot, url):
        [answer] = fake_slack.wait_for("chat.postMessage", timeout=20)
        retried = slack.SlackDriver(url, SIGNING_SECRET).retry(payload, attempt=1)
        wait_until(lambda: all_done(database_url), "receipts or messages left", timeout=20)
        bot.terminate()
        assert bot.wait(timeout=10) == 0

    assert (acked.status, retried.status, unanswered) == (200, 200, 0)
    assert answer.args["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"
    assert answers(fake_slack) == 1


def next_line(bot: Popen, timeout: float) -> str:
    """The process's next line of output; "" if none comes within `timeout` seconds."""
    assert bot.stdout is not None
    ready, _, _ = select.select([bot.stdout], [], [], timeout)
    return bot.stdout.readline().strip() if ready else ""


def all_done(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            receipts = connection.execute(sa.text("SELECT count(*) FROM slack_receipt")).scalar()
            unsent = connection.execute(
                sa.text("SELECT count(*) FROM outbox_message WHERE status = 'pending'")
            ).scalar()
        return receipts == 0 and unsent == 0
    finally:
        engine.dispose()
