"""Who is in the engineers' channel: the people allowed to act on tickets.

Read with `conversations.members` (scopes `channels:read`, `groups:read`) and kept for
`ttl_seconds`, so a burst of clicks costs one call and someone removed from the channel loses
the right within a minute. If Slack cannot say, the answer is "nobody": a refusal is safer than
letting anyone close tickets, and the log says why; a failed read is not kept.

Members are people: the bot itself (its user id from `auth.test`) is left out, and so is any
other bot user (`users.info`, scope `users:read`, asked once per member and kept: an account does
not turn into a bot), so a refusal never names a bot among the engineers who can act. Without
that scope (an app installed before it was asked for) only the bot itself is left out.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

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
        self._own_id = ""
        self._people: dict[str, bool] = {}
        """user id -> a person (not a bot), as `users.info` said."""
        self._can_tell = True

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
                    break
            self._own_id = self._own_id or str(self.client.auth_test().get("user_id") or "")
        except Exception:
            log.exception(
                "could not read the members of %s (JETHRO_ESCALATION_CHANNEL): is the bot in it, "
                "with the channels:read and groups:read scopes? Refusing ticket actions meanwhile",
                self.channel,
            )
            return None
        return frozenset(user for user in found if user != self._own_id and self._person(user))

    def _person(self, user: str) -> bool:
        """Not a bot, as far as Slack says; a person when it cannot say (the bot's token lacks
        `users:read`, or Slack failed): the membership still decides."""
        known = self._people.get(user)
        if known is not None or not self._can_tell:
            return known is not False
        try:
            info = self.client.users_info(user=user).get("user") or {}
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in ("missing_scope", "not_allowed_token_type"):
                self._can_tell = False
                log.warning(
                    "cannot tell bots from people in %s without the users:read scope: "
                    "reinstall the app from manifest.yml; only Jethro itself is left out",
                    self.channel,
                )
            else:
                log.warning("could not tell whether %s is a bot: %s", user, error or exc)
            return True
        except Exception as exc:  # Slack unreachable: asked again at the next read
            log.warning("could not tell whether %s is a bot: %s", user, exc)
            return True
        person = not (info.get("is_bot") or info.get("is_app_user"))
        self._people[user] = person
        return person
