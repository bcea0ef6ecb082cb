"""`jethro run` as an admin starts it: a real process serving Slack, stopped the way Docker does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from subprocess import PIPE
from urllib.request import urlopen

from tests.bot.cli_driver import jethro_executable, run_jethro
from tests.fakes import slack_events as slack
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.scenarios.world import ENGINEERS

LISTENING = "Jethro is serving Slack on "
LOCAL = "Jethro's local workspace is at "


def environment(fake: FakeSlack, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JETHRO_", "SLACK_"))}
    return base | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "JETHRO_ESCALATION_CHANNEL": ENGINEERS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'jethro.db'}",
    }


def test_run_serves_slack_over_http_until_sigterm(fake_slack: FakeSlack, tmp_path: Path) -> None:
    command = [jethro_executable(), "run", "--http", "--port", "0", "--host", "127.0.0.1"]
    env = environment(fake_slack, tmp_path)
    with subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=PIPE, stderr=PIPE, text=True
    ) as bot:
        try:
            assert bot.stdout is not None
            line = bot.stdout.readline()
            assert line.startswith(LISTENING), line
            events = line.removeprefix(LISTENING).strip()

            with urlopen(events.replace("/slack/events", "/healthz"), timeout=5) as response:
                health = json.loads(response.read())
            reply = slack.post(events, slack.message_im("my vpn keeps dropping"), SIGNING_SECRET)
            [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)

            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=10) == 0
        finally:
            bot.kill()
    assert health["ok"] is True and health["database"] is True and health["articles"] > 10
    assert reply.status == 200
    assert answer.args["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"


def test_run_names_the_missing_settings_when_only_some_are_set(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'j.db'}", "SLACK_BOT_TOKEN": BOT_TOKEN}

    run = run_jethro("run", "--http", env=env)

    assert run.code == 2
    for name in ("SLACK_SIGNING_SECRET", "JETHRO_ESCALATION_CHANNEL"):
        assert name in run.err
    assert "--local" in run.err


def serve_local(command: list[str], env: dict[str, str], cwd: Path) -> tuple[str, list[str], str]:
    """Start `jethro run` for the local workspace; its address, what it printed, the page."""
    with subprocess.Popen(command, env=env, cwd=cwd, stdout=PIPE, stderr=PIPE, text=True) as bot:
        try:
            assert bot.stdout is not None
            line = bot.stdout.readline()
            assert line.startswith(LOCAL), line + (bot.stderr.read() if bot.stderr else "")
            page = line.removeprefix(LOCAL).strip()
            told = [bot.stdout.readline(), bot.stdout.readline()]
            with urlopen(page, timeout=5) as response:
                html = response.read().decode()

            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=10) == 0
        finally:
            bot.kill()
    return page, told, html


def test_run_without_slack_settings_serves_the_local_workspace(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JETHRO_", "SLACK_"))}
    env = base | {"JETHRO_MATCHER": "lexical"}

    page, told, html = serve_local([jethro_executable(), "run", "--port", "0"], env, tmp_path)

    assert page.startswith("http://127.0.0.1:")
    assert "You are" in html and "# engineers" in html
    assert "SLACK_BOT_TOKEN" in told[1]


def test_run_local_serves_the_workspace_even_with_slack_set_up(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = environment(fake_slack, tmp_path) | {"JETHRO_MATCHER": "lexical"}
    command = [jethro_executable(), "run", "--local", "--port", "0"]

    _, _, html = serve_local(command, env, tmp_path)

    assert "Local workspace" in html and f"at={ENGINEERS}" in html  # its channel id, kept
    assert fake_slack.calls() == []  # the real Slack (here, its fake) is never called


def test_run_names_a_token_slack_refuses(fake_slack: FakeSlack, tmp_path: Path) -> None:
    fake_slack.error_next("auth.test", "invalid_auth")

    run = run_jethro("run", "--http", "--port", "0", env=environment(fake_slack, tmp_path))

    assert run.code == 1
    assert "Slack refused SLACK_BOT_TOKEN" in run.err and "invalid_auth" in run.err


def test_run_uses_socket_mode_when_an_app_token_is_set(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = environment(fake_slack, tmp_path) | {"SLACK_APP_TOKEN": "xapp-1-A0PNCHHK2-1-fake"}
    fake_slack.error_next("apps.connections.open", "not_allowed_token_type")

    run = run_jethro("run", env=env)

    [opened] = fake_slack.calls("apps.connections.open")
    assert opened.token == "xapp-1-A0PNCHHK2-1-fake"
    assert run.code == 1
    assert "SLACK_APP_TOKEN" in run.err and "not_allowed_token_type" in run.err
