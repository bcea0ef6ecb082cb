"""`manifest.yml` creates the app Jethro needs: valid for Slack, and no scope more than it uses."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from tests.fakes.slack_spec import SPECS

MANIFEST = Path(__file__).parents[2] / "manifest.yml"
SCHEMAS = SPECS / "manifest-schema"
SCHEMA_URL = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
EVENTS_SPEC = SPECS / "events-api" / "slack_events_api_async_v1.json"
EVENTS_URL = "https://jethro.example.com/slack/events"

BOT_SCOPES = {
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "users:read",
}
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


def test_the_bot_asks_for_exactly_the_scopes_it_uses() -> None:
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    assert "user" not in manifest()["oauth_config"]["scopes"]


def test_every_subscribed_event_has_the_scope_it_needs() -> None:
    topics = json.loads(EVENTS_SPEC.read_text())["topics"]
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]

    for event in events:
        if event in NEWER_EVENT_SCOPES:
            needed = NEWER_EVENT_SCOPES[event]
        else:
            needed = topics[event.replace("_", ".")]["subscribe"]["x-scopes-required"]
        assert set(needed) <= BOT_SCOPES, event
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
    assert commands["/triage"]["usage_hint"]
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
