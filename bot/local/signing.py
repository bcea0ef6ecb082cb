"""Request signing exactly as Slack does it: the local workspace signs what it sends the bot
with it, and the tests talk to the real Bolt app over HTTP with it."""

from __future__ import annotations

import hashlib
import hmac
import time

VERSION = "v0"


def signature(secret: str, body: bytes, timestamp: int | str) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` under the signing secret."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | str | None = None) -> dict[str, str]:
    """The two headers Slack adds; `timestamp` defaults to now (Bolt refuses over 5 minutes old)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(secret, body, stamp),
    }
