"""What a person typed, made safe once where it enters, for everything behind it.

A JSON body can carry what no keyboard types: lone surrogates (the tokenizer raises on them, and
neither SQLite's nor PostgreSQL's driver can encode them), NUL (PostgreSQL refuses it in text),
other control characters, bidi overrides that make a ticket read differently from what was sent,
and invisible zero-width characters that split words the matcher and the mrkdwn escaping look
for. `safe_text` turns the harmful ones into visible escapes (`\\u202e`), so the engineer still
sees what was sent, drops the invisible ones, and NFC-normalises the rest. Every edge where user
text enters (events, commands, shortcuts, modal submissions, the CLI) calls it, so nothing
behind the edge needs to care. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 40_000
"""Slack's own limit on a message's text: anything longer was not typed into Slack."""
CUT = "…"

_ESCAPE = re.compile(r"\\u[0-9a-f]{4}|\\U[0-9a-f]{8}")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_NEWLINES = re.compile("\r\n?|[\u2028\u2029\x85]")
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
"""Embeddings, overrides and isolates: they reorder what is shown, so they are shown escaped."""
_INVISIBLE = frozenset(
    {0x00AD, 0x034F, 0x061C, 0x180E, 0x200B, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063}
    | {0x2064, 0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB}
)
"""Zero-width and invisible formatting: dropping them changes nothing the person saw."""
_ZWNJ, _ZWJ = 0x200C, 0x200D
_BLACK_FLAG = 0x1F3F4
_TAGS = range(0xE0020, 0xE0080)
"""Tag characters spell subdivision flags after U+1F3F4 (🏴 + tags = Scotland); else hidden text."""


def safe_text(text: str) -> str:
    """`text` with nothing in it that can crash, hide or reorder anything; idempotent."""
    text = _PAIR.sub(_joined, text)
    text = _NEWLINES.sub("\n", text)
    kept: list[str] = []
    for index, char in enumerate(text):
        code = ord(char)
        if char in "\n\t":
            kept.append(char)
        elif _harmful(char, code):
            kept.append(_escaped(code))
        elif code in _INVISIBLE or code == 0xE0001:
            continue
        elif code in (_ZWJ, _ZWNJ):
            if _joins(kept, text, index, code):
                kept.append(char)
        elif code in _TAGS or code == 0xE007F:
            if kept and (ord(kept[-1][-1]) == _BLACK_FLAG or ord(kept[-1][-1]) in _TAGS):
                kept.append(char)
        else:
            kept.append(char)
    cleaned = unicodedata.normalize("NFC", "".join(kept))
    if len(cleaned) > MAX_CHARS:  # again: the cut may have split a sequence a joiner held
        return safe_text(cleaned[: MAX_CHARS - len(CUT)] + CUT)
    return cleaned


def matchable(safe: str) -> str:
    """`safe_text`'s output without its escapes, for the matcher: `\\ud800` is no word anyone
    would look an article up by, and only dilutes the ones that are."""
    return _ESCAPE.sub(" ", safe)


def _joined(pair: re.Match[str]) -> str:
    """A surrogate pair left as two code points: the one character it encodes."""
    high, low = (ord(c) for c in pair.group(0))
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def _harmful(char: str, code: int) -> bool:
    """Surrogates, controls, bidi controls, noncharacters: shown as escapes, never obeyed."""
    return (
        0xD800 <= code <= 0xDFFF
        or code in _BIDI
        or _noncharacter(code)
        or unicodedata.category(char) == "Cc"
    )


def _escaped(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _joins(kept: list[str], text: str, index: int, code: int) -> bool:
    """A joiner stays where it does its job: ZWJ inside an emoji sequence (👩‍💻), ZWNJ between
    letters of scripts that need it (Persian, Indic); elsewhere it only splits a word."""
    before = kept[-1][-1] if kept else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if not before or not after:
        return False
    if code == _ZWJ:
        return _emoji_part(before) and _emoji_part(after)
    return _letter(before) and _letter(after) and not (before.isascii() and after.isascii())


def _emoji_part(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("So", "Sk")
        or code == 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0x1F000 <= code <= 0x1FAFF
    )


def _letter(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM"
