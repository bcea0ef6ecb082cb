"""Text for Slack's `mrkdwn`: escaping what users and KB authors wrote, and converting KB markdown.

Slack decodes only `&amp;`, `&lt;` and `&gt;`, and treats any raw `<` as the start of a mention,
broadcast or link; so every piece of text someone else wrote passes through `escape`, and the only
`<` in our output starts a link we built from a parsed markdown link. This module does no I/O and
knows nothing of blocks or Slack's length limits (that is `bot.blocks`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

WORD_JOINER = "\u2060"
"""Invisible, and splits `@here` so that no client or `link_names` setting reads it as a ping."""

LINK_SCHEMES = frozenset({"http", "https", "mailto"})

_BROADCAST = re.compile(r"(?<!\w)@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_OURS_OR_BROADCAST = re.compile(r"(<[^<>]*>)|" + _BROADCAST.pattern, re.IGNORECASE)
_ENTITY = re.compile(r"&(amp|lt|gt);")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
_BLANK_RUNS = re.compile(r"\n{3,}")
_RULE = "─" * 12
_GRAVE = "\u02cb"
"""A modifier-letter grave accent: looks like a backtick but cannot open or close code."""

# CommonMark plus the two GitHub extensions KB authors use; raw HTML stays literal text.
_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def escape(text: str) -> str:
    """Make `text` show literally in mrkdwn: nothing in it can mention, broadcast or link.

    Only `&`, `<` and `>` are entity-encoded (Slack decodes no other entity), and `@channel`,
    `@here`, `@everyone` get an invisible word joiner after the `@`.
    """
    encoded = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + WORD_JOINER, encoded)


def unescape(text: str) -> str:
    """Undo Slack's escaping of incoming message text, so that `escape` does not double it."""
    return _ENTITY.sub(lambda m: _UNESCAPED[m.group(1)], text)


def neutralise_broadcasts(text: str) -> str:
    """Split `@here`-style words for `plain_text` objects, which Slack shows without decoding."""
    return _BROADCAST.sub("@" + WORD_JOINER, text)


def markdown_to_mrkdwn(md: str) -> str:
    """Convert a KB article's markdown to mrkdwn, escaping all text the author wrote.

    A real CommonMark parser (markdown-it-py) decides what is a link, code or emphasis, so text
    inside code spans, backslash escapes and nested brackets never turn into live mrkdwn.
    """
    tree = SyntaxTreeNode(_PARSER.parse(md))
    out = "\n\n".join(part for part in (_block(node) for node in tree.children) if part)
    out = _BLANK_RUNS.sub("\n\n", out).strip()
    # A broadcast split over several text tokens (`@&#104;ere`) is caught on the whole output.
    return _OURS_OR_BROADCAST.sub(lambda m: m.group(1) or "@" + WORD_JOINER, out)


def _blocks(nodes: Iterable[SyntaxTreeNode], sep: str) -> str:
    return sep.join(part for part in (_block(node) for node in nodes) if part)


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children)
    if kind == "heading":
        title = _plain(node.children).strip()
        return f"*{escape(title)}*" if title else ""
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind == "blockquote":
        inner = _blocks(node.children, "\n\n")
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if kind in ("fence", "code_block"):
        return _code_block(node.content)
    if kind == "table":
        return _table(node)
    if kind == "hr":
        return _RULE
    return escape(node.content)


def _list(node: SyntaxTreeNode) -> str:
    start = node.attrs.get("start", 1)
    number = start if isinstance(start, int) else 1
    lines: list[str] = []
    for offset, item in enumerate(node.children):
        marker = f"{number + offset}. " if node.type == "ordered_list" else "• "
        body = _blocks(item.children, "\n").split("\n")
        lines.append(marker + body[0])
        lines.extend("    " + line if line else "" for line in body[1:])
    return "\n".join(lines)


def _code_block(code: str) -> str:
    # A fence inside the code would end Slack's block early; lookalike accents keep it readable.
    body = escape(code.rstrip("\n").replace("```", _GRAVE * 3))
    return f"```\n{body}\n```"


def _table(node: SyntaxTreeNode) -> str:
    """Slack has no tables: align the cells in a preformatted block instead."""
    rows = [
        [_plain(cell.children).strip() for cell in row.children]
        for section in node.children
        for row in section.children
    ]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    sizes = [max((len(row[i]) for row in rows if i < len(row)), default=0) for i in range(width)]
    lines = [" | ".join(c.ljust(sizes[i]) for i, c in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * size for size in sizes))
    return _code_block("\n".join(lines))


def _inline(nodes: Iterable[SyntaxTreeNode]) -> str:
    return "".join(_span(node) for node in nodes)


def _span(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "inline":
        return _inline(node.children)
    if kind == "text":
        return escape(node.content)
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "\n"
    if kind == "code_inline":
        code = node.content.replace("`", _GRAVE)
        return f"`{escape(code)}`" if code.strip() else ""
    if kind in _MARKERS:
        inner = _inline(node.children)
        marker = _MARKERS[kind]
        return f"{marker}{inner}{marker}" if inner.strip() else inner
    if kind in ("link", "image"):
        return _link(node)
    return escape(node.content)


_MARKERS = {"strong": "*", "em": "_", "s": "~"}


def _link(node: SyntaxTreeNode) -> str:
    target = node.attrs.get("href" if node.type == "link" else "src", "")
    text = _plain(node.children).strip()
    url = str(target)
    if not linkable(url):
        return escape(text)
    safe_url = link_url(url)
    if not text or text == url or (node.markup == "autolink" and not url.startswith("mailto:")):
        return f"<{safe_url}>"  # Slack shows the address itself
    return f"<{safe_url}|{escape(text)}>"


def linkable(url: str) -> bool:
    """Only web and mail links: `javascript:`, `slack:` or `file:` targets stay plain text."""
    return urlsplit(url).scheme.lower() in LINK_SCHEMES


def link_url(url: str) -> str:
    """Encode what would end or split Slack's `<url|text>` syntax."""
    encoded = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E")
    return encoded.replace("|", "%7C").replace(" ", "%20")


def _plain(nodes: Iterable[SyntaxTreeNode]) -> str:
    """The unformatted words of inline nodes, for places mrkdwn cannot nest (links, headings)."""
    parts: list[str] = []
    for node in nodes:
        if node.type in ("text", "code_inline"):
            parts.append(node.content)
        elif node.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        else:
            parts.append(_plain(node.children))
    return "".join(parts)
