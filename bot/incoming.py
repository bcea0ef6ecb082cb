"""Message text as Slack delivers it, turned back into the words the person typed.

Slack encodes `&`, `<`, `>` and wraps mentions, channels, broadcasts and links in `<…>`. What is
stored must be the raw words (`@U123`, `#C123`, `@here`, `label (https://…)`), so that escaping on
the way out (`bot.mrkdwn`) is the one place markup is made: there the `quote` filter makes the
people and channels someone named mentions again, and nothing else. Every Slack text enters
here, and leaves safe (`bot.text_safety`). Pure: no I/O.
"""

from __future__ import annotations

import re

from bot.mrkdwn import unescape
from bot.text_safety import safe_text

_MARKUP = re.compile(r"<([^<>]*)>")
_SPACES = re.compile(r"[ \t]+")


def words(text: str, *, bot_user: str | None = None) -> str:
    """The person's words, made safe (`bot.text_safety`): the bot's own mention dropped, other
    markup as readable text."""
    text = safe_text(text)
    if bot_user:
        text = re.sub(rf"<@{re.escape(bot_user)}(?:\|[^<>]*)?>", " ", text)
    text = _MARKUP.sub(lambda match: _readable(match.group(1)), text)
    lines = [_SPACES.sub(" ", line).strip() for line in unescape(text).split("\n")]
    return "\n".join(lines).strip()


def _readable(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f"@{label}" if label else target
    if target.startswith("#"):
        return f"#{label}" if label else target
    if target.startswith("!"):
        return _special(target[1:], label)
    if not label or label == target or target == f"mailto:{label}":
        return target.removeprefix("mailto:")
    return f"{label} ({target})"


def _special(command: str, label: str) -> str:
    """`<!here>` and friends: written out as the word, which escaping later makes inert."""
    name = command.split("^", 1)[0]
    if name in ("here", "channel", "everyone"):
        return f"@{name}"
    return label or f"@{name}"
