"""Contract checks: is a recorded Web API call one that real Slack would accept?

The checks themselves are the product's (`bot.local.spec`, which the local workspace refuses
calls with); here they judge what the fake server recorded, at a test's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from bot.local.spec import (
    METHODS_NEWER_THAN_SPEC,
    RESPONSE_URL,
    call_problems,
    decoded,
    known_method,
    sdk_keywords,
    web_api,
    web_api_scopes,
)

HERE = Path(__file__).parent
SPECS = HERE / "specs"
"""Slack's events spec (trimmed) and app-manifest schema, for the manifest's tests."""
PAYLOADS = HERE / "payloads"
"""Sample payloads only the tests use (the signing test vector, url_verification)."""

__all__ = [
    "METHODS_NEWER_THAN_SPEC",
    "PAYLOADS",
    "RESPONSE_URL",
    "SPECS",
    "RecordedCall",
    "assert_calls_valid",
    "call_problems",
    "decoded",
    "known_method",
    "sdk_keywords",
    "web_api",
    "web_api_scopes",
]


class RecordedCall(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def args(self) -> Mapping[str, Any]: ...


def assert_calls_valid(calls: Iterable[RecordedCall]) -> None:
    """Fail with every problem of every call, numbered in the order they reached the fake."""
    found = [
        f"call {number} {problem}"
        for number, call in enumerate(calls, 1)
        for problem in call_problems(call.method, call.args)
    ]
    if found:
        raise AssertionError("Slack would refuse these calls:\n" + "\n".join(found))
