"""Logs as an operator reads them: ids to follow one report through, and never a token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.logs import configure_logging
from bot.server import EVENTS_PATH
from tests.bot.cli_driver import run_jethro
from tests.fakes import slack_events as slack
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import ENGINEERS, Employee, Jethro, copy_of_sample_kb

UNKNOWN = "the quantum flux capacitor on floor 3 is humming"
TOKENS = ("xoxb-1111-2222-abcDEF", "xapp-1-A0AB-123-fff", "xoxp-9-9-secret", "xoxe-1-refresh")


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """Everything logged during the test, as `jethro` writes it; the root logger restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def jethro(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[Jethro]:
    bot = Jethro(fake_slack, database_url, copy_of_sample_kb(tmp_path))
    try:
        yield bot
    finally:
        bot.close()


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_tokens_are_masked_in_messages_arguments_extra_fields_and_tracebacks(
    logged: io.StringIO, fmt: str
) -> None:
    configure_logging("INFO", fmt, logged)
    log = logging.getLogger("jethro.test")

    log.warning("Slack said no to %s", TOKENS[0], extra={"channel": f"Bearer {TOKENS[1]}"})
    try:
        raise RuntimeError(f"refused {TOKENS[2]} and {TOKENS[3]}")
    except RuntimeError:
        log.exception("sending failed")

    written = logged.getvalue()
    assert not [token for token in TOKENS if token in written], written
    assert "xoxb-***" in written and "xapp-***" in written and "xoxp-***" in written
    assert "RuntimeError: refused" in written, "the traceback is kept, minus the token"


def test_a_report_can_be_followed_through_the_log_by_its_event_ticket_and_channel(
    jethro: Jethro, logged: io.StringIO
) -> None:
    configure_logging("INFO", "json", logged)
    payload = slack.message_im(UNKNOWN)
    Employee(jethro).sent(payload)
    jethro.settle()

    lines = json_lines(logged)
    handled = next(line for line in lines if line["message"].startswith("report handled"))
    opened = next(line for line in lines if line["message"].startswith("ticket #1 opened"))
    posted = next(
        line for line in lines if "sent" in line["message"] and line["channel"] == ENGINEERS
    )
    assert payload.data["event_id"] in handled["event_id"]
    assert (handled["ticket_id"], handled["channel"]) == (1, slack.DM_CHANNEL)
    assert (opened["ticket_id"], opened["event_id"]) == (1, handled["event_id"])
    assert (posted["ticket_id"], posted["logger"]) == (1, "escalation.outbox")
    assert {"time", "level", "logger", "message", "ticket_id", "event_id", "channel"} <= set(
        lines[0]
    ), "every line has the same fields"


def test_a_forged_request_is_refused_without_its_body_reaching_the_log(
    jethro: Jethro, logged: io.StringIO
) -> None:
    configure_logging("DEBUG", "text", logged)
    payload = slack.message_im(f"the launch codes are 0000, and {TOKENS[0]}")

    reply = slack.post(jethro.url + EVENTS_PATH, payload, "not-the-signing-secret")

    assert reply.status == 401
    written = logged.getvalue()
    assert "refused a request with a bad or stale signature" in written
    assert "launch codes" not in written and "xoxb-1111" not in written
    assert jethro.conversations() == []


def test_the_log_format_setting_is_checked_and_json_lines_come_out(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'jethro.db'}"
    env = {"DATABASE_URL": database, "JETHRO_LOG_LEVEL": "INFO", "JETHRO_LOG_FORMAT": "json"}

    upgraded = run_jethro("db", "upgrade", env=env)
    refused = run_jethro("config", env={"JETHRO_LOG_FORMAT": "yaml"})

    assert upgraded.code == 0, upgraded.err
    lines = [json.loads(line) for line in upgraded.err.splitlines()]
    assert lines and all(line["level"] == "INFO" for line in lines)
    assert any(line["logger"].startswith("alembic") for line in lines)
    assert refused.code == 2
    assert "JETHRO_LOG_FORMAT='yaml' is invalid" in refused.err and "text or json" in refused.err
