"""`manifest.yml` creates the app Jethro needs: valid for Slack, and no scope more than it uses."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from tests.fakes.slack_spec import SPECS, web_api_scopes

MANIFEST = Path(__file__).parents[2] / "manifest.yml"
SCHEMAS = SPECS / "manifest-schema"
SCHEMA_URL = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
EVENTS_SPEC = SPECS / "events_api.json"
EVENTS_URL = "https://jethro.example.com/slack/events"

PACKAGES = [Path(__file__).parents[2] / name for name in ("bot", "escalation", "knowledge")]
CALLED_BY_BOLT = {"auth.test"}
"""Bolt checks the bot token with auth.test when the app is built."""
COMMANDS_SCOPE = "commands"
CONVERSATION_TYPES_USED = {"conversations.members": frozenset({"channels:read", "groups:read"})}
"""The engineers' channel is a public or private channel, never a DM: no im:read, mpim:read."""
# Scopes the 2020 events spec leaves out: app_mention now needs one; app_home_opened none.
NEWER_EVENT_SCOPES: dict[str, list[str]] = {
    "app_mention": ["app_mentions:read"],
    "app_home_opened": [],
}


@cache
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def validator() -> Draft7Validator:
    """The all-versions schema, its `$ref`s to GitHub served from the local copies."""
    resources = [
        (SCHEMA_URL + path.name, Resource.from_contents(json.loads(path.read_text())))
        for path in (SCHEMAS / "schemas").glob("manifest.schema.*.json")
    ]
    schema = json.loads((SCHEMAS / "manifest.schema.json").read_text())
    return Draft7Validator(schema, registry=Registry().with_resources(resources))


def test_the_manifest_is_valid_for_slack() -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator().iter_errors(manifest())
    ]

    assert errors == []


def test_the_schema_check_catches_a_bad_manifest() -> None:
    broken = {**manifest(), "features": {"shortcuts": [{"name": "Triage this"}]}}

    assert not validator().is_valid(broken)


def web_api_methods_called() -> set[str]:
    """Every Web API method the code calls: queued for the outbox, or on a WebClient."""
    source = "\n".join(p.read_text() for package in PACKAGES for p in package.rglob("*.py"))
    queued = re.findall(r'method="([a-z]+(?:\.[A-Za-z]+)+)"', source)
    direct = re.findall(r"\bclient\.(?!api_call)([a-z]+(?:_[A-Za-z]+)+)\(", source)
    return {*queued, *(name.replace("_", ".") for name in direct), *CALLED_BY_BOLT}


def event_scopes(event: str) -> set[str]:
    if event in NEWER_EVENT_SCOPES:
        return set(NEWER_EVENT_SCOPES[event])
    topics = json.loads(EVENTS_SPEC.read_text())["topics"]
    return set(topics[event.replace("_", ".")]["subscribe"]["x-scopes-required"])


def test_the_code_calls_the_methods_this_test_knows() -> None:
    assert web_api_methods_called() == {
        "auth.test",
        "chat.postEphemeral",
        "chat.postMessage",
        "chat.update",
        "conversations.members",
        "views.open",
        "views.publish",
        "users.info",
    }, "a new Web API method may need a new scope in manifest.yml"


def scopes_used(method: str) -> frozenset[str]:
    """The spec lists every conversation type's scope; Jethro reads only channels' members."""
    if method in CONVERSATION_TYPES_USED:
        return web_api_scopes(method) & CONVERSATION_TYPES_USED[method]
    return web_api_scopes(method)


def test_the_bot_asks_for_exactly_the_scopes_it_uses() -> None:
    needed = {scope for method in web_api_methods_called() for scope in scopes_used(method)}
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    needed |= {scope for event in events for scope in event_scopes(event)}
    needed.add(COMMANDS_SCOPE)  # the slash command and the shortcut

    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed
    assert "user" not in manifest()["oauth_config"]["scopes"]


def test_the_bot_listens_to_reports_replies_and_home_visits() -> None:
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]

    assert set(events) == {
        "app_home_opened",
        "app_mention",
        "message.im",
        "message.channels",
        "message.groups",
    }


def test_employees_can_dm_the_bot_and_admins_get_a_home_tab() -> None:
    home = manifest()["features"]["app_home"]

    assert home == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert manifest()["features"]["bot_user"]["display_name"] == "Jethro"


def test_the_commands_and_the_shortcut_are_the_ones_the_app_handles() -> None:
    features = manifest()["features"]

    commands = {c["command"]: c for c in features["slash_commands"]}
    assert set(commands) == {"/triage", "/oncall"}
    assert all(c["usage_hint"] for c in commands.values())
    assert commands["/oncall"]["should_escape"] is True  # mentions arrive as user ids
    [shortcut] = features["shortcuts"]
    assert (shortcut["type"], shortcut["name"], shortcut["callback_id"]) == (
        "message",
        "Triage this",
        "triage_message",
    )


@pytest.mark.parametrize(
    "where",
    [
        ("settings", "event_subscriptions", "request_url"),
        ("settings", "interactivity", "request_url"),
        ("features", "slash_commands", 0, "url"),
        ("features", "slash_commands", 1, "url"),
    ],
)
def test_every_request_goes_to_the_one_bolt_endpoint(where: tuple[str | int, ...]) -> None:
    value: Any = manifest()
    for step in where:
        value = value[step]

    assert value == EVENTS_URL


def test_http_mode_is_the_default_and_interactivity_is_on() -> None:
    settings = manifest()["settings"]

    assert settings["socket_mode_enabled"] is False
    assert settings["interactivity"]["is_enabled"] is True
    assert "SLACK_APP_TOKEN" in MANIFEST.read_text(encoding="utf-8")
