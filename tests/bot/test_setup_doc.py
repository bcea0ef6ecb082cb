"""`docs/slack-setup.md` tells an admin only what is true: commands, options, settings, scopes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import yaml

from bot.cli import main
from bot.config import SETTINGS

ROOT = Path(__file__).parents[2]
GUIDE = (ROOT / "docs" / "slack-setup.md").read_text(encoding="utf-8")
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
SLACKS_OWN_COMMANDS = {"/invite"}


def command(path: list[str]) -> click.Command | None:
    found: click.Command | None = main
    for name in path:
        if not isinstance(found, click.Group):
            return None
        found = found.commands.get(name)
    return found


def test_every_jethro_command_and_option_in_the_guide_exists() -> None:
    uses = re.findall(r"`\$? ?jethro ([a-zA-Z_$ -]+?)((?: --?[a-z-]+(?: [^`-][^` ]*)?)*)`", GUIDE)
    uses += re.findall(r"^\$ jethro ([a-z ]+?)((?: --?[a-z-]+(?: [^-\s]\S*)?)*)$", GUIDE, re.M)
    assert len(uses) >= 8

    for words, options in uses:
        path = [w for w in words.split() if not w.startswith("$")]
        cmd = command(path)
        while cmd is None and path:  # `jethro kb lint $JETHRO_KB_DIR`: trailing arguments
            path = path[:-1]
            cmd = command(path)
        assert cmd is not None and path, f"jethro {words}"
        known = {opt for param in cmd.params for opt in getattr(param, "opts", [])}
        for option in re.findall(r"--?[a-z-]+", options):
            assert option in known | {"--help"}, f"jethro {words} {option}"
    for option in re.findall(r"`(--[a-z-]+)`", GUIDE):
        run = command(["run"])
        assert run is not None and option in {o for p in run.params for o in getattr(p, "opts", [])}


def test_every_setting_named_in_the_guide_is_a_real_setting() -> None:
    named = set(re.findall(r"\b((?:SLACK|JETHRO)_[A-Z_]+|DATABASE_URL)\b", GUIDE))

    assert named <= {setting.name for setting in SETTINGS}
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"} <= named
    assert {"JETHRO_ESCALATION_CHANNEL", "JETHRO_ADMINS"} <= named


def test_the_guide_lists_exactly_the_manifests_scopes_and_command() -> None:
    table = GUIDE.split("| Slack asks to... |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`([a-z_]+:[a-z_.]+|commands)`", table))
    commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}

    assert listed == set(MANIFEST["oauth_config"]["scopes"]["bot"])
    typed = set(re.findall(r"`(/[a-z]+)[ `]", GUIDE)) - SLACKS_OWN_COMMANDS
    assert typed == commands
