"""Who is in the engineers' channel: the people allowed to act on tickets.

Read with `conversations.members` (scopes `channels:read`, `groups:read`) and kept for
`ttl_seconds`, so a burst of clicks costs one call and someone removed from the channel loses
the right within a minute. If Slack cannot say, the answer is "nobody": a refusal is safer than
letting anyone close tickets, and the log says why; a failed read is not kept.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from slack_sdk import WebClient

from escalation.clock import Clock

log = logging.getLogger(__name__)

TTL_SECONDS = 60.0
PAGE = 200


class ChannelMembers:
    def __init__(
        self, client: WebClient, channel: str, clock: Clock, ttl_seconds: float = TTL_SECONDS
    ) -> None:
        self.client = client
        self.channel = channel
        self.clock = clock
        self.ttl = timedelta(seconds=ttl_seconds)
        self._lock = threading.Lock()
        self._members: frozenset[str] = frozenset()
        self._read_at: datetime | None = None

    def members(self) -> frozenset[str]:
        with self._lock:
            now = self.clock.now()
            if self._read_at is None or now - self._read_at >= self.ttl:
                read = self._read()
                if read is None:
                    return frozenset()
                self._members, self._read_at = read, now
            return self._members

    def includes(self, user: str) -> bool:
        return user in self.members()

    def _read(self) -> frozenset[str] | None:
        found: set[str] = set()
        cursor = ""
        try:
            while True:
                page = self.client.conversations_members(
                    channel=self.channel, limit=PAGE, cursor=cursor or None
                )
                found.update(str(user) for user in page.get("members") or [])
                cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    return frozenset(found)
        except Exception:
            log.exception(
                "could not read the members of %s (JETHRO_ESCALATION_CHANNEL): is the bot in it, "
                "with the channels:read and groups:read scopes? Refusing ticket actions meanwhile",
                self.channel,
            )
            return None
