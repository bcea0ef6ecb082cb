"""Copy the parts of Slack's specs and samples that Jethro uses into the repository, trimmed.

    python docs/vendor_slack_specs.py ../shared/slack-specs

A developer's tool, run by hand when the list below changes; nothing reads ../shared at run time.
The Web API methods are the ones the bot calls (tests/bot/test_manifest.py keeps that list honest)
and the few more the fake Slack's own tests call; each keeps its parameters, scopes and error enum.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ROOT / "bot" / "local" / "slack_spec"
TESTS = ROOT / "tests" / "fakes"

METHODS = (
    "auth.test",
    "chat.getPermalink",
    "chat.postEphemeral",
    "chat.postMessage",
    "chat.scheduleMessage",
    "chat.update",
    "conversations.members",
    "conversations.open",
    "reactions.add",
    "users.info",
    "views.open",
    "views.publish",
    "views.push",
    "views.update",
)
EVENTS = ("app.mention", "message.im", "message.channels", "message.groups")
PRODUCT_PAYLOADS = (
    "event_callback.message_im.json",
    "event_callback.message_im_thread_reply.json",
    "event_callback.app_mention.json",
    "event_callback.app_home_opened.json",
    "slash_command.json",
    "block_actions.json",
    "view_submission.json",
    "web_api.auth_test.ok.json",
)
KEPT_PAYLOADS = ("block_suggestion.json",)
"""In `PRODUCT/payloads`, not in the collection (bolt-python's test body, see the README): kept."""
TEST_PAYLOADS = ("url_verification.json", "signature_test_vector.json")


def _operation(operation: dict[str, Any]) -> dict[str, Any]:
    error = operation["responses"].get("default", {}).get("schema", {}).get("properties", {})
    kept: dict[str, Any] = {
        "operationId": operation["operationId"],
        "parameters": [
            {k: p[k] for k in ("name", "in", "required", "type") if k in p}
            for p in operation.get("parameters", [])
        ],
        "security": operation.get("security", []),
    }
    if "error" in error and "enum" in error["error"]:
        kept["errors"] = error["error"]["enum"]
    return kept


def web_api(source: Path) -> dict[str, Any]:
    spec = json.loads((source / "web-api" / "slack_web_openapi_v2.json").read_text())
    paths = {
        "/" + method: {verb: _operation(op) for verb, op in spec["paths"]["/" + method].items()}
        for method in METHODS
    }
    return {"swagger": spec["swagger"], "info": spec["info"], "paths": paths}


def events_api(source: Path) -> dict[str, Any]:
    spec = json.loads((source / "events-api" / "slack_events_api_async_v1.json").read_text())
    topics = {
        name: {"subscribe": {k: v for k, v in topic["subscribe"].items() if k != "payload"}}
        for name, topic in spec["topics"].items()
        if name in EVENTS
    }
    return {"asyncapi": spec["asyncapi"], "info": spec["info"], "topics": topics}


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main(source: Path) -> None:
    _write(PRODUCT / "web_api.json", web_api(source))
    for name in PRODUCT_PAYLOADS:
        shutil.copyfile(source / "payloads" / name, PRODUCT / "payloads" / name)
    shutil.copyfile(source / "LICENSE", PRODUCT / "LICENSE")
    _write(TESTS / "specs" / "events_api.json", events_api(source))
    shutil.copyfile(source / "LICENSE", TESTS / "specs" / "LICENSE")
    schemas = TESTS / "specs" / "manifest-schema"
    shutil.copytree(
        source / "manifest-schema", schemas, dirs_exist_ok=True, copy_function=shutil.copyfile
    )
    for name in TEST_PAYLOADS:
        shutil.copyfile(source / "payloads" / name, TESTS / "payloads" / name)
    shutil.copyfile(source / "LICENSE", TESTS / "payloads" / "LICENSE")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "slack-specs"))
