"""Slack's mrkdwn as HTML, the way the Slack client shows it; every character escaped.

Slack text arrives with `&`, `<`, `>` entity-encoded and `<...>` for links and mentions. Links,
mentions and code are cut out first (kept aside as placeholders), the rest is decoded then
HTML-escaped, and only then do `*bold*`, `_italics_` and `~strike~` become tags: nothing a person
typed can open a tag, and a link's address must be http(s) or mailto to become one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

Names = Callable[[str], str]
"""An id (`U…`, `C…`) to the name shown for it."""

EMOJI = {
    "rotating_light": "🚨",
    "white_check_mark": "✅",
    "warning": "⚠️",
    "arrow_up": "⬆️",
    "memory": "📝",
    "busts_in_silhouette": "👥",
    "wave": "👋",
    "mag": "🔍",
    "hourglass": "⏳",
    "tada": "🎉",
    "x": "❌",
    "thumbsup": "👍",
    "thumbsdown": "👎",
    "bulb": "💡",
    "lock": "🔒",
    "bell": "🔔",
    "clock3": "🕒",
    "speech_balloon": "💬",
    "ticket": "🎫",
    "books": "📚",
    "link": "🔗",
}
LINK_SCHEMES = ("http://", "https://", "mailto:")
BROADCASTS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}

_HOLE = "\ue000"
_HOLES = re.compile(_HOLE + r"(\d+)" + _HOLE)
_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_SPECIAL = re.compile(r"`([^`\n]+)`|<([^<>\n]+)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_DECODED = {"amp": "&", "lt": "<", "gt": ">"}
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_MARKS = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "s"),
)
_BULLET = re.compile(r"^\s*(?:•|◦|-|\*)\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_QUOTE = re.compile(r"^(?:&gt;|>)\s?(.*)$")


def decode(text: str) -> str:
    return _ENTITY.sub(lambda m: _DECODED[m.group(1)], text)


def plain_html(text: str) -> Markup:
    """plain_text: escaped, emoji codes shown, newlines kept."""
    return Markup(_emoji(str(escape(text))).replace("\n", "<br>"))


def mrkdwn_html(text: str, names: Names) -> Markup:
    text = text.replace(_HOLE, "")
    out: list[str] = []
    position = 0
    for block in _CODE_BLOCK.finditer(text):
        out.append(_lines(text[position : block.start()], names))
        code = decode(block.group(1).strip("\n"))
        out.append(f'<pre class="code-block">{escape(code)}</pre>')
        position = block.end()
    out.append(_lines(text[position:], names))
    return Markup("".join(out))


def _lines(text: str, names: Names) -> str:
    """Quotes, bulleted and numbered lists, and line breaks."""
    html: list[str] = []
    kind: str | None = None
    items: list[str] = []

    def flush() -> None:
        nonlocal kind, items
        if kind == "quote":
            html.append("<blockquote>" + "<br>".join(items) + "</blockquote>")
        elif kind is not None:
            html.append(f"<{kind}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{kind}>")
        kind, items = None, []

    plain: list[str] = []
    for line in text.split("\n"):
        found = next(
            (
                (name, match)
                for name, pattern in (("quote", _QUOTE), ("ul", _BULLET), ("ol", _NUMBERED))
                if (match := pattern.match(line))
            ),
            None,
        )
        if found is None:
            flush()
            plain.append(_inline(line, names))
            continue
        if plain:
            html.append("<br>".join(plain))
            plain = []
        name, match = found
        if kind != name:
            flush()
            kind = name
        items.append(_inline(match.group(1), names))
    flush()
    if plain:
        html.append("<br>".join(plain))
    return "".join(html)


def _inline(text: str, names: Names) -> str:
    holes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        code, entity = match.groups()
        holes.append(
            f"<code>{escape(decode(code))}</code>" if code is not None else _entity(entity, names)
        )
        return f"{_HOLE}{len(holes) - 1}{_HOLE}"

    shown = str(escape(decode(_SPECIAL.sub(keep, text))))
    for pattern, tag in _MARKS:
        shown = pattern.sub(rf"<{tag}>\1</{tag}>", shown)
    shown = _emoji(shown)
    return _HOLES.sub(lambda m: holes[int(m.group(1))], shown)


def _entity(inner: str, names: Names) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f'<span class="mention">@{escape(label or names(target[1:]))}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{escape(label or names(target[1:]))}</span>'
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        shown = BROADCASTS.get(word) or label or word
        return f'<span class="mention broadcast">{escape(decode(shown))}</span>'
    url = decode(target)
    text = decode(label) if label else url
    if url.lower().startswith(LINK_SCHEMES):
        return f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(text)}</a>'
    return str(escape(text))


def _emoji(html: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), html)
