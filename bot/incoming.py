"""Message text as Slack delivers it, turned back into the words the person typed.

Slack encodes `&`, `<`, `>` and wraps mentions, channels, broadcasts and links in `<…>`. What is
stored must be the raw words (`@U123`, `#C123`, `@here`, `label (https://…)`), so that escaping on
the way out (`bot.mrkdwn`) is the one place markup is made: there the `quote` filter makes the
people and channels someone named mentions again, and nothing else. Every Slack text enters
here, and leaves safe (`bot.text_safety`). Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any

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


def message_text(event: dict[str, Any]) -> str:
    """A message's text as Slack delivers it; when it has none (a workflow's or an API client's
    message with only `rich_text` blocks, or only legacy attachments), what those say, in the
    same markup, so that `words` reads both alike."""
    text = event.get("text")
    if isinstance(text, str) and text.strip():
        return text
    pieces = [_rich(block) for block in _dicts(event.get("blocks"))]
    pieces += [
        str(a.get("text") or a.get("fallback") or "") for a in _dicts(event.get("attachments"))
    ]
    return "\n".join(piece for piece in pieces if piece.strip())


def _rich(node: dict[str, Any]) -> str:
    """The words in a rich_text element tree: text, links, mentions, emoji."""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "link":
        return (
            f"<{node.get('url', '')}|{node['text']}>"
            if node.get("text")
            else str(node.get("url", ""))
        )
    if kind == "user":
        return f"<@{node.get('user_id', '')}>"
    if kind == "channel":
        return f"<#{node.get('channel_id', '')}>"
    if kind == "broadcast":
        return f"<!{node.get('range', '')}>"
    if kind == "emoji":
        return f":{node.get('name', '')}:"
    separator = "\n" if kind in ("rich_text", "rich_text_list") else ""
    return separator.join(_rich(child) for child in _dicts(node.get("elements")))


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


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
