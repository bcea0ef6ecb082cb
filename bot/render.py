"""The one Jinja2 environment: named templates that turn triage results into Block Kit messages.

A template is JSON with holes. Every hole (`{{ … }}`) must end in `| tojson`, and `tojson` only
accepts text an escaping filter produced, so no template, not even an operator's override, can
emit raw user or KB text or break the JSON with a quote. Autoescape is off: HTML escaping is
wrong for Slack. This module renders only; sending belongs to the listeners.

Filters: `mrkdwn_escape`, `md_to_mrkdwn`, `plain` (for plain_text fields), `quote`, `mention`,
`shorten`, `fmt` (a literal with `%s` holes), `percent`, `opaque` (button values), `tojson`.
"""

from __future__ import annotations

import json
import math
import re
import traceback
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, cast

import jinja2

from bot import mrkdwn
from bot.blocks import (
    ARTICLE_CAP,
    BUTTON_VALUE_MAX,
    SECTION_TEXT_MAX,
    Block,
    Message,
    clip,
    fit_message,
    shorten,
)
from escalation.errors import JethroError

DEFAULT_TEMPLATES = Path(__file__).parent / "templates"
SUFFIX = ".j2"

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_WRITTEN_MENTION = re.compile(
    r"(?<![\w&;@#/])(@(?=[UW])|#(?=[CG]))([A-Z](?=[A-Z]*\d)[A-Z0-9]{8,})\b"
)
"""`@U0123ABCD` / `#C0123ABCD` as `words` leaves a mention: an id (with a digit) standing alone,
not `&lt;@U…&gt;` (typed out) nor part of an address."""


class RenderError(JethroError):
    """A template is missing, broken or produced something that is not a Block Kit message."""


class SlackText(str):
    """Text an escaping filter produced; only these (and numbers) may reach `tojson`."""


class Mrkdwn(SlackText):
    """Safe inside a `mrkdwn` text object: entities encoded, links and mentions ours."""


class Plain(SlackText):
    """Safe inside a `plain_text` object, which Slack shows literally: raw characters."""


class Opaque(SlackText):
    """A value Slack hands back but never shows, such as a button's `value`."""


class JsonText(str):
    """A JSON value `tojson` produced: the only thing a template hole may output."""


def _escaped(value: object) -> Mrkdwn:
    if isinstance(value, Mrkdwn):
        return value
    return Mrkdwn(mrkdwn.escape(str(value)))


def _md_to_mrkdwn(value: object) -> Mrkdwn:
    return Mrkdwn(_converted(str(value)))


@lru_cache(maxsize=256)
def _converted(md: str) -> str:
    """The same few articles answer most reports, and converting one is a full CommonMark parse
    (about a tenth of a report's CPU time under load)."""
    return mrkdwn.markdown_to_mrkdwn(md)


def _plain(value: object, limit: int = SECTION_TEXT_MAX) -> Plain:
    """For `plain_text` fields: broadcasts split, no entities (mrkdwn input is decoded first)."""
    text = mrkdwn.unescape(value) if isinstance(value, Mrkdwn) else str(value)
    return Plain(clip(mrkdwn.neutralise_broadcasts(text), limit))


def _quote(value: object) -> Mrkdwn:
    """Someone's words as a block quote. The people and channels they mentioned stay mentions
    (`bot.incoming.words` stored `<@U…>` as `@U…`): naming a colleague is part of a report. A
    broadcast, a user group or markup they typed out literally stays inert."""
    escaped = _escaped(value)
    quoted = "\n".join(f"> {line}" for line in escaped.split("\n"))
    return Mrkdwn(_WRITTEN_MENTION.sub(lambda m: f"<{m.group(1)}{m.group(2)}>", quoted))


def _mention(user_id: object) -> Mrkdwn:
    """`<@U…>` for a well-formed user id; anything else is shown as inert text."""
    text = str(user_id)
    return Mrkdwn(f"<@{text}>" if _USER_ID.fullmatch(text) else mrkdwn.escape(f"@{text}"))


def _shorten(value: object, cap: int = ARTICLE_CAP, full_url: str | None = None) -> Mrkdwn:
    url = mrkdwn.link_url(full_url) if full_url and mrkdwn.linkable(full_url) else None
    return Mrkdwn(shorten(_escaped(value), cap, full_url=url))


def _fmt(template: object, *args: object) -> Mrkdwn:
    """Fill each `%s` of a mrkdwn literal; the literal and every non-mrkdwn value are escaped."""
    pieces = _escaped(template).split("%s")
    if len(pieces) != len(args) + 1:
        raise RenderError(f"fmt: {len(pieces) - 1} %s holes but {len(args)} values")
    filled = [pieces[0]]
    for arg, piece in zip(args, pieces[1:], strict=True):
        filled += [_number(arg) if isinstance(arg, int | float) else _escaped(arg), piece]
    return Mrkdwn("".join(filled))


