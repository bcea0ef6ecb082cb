"""What real Slack accepts: the Web API's methods and arguments, and Block Kit's limits.

The method and argument names come from Slack's own OpenAPI spec, trimmed to the methods Jethro
and its tests use and kept in `slack_spec/` (a 2020 snapshot, so the installed
`slack_sdk.WebClient` keywords count too), the Block Kit limits from Slack's reference pages.
The local workspace refuses what Slack would refuse with these; the tests' fake records calls and
judges them with the same checks at teardown.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from slack_sdk import WebClient

SPEC_PACKAGE = "bot.local.slack_spec"
WEB_API_SPEC = "web_api.json"

# Real methods added after the spec snapshot; each must also be a method of the installed WebClient.
METHODS_NEWER_THAN_SPEC = frozenset(
    {
        "apps.connections.open",  # Socket Mode's WebSocket URL, asked for with the xapp- token
        "assistant.threads.setStatus",
        "assistant.threads.setSuggestedPrompts",
        "assistant.threads.setTitle",
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    }
)
RESPONSE_URL = "response_url"
"""Pseudo-method for what the bot posts to a `response_url` (not the Web API, same limits)."""
RESPONSE_URL_ARGS = frozenset(
    {
        "text",
        "blocks",
        "attachments",
        "mrkdwn",
        "response_type",
        "replace_original",
        "delete_original",
        "thread_ts",
        "unfurl_links",
        "unfurl_media",
        "metadata",
    }
)
MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage"}
)
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
TEXT_KEYS = frozenset(
    {"text", "title", "label", "placeholder", "hint", "submit", "close", "description"}
)
BLOCK_TYPES = frozenset(
    {
        "section",
        "header",
        "context",
        "actions",
        "divider",
        "image",
        "input",
        "rich_text",
        "file",
        "video",
        "markdown",
        "table",
        "context_actions",
    }
)


@dataclass(frozen=True)
class MethodSpec:
    params: frozenset[str]
    required: frozenset[str]
    errors: frozenset[str] = frozenset()
    """The error codes Slack documents for the method."""


@cache
def _spec() -> dict[str, Any]:
    text = resources.files(SPEC_PACKAGE).joinpath(WEB_API_SPEC).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def web_api() -> Mapping[str, MethodSpec]:
    spec = _spec()
    methods: dict[str, MethodSpec] = {}
    for path, operations in spec["paths"].items():
        params = [p for op in operations.values() for p in op.get("parameters", [])]
        methods[path.lstrip("/")] = MethodSpec(
            params=frozenset(p["name"] for p in params),
            required=frozenset(p["name"] for p in params if p.get("required")) - {"token"},
            errors=frozenset(e for op in operations.values() for e in op.get("errors", [])),
        )
    return methods


@cache
def web_api_scopes(method: str) -> frozenset[str]:
    """The bot scopes a method needs, per the spec (`chat:write:bot` is today's `chat:write`)."""
    operations = _spec()["paths"].get("/" + method)
    if operations is None:
        raise KeyError(f"{method} is not in the spec snapshot: say which scope it needs")
    scopes = {
        scope.removesuffix(":bot").removesuffix(":user")
        for operation in operations.values()
        for requirement in operation.get("security", [])
        for scope in requirement.get("slackAuth", [])
    }
    return frozenset(scopes - {"none"})


@cache
def sdk_keywords(method: str) -> frozenset[str]:
    """The named parameters of the installed WebClient method; empty when it has none."""
    function = getattr(WebClient, method.replace(".", "_"), None)
    if function is None:
        return frozenset()
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = inspect.signature(function).parameters.values()
    return frozenset(p.name for p in parameters if p.kind in kinds and p.name != "self")


def known_method(method: str) -> bool:
    if method in web_api():
        return True
    return method in METHODS_NEWER_THAN_SPEC and hasattr(WebClient, method.replace(".", "_"))


def call_problems(method: str, args: Mapping[str, Any]) -> list[str]:
    """Everything Slack would refuse (or we forbid) about one call; empty when it is fine."""
    if method == RESPONSE_URL:
        found = [
            f"{method}: unknown field {name!r}" for name in args if name not in RESPONSE_URL_ARGS
        ]
        return found + [f"{method}: {p}" for p in message_problems(args)]
    if not known_method(method):
        return [f"{method}: no such Web API method"]
    spec = web_api().get(method, MethodSpec(frozenset(), frozenset()))
    allowed = spec.params | sdk_keywords(method)
    found = [f"{method}: unknown argument {name!r}" for name in args if name not in allowed]
    found += [f"{method}: missing required {name!r}" for name in sorted(spec.required - set(args))]
    if "link_names" in args:
        found.append(f"{method}: link_names is forbidden (it turns @words into pings)")
    if args.get("parse") == "full":
        found.append(f"{method}: parse=full is forbidden (it turns @words into pings)")
    if method in MESSAGE_METHODS:
        found += [f"{method}: {p}" for p in message_problems(args)]
    if method in VIEW_METHODS:
        found += [f"{method}: {p}" for p in view_problems(decoded(args.get("view")))]
    return found


def message_problems(args: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    text = args.get("text")
    if isinstance(text, str) and len(text) > 40000:
        found.append(f"text is {len(text)} characters, over 40000")
    blocks = decoded(args.get("blocks"))
    if blocks is not None:
        found += blocks_problems(blocks, max_blocks=50)
    return found


def view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["view must be an object"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"view type {kind!r} is not modal or home"]
    found = blocks_problems(view.get("blocks", []), max_blocks=100, where="view.blocks")
    if kind == "modal":
        found += _text_problems(view.get("title"), "view.title", limit=24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                found += _text_problems(view[key], f"view.{key}", limit=24, plain_only=True)
    for key, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
        if len(str(view.get(key, ""))) > limit:
            found.append(f"view.{key} is over {limit} characters")
    return found


def blocks_problems(blocks: Any, *, max_blocks: int, where: str = "blocks") -> list[str]:
    if not isinstance(blocks, list):
        return [f"{where} must be a list"]
    found = (
        [f"{where}: {len(blocks)} blocks, over {max_blocks}"] if len(blocks) > max_blocks else []
    )
    block_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        found.append(f"{where}: block_ids repeat")
    for number, block in enumerate(blocks):
        found += _block_problems(block, f"{where}[{number}]")
    return found


def _block_problems(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return [f"{where}: not a block of a known type"]
    found: list[str] = []
    if len(str(block.get("block_id", ""))) > 255:
        found.append(f"{where}.block_id is over 255 characters")
    kind = block["type"]
    if kind == "section":
        found += _section_problems(block, where)
    elif kind == "header":
        found += _text_problems(block.get("text"), f"{where}.text", limit=150, plain_only=True)
    elif kind == "context":
        found += _elements_problems(block, where, limit=10)
    elif kind == "actions":
        found += _elements_problems(block, where, limit=25)
        action_ids = [e.get("action_id") for e in block.get("elements", []) if "action_id" in e]
        if len(action_ids) != len(set(action_ids)):
            found.append(f"{where}: action_ids repeat within the block")
    found += _nested_text_problems(block, where)
    return found


def _section_problems(block: Mapping[str, Any], where: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"{where}: a section needs text or fields"]
    found: list[str] = []
    if "text" in block:
        found += _text_problems(block["text"], f"{where}.text", limit=3000)
    fields = block.get("fields", [])
    if len(fields) > 10:
        found.append(f"{where}.fields: {len(fields)}, over 10")
    for number, field in enumerate(fields):
        found += _text_problems(field, f"{where}.fields[{number}]", limit=2000)
    if "accessory" in block:
        found += _element_problems(block["accessory"], f"{where}.accessory")
    return found


def _elements_problems(block: Mapping[str, Any], where: str, *, limit: int) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"{where}: needs at least one element"]
    found = [f"{where}: {len(elements)} elements, over {limit}"] if len(elements) > limit else []
    for number, element in enumerate(elements):
        found += _element_problems(element, f"{where}.elements[{number}]")
    return found


def _element_problems(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"{where}: not an element"]
    if element["type"] in TEXT_TYPES:
        return _text_problems(element, where, limit=3000)
    found: list[str] = []
    for key, limit in (("action_id", 255), ("value", 2000), ("url", 3000)):
        if len(str(element.get(key, ""))) > limit:
            found.append(f"{where}.{key} is over {limit} characters")
    if element["type"] == "button":
        found += _text_problems(element.get("text"), f"{where}.text", limit=75, plain_only=True)
        if element.get("style", "primary") not in ("primary", "danger"):
            found.append(f"{where}.style must be primary or danger")
    return found


def _text_problems(text: Any, where: str, *, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(text, dict) or text.get("type") not in TEXT_TYPES:
        return [f"{where}: not a text object (type plain_text or mrkdwn)"]
    if plain_only and text["type"] != "plain_text":
        return [f"{where}: must be plain_text"]
    body = text.get("text")
    if not isinstance(body, str) or not body:
        return [f"{where}: empty text"]
    if len(body) > limit:
        return [f"{where}: {len(body)} characters, over {limit}"]
    return []


def _nested_text_problems(node: Any, where: str) -> list[str]:
    """Every text object anywhere in a block says which kind of text it is."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TEXT_KEYS and isinstance(value, dict) and value.get("type") not in TEXT_TYPES:
                found.append(f"{where}.{key}: text type {value.get('type')!r}")
            found += _nested_text_problems(value, f"{where}.{key}")
    elif isinstance(node, list):
        for number, item in enumerate(node):
            found += _nested_text_problems(item, f"{where}[{number}]")
    return found


def decoded(value: Any) -> Any:
    """slack_sdk sends `blocks` and `view` as JSON in a form field for non-JSON methods."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def sample_payload(name: str) -> dict[str, Any]:
    """A recorded Slack payload from `slack_spec/payloads/`: what the stand-in builds on."""
    text = resources.files(SPEC_PACKAGE).joinpath("payloads", name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
