"""Block Kit built in code, always inside Slack's limits.

Slack rejects a whole message (`invalid_blocks`, `msg_too_long`) when one field is too long, so
every builder here splits or shortens instead, and `fit_message` is the last word before a send.
Text given to these builders must already be mrkdwn-safe (`bot.mrkdwn`); plain-text fields are
shown literally by Slack. Nothing here talks to Slack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict, cast

from bot.mrkdwn import escape, neutralise_broadcasts

SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
ACTION_ID_MAX = 255
BUTTON_VALUE_MAX = 2000
BLOCK_ID_MAX = 255
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
MESSAGE_TEXT_MAX = 40000
ARTICLE_CAP = 6000
"""An article longer than this is cut with a pointer to the full text: a chat is not a manual."""

ELLIPSIS = "…"
FENCE = "```"
QUOTE = "> "
_MIN_PIECE = 64


class PlainText(TypedDict):
    type: Literal["plain_text"]
    text: str
    emoji: NotRequired[bool]


class MrkdwnText(TypedDict):
    type: Literal["mrkdwn"]
    text: str
    verbatim: NotRequired[bool]


TextObject: TypeAlias = PlainText | MrkdwnText


class Button(TypedDict):
    type: Literal["button"]
    text: PlainText
    action_id: str
    value: NotRequired[str]
    style: NotRequired[Literal["primary", "danger"]]
    url: NotRequired[str]


class SectionBlock(TypedDict):
    type: Literal["section"]
    text: NotRequired[TextObject]
    fields: NotRequired[list[TextObject]]
    accessory: NotRequired[Button]
    block_id: NotRequired[str]


class HeaderBlock(TypedDict):
    type: Literal["header"]
    text: PlainText
    block_id: NotRequired[str]


class ContextBlock(TypedDict):
    type: Literal["context"]
    elements: list[TextObject]
    block_id: NotRequired[str]


class ActionsBlock(TypedDict):
    type: Literal["actions"]
    elements: list[Button]
    block_id: NotRequired[str]


class DividerBlock(TypedDict):
    type: Literal["divider"]
    block_id: NotRequired[str]


Block: TypeAlias = SectionBlock | HeaderBlock | ContextBlock | ActionsBlock | DividerBlock


class Message(TypedDict):
    """The keyword arguments for `chat.postMessage` / `chat.update` besides the channel."""

    text: str
    blocks: list[Block]


def api_args(message: Message) -> dict[str, Any]:
    """`client.chat_postMessage(channel=c, **api_args(m))`: slack_sdk types blocks as plain dicts,
    which mypy will not accept a TypedDict for."""
    return {"text": message["text"], "blocks": cast(list[dict[str, Any]], message["blocks"])}


def mrkdwn(text: str) -> MrkdwnText:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> PlainText:
    return {"type": "plain_text", "text": clip(neutralise_broadcasts(text), limit), "emoji": True}


def clip(text: str, limit: int) -> str:
    """Cut plain text to `limit` characters, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def split_mrkdwn(text: str, limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Split mrkdwn into pieces of at most `limit` characters, each still valid on its own.

    Cuts prefer a paragraph break, then a line break, then a space, and never fall inside a link
    or an entity; a code block cut in two is closed and reopened so both halves stay code, and a
    quoted line cut in two goes on quoted.
    """
    if limit < _MIN_PIECE:
        raise ValueError(f"pieces shorter than {_MIN_PIECE} characters cannot hold a code fence")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit - len(FENCE) - 1)
        head, tail = rest[:cut].rstrip(), rest[cut:]
        mid_line = not tail.startswith("\n")
        rest = tail[1:] if tail.startswith(" ") else tail.lstrip("\n")
        if head.count(FENCE) % 2:
            head, rest = f"{head}\n{FENCE}", f"{FENCE}\n{rest}"
        elif mid_line and head.rpartition("\n")[2].startswith(QUOTE):
            rest = QUOTE + rest
        if head.strip():
            pieces.append(head)
    if rest.strip():
        pieces.append(rest)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    window = text[:limit]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at > limit // 2:
            return _outside_markup(text, at)
    return _outside_markup(text, limit)


def _outside_markup(text: str, at: int) -> int:
    """Move a cut back so it does not split `<url|text>` or `&amp;`, unless that loses too much."""
    floor = at // 4
    opened = text.rfind("<", floor, at)
    if opened > floor and text.find(">", opened, at) == -1:
        at = opened
    amp = text.rfind("&", max(floor, at - 4), at)
    if amp > floor and text.find(";", amp, at) == -1:
        at = amp
    return at


def shorten(
    text: str, cap: int = ARTICLE_CAP, *, full_url: str | None = None, hint: str | None = None
) -> str:
    """Cut long mrkdwn at a paragraph or line break and say where the rest is.

    `full_url` must be a URL we trust (it becomes a link); without one, or another `hint`, the
    hint names the knowledge base.
    """
    text = text.strip()
    if len(text) <= cap:
        return text
    if hint is None and full_url:
        hint = f"{ELLIPSIS} <{full_url}|read the full article>"
    elif hint is None:
        hint = f"_{ELLIPSIS} the rest is in the full article in the knowledge base._"
    head = split_mrkdwn(text, max(cap - len(hint) - 2, _MIN_PIECE))[0]
    return f"{head}\n\n{hint}"


def section(text: str) -> list[SectionBlock]:
    """One section per piece of at most 3,000 characters; no block at all for blank text."""
    return [{"type": "section", "text": mrkdwn(piece)} for piece in split_mrkdwn(text)]


def header(text: str) -> HeaderBlock:
    return {"type": "header", "text": plain(text, HEADER_TEXT_MAX)}


def divider() -> DividerBlock:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str,
    style: Literal["primary", "danger"] | None = None,
) -> Button:
    """A button; an `action_id` or `value` Slack would refuse is our bug, so it raises."""
    if not 0 < len(action_id) <= ACTION_ID_MAX:
        raise ValueError(f"action_id must be 1-{ACTION_ID_MAX} characters: {action_id!r}")
    if len(value) > BUTTON_VALUE_MAX:
        raise ValueError(f"button value is {len(value)} characters, over {BUTTON_VALUE_MAX}")
    made: Button = {
        "type": "button",
        "text": plain(text.strip() or ELLIPSIS, BUTTON_TEXT_MAX),
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        made["style"] = style
    return made


def actions(*elements: Button, block_id: str | None = None) -> ActionsBlock:
    if not 0 < len(elements) <= ACTIONS_ELEMENTS_MAX:
        raise ValueError(f"an actions block holds 1-{ACTIONS_ELEMENTS_MAX} elements")
    block: ActionsBlock = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def context(*texts: str) -> ContextBlock:
    """Small grey print; each text is mrkdwn and is shortened to fit."""
    if not 0 < len(texts) <= CONTEXT_ELEMENTS_MAX:
        raise ValueError(f"a context block holds 1-{CONTEXT_ELEMENTS_MAX} elements")
    shortened = [shorten(t, SECTION_TEXT_MAX, hint=ELLIPSIS) for t in texts]
    return {"type": "context", "elements": [mrkdwn(t) for t in shortened]}


def fit_message(
    blocks: Sequence[Block], fallback_text: str, *, max_blocks: int = MESSAGE_BLOCKS_MAX
) -> Message:
    """Make any list of blocks sendable: every field within limits, at most `max_blocks` blocks,
    and a non-empty `text` for notifications and screen readers.

    When blocks must go, long text goes first and buttons stay, with a note of what was left out.
    """
    fitted = [piece for block in blocks for piece in _fit_block(block)]
    if len(fitted) > max_blocks:
        fitted = _drop_text_blocks(fitted, max_blocks)
    text = fallback_text.strip() or as_text(fitted).strip() or "(no text)"
    return {"text": shorten(text, MESSAGE_TEXT_MAX, hint=ELLIPSIS), "blocks": fitted}


def _fit_block(block: Block) -> list[Block]:
    if block["type"] == "section":
        return list(_fit_section(block))
    if block["type"] == "header":
        title = plain(block["text"]["text"], HEADER_TEXT_MAX)
        return [{**block, "text": title}] if title["text"] else []
    if block["type"] == "context":
        return [{**block, "elements": block["elements"][:CONTEXT_ELEMENTS_MAX]}]
    if block["type"] == "actions":
        first, *others = _chunks(block["elements"], ACTIONS_ELEMENTS_MAX)
        more: list[Block] = [{"type": "actions", "elements": chunk} for chunk in others]
        return [{**block, "elements": first}, *more]
    return [block]


def _fit_section(block: SectionBlock) -> Iterable[Block]:
    text = block.get("text")
    if text is None or 0 < len(text["text"]) <= SECTION_TEXT_MAX:
        yield block
        return
    if text["type"] == "plain_text":
        yield {**block, "text": plain(text["text"] or ELLIPSIS)}
        return
    pieces = section(text["text"])
    if not pieces:  # Slack refuses empty text; keep the block only for its fields or button
        if "fields" in block or "accessory" in block:
            yield {key: value for key, value in block.items() if key != "text"}  # type: ignore[misc]
        return
    yield {**block, "text": pieces[0]["text"]}
    yield from pieces[1:]


def _chunks(items: list[Button], size: int) -> list[list[Button]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _drop_text_blocks(blocks: list[Block], max_blocks: int) -> list[Block]:
    excess = len(blocks) - max_blocks + 1
    droppable = [i for i, b in enumerate(blocks) if i > 0 and _only_text(b)]
    gone = set(droppable[-excess:]) if len(droppable) >= excess else set()
    if not gone:
        gone = set(range(max_blocks - 1, len(blocks)))
    note = context(f"_{ELLIPSIS} {len(gone)} more parts left out to fit in one message._")
    kept: list[Block] = []
    for i, block in enumerate(blocks):
        if i == min(gone):
            kept.append(note)
        if i not in gone:
            kept.append(block)
    return kept


def _only_text(block: Block) -> bool:
    """Blocks that may go when a message is too long: prose, never buttons or fields."""
    if block["type"] == "section":
        return "fields" not in block and "accessory" not in block
    return block["type"] == "divider"


def as_text(blocks: Iterable[Block]) -> str:
    """A mrkdwn rendering of blocks, for the `text` fallback: plain-text parts are escaped."""
    lines: list[str] = []
    for block in blocks:
        line = _block_text(block)
        if line:
            lines.append(line)
    return "\n".join(lines)


def _block_text(block: Block) -> str:
    if block["type"] == "header":
        return f"*{_as_mrkdwn(block['text'])}*"
    if block["type"] == "section":
        parts = [_as_mrkdwn(t) for t in [block.get("text"), *block.get("fields", [])] if t]
        if "accessory" in block:
            parts.append(f"[{_as_mrkdwn(block['accessory']['text'])}]")
        return " ".join(parts)
    if block["type"] == "context":
        return " · ".join(_as_mrkdwn(t) for t in block["elements"])
    if block["type"] == "actions":
        return " ".join(f"[{_as_mrkdwn(b['text'])}]" for b in block["elements"])
    return ""


def _as_mrkdwn(text: TextObject | None) -> str:
    if text is None:
        return ""
    if text["type"] == "mrkdwn":
        return text["text"]
    return escape(text["text"])