def _number(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _percent(value: object) -> Mrkdwn:
    return Mrkdwn(f"{float(cast(float, value)) * 100:.0f}%")


def _opaque(value: object) -> Opaque:
    """Kept exactly, if it fits: Slack returns it to the listener untouched."""
    text = str(value)
    if len(text) > BUTTON_VALUE_MAX:
        raise RenderError(f"opaque: value is {len(text)} characters, over {BUTTON_VALUE_MAX}")
    return Opaque(text)


def _tojson(value: object) -> JsonText:
    return JsonText(json.dumps(_checked(value), ensure_ascii=False))


def _checked(value: object) -> object:
    if isinstance(value, SlackText) or value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        raise RenderError(
            f"tojson got unescaped text {clip(value, 40)!r}: pass it through mrkdwn_escape, "
            "md_to_mrkdwn or plain first"
        )
    if isinstance(value, Sequence):
        return [_checked(item) for item in value]
    raise RenderError(f"tojson cannot encode a {type(value).__name__}")


def _finalize(value: object) -> object:
    if isinstance(value, JsonText):
        return value
    if isinstance(value, bool | int | float):
        return _tojson(value)
    raise RenderError(
        f"a template may only output JSON: end the expression with `| tojson` (got {value!r:.40})"
    )


FILTERS: Mapping[str, Any] = {
    "mrkdwn_escape": _escaped,
    "md_to_mrkdwn": _md_to_mrkdwn,
    "plain": _plain,
    "quote": _quote,
    "mention": _mention,
    "shorten": _shorten,
    "fmt": _fmt,
    "percent": _percent,
    "opaque": _opaque,
    "tojson": _tojson,
}


def build_environment(override_dir: Path | None = None) -> jinja2.Environment:
    """The environment: the operator's folder (the `JETHRO_TEMPLATE_DIR` setting) wins over ours."""
    folders = [DEFAULT_TEMPLATES] if override_dir is None else [override_dir, DEFAULT_TEMPLATES]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


class Renderer:
    """Renders named templates into messages that fit Slack's limits."""

    def __init__(self, override_dir: Path | None = None) -> None:
        if override_dir is not None and not override_dir.is_dir():
            raise RenderError(
                f"JETHRO_TEMPLATE_DIR={str(override_dir)!r} is not a folder: create it, or leave "
                "the setting empty to use the built-in templates"
            )
        self.env = build_environment(override_dir)

    def message(self, name: str, **ctx: object) -> Message:
        template = self._template(name)
        where = template.filename or template.name or name
        try:
            output = template.render(**ctx)
        except Exception as exc:
            raise RenderError(f"{where}:{_template_line(exc, where)}: {exc}") from exc
        return _as_message(output, where)

    def blocks(self, name: str, **ctx: object) -> list[Block]:
        return self.message(name, **ctx)["blocks"]

    def _template(self, name: str) -> jinja2.Template:
        filename = name if name.endswith(SUFFIX) else name + SUFFIX
        try:
            return self.env.get_template(filename)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or filename}:{exc.lineno}: {exc.message}") from exc
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"{filename}: no such template") from exc


def _template_line(exc: BaseException, filename: str) -> int:
    """The template line being rendered; Jinja rewrites tracebacks to point into the template."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return (frames[-1].lineno or 1) if frames else 1


def _as_message(output: str, where: str) -> Message:
    try:
        data = json.loads(output)
    except json.JSONDecodeError as exc:
        raise RenderError(
            f"{where}: output is not JSON ({exc.msg} at output line {exc.lineno}, "
            f"column {exc.colno})"
        ) from exc
    if isinstance(data, list):
        data = {"text": "", "blocks": data}
    if not isinstance(data, dict) or not isinstance(data.get("blocks"), list):
        raise RenderError(f'{where}: output must be a list of blocks or {{"text", "blocks"}}')
    blocks = data["blocks"]
    for number, block in enumerate(blocks, 1):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise RenderError(f"{where}: block {number} has no type")
    text = data.get("text", "")
    message = fit_message(cast(list[Block], blocks), text if isinstance(text, str) else "")
    _check_inert(message, where)
    return message


_OUR_MARKUP = re.compile(r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|https?://|mailto:)")


def _check_inert(message: Message, where: str) -> None:
    """Last line of defence: no mrkdwn we send may broadcast or carry markup we did not build."""
    texts = [message["text"], *_mrkdwn_texts(message["blocks"])]
    for text in texts:
        for at in (i for i, ch in enumerate(text) if ch == "<"):
            if not _OUR_MARKUP.match(text, at):
                raise RenderError(f"{where}: unescaped markup in output: {clip(text[at:], 40)!r}")


def _mrkdwn_texts(node: object) -> list[str]:
    if isinstance(node, list):
        return [text for item in node for text in _mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
        return [node["text"]]
    return [text for value in node.values() for text in _mrkdwn_texts(value)]


@cache
def default_renderer() -> Renderer:
    return Renderer()


def render_message(name: str, **ctx: object) -> Message:
    """Render with the built-in templates; the app uses a `Renderer` built from its settings."""
    return default_renderer().message(name, **ctx)


def render_blocks(name: str, **ctx: object) -> list[Block]:
    return default_renderer().blocks(name, **ctx)
