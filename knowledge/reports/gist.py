"""The prose of a report, without the logs, traces and code pasted into it.

A sentence encoder reads only its first 128 tokens and the lexical matcher counts every word, so
eight pasted log lines drown the one sentence that says what is wrong: matched whole, long reports
were answered 5 times in 100 (docs/matching.md). People paste machine output in recognisable
shapes (timestamps, log levels, stack frames, request lines, key=value runs, code fences), so
those lines are set aside and the rest is matched. A report that is nothing but machine output is
matched whole: it is all there is to go on.
"""

from __future__ import annotations

import re

_TIMESTAMP = re.compile(
    r"^\W{0,3}(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}:\d{2}:\d{2}|"
    r"((mon|tue|wed|thu|fri|sat|sun)[a-z]* +)?"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* +\d{1,2} +\d{1,2}:\d{2})",
    re.IGNORECASE,
)
_LEVEL = re.compile(r"(^|[\s\[(|:])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRIT)\b")
_BRACKETED_START = re.compile(r"^\s*\[[^\]]{1,40}\]")
_FRAME = re.compile(
    r"^\s*(Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|at [\w$.<>]+\(.*\)$|"
    r"#\d+ +0x[0-9a-f]+|\w+(\.\w+)+(Error|Exception)\b)"
)
_REQUEST = re.compile(r"^\s*(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) +/\S*")
_KEY_VALUE = re.compile(r"\b[\w.-]+=\S+")
_PROMPT = re.compile(r"^\s*([$#>]|PS [A-Z]:\\[^>]*>|[\w.-]+@[\w.-]+:\S*[$#]) ")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
_TOKEN = re.compile(r"\S+")
_FENCE = "```"


def is_machine_line(line: str) -> bool:
    """Whether a line reads as pasted output rather than something a person wrote."""
    text = line.strip()
    if not text:
        return False
    if _TIMESTAMP.match(text) or _FRAME.match(text) or _REQUEST.match(text):
        return True
    if _PROMPT.match(text):
        return True
    if len(_KEY_VALUE.findall(text)) >= 2:
        return True
    starts_bracketed = _BRACKETED_START.match(text) is not None
    if _LEVEL.search(text[:40]) and (starts_bracketed or _mostly_symbols(text, 0.3)):
        return True
    return _mostly_symbols(text, 0.5)


def _mostly_symbols(text: str, share: float) -> bool:
    """More than `share` of the tokens are not plain words (ids, paths, numbers, hex)."""
    tokens = _TOKEN.findall(text)
    if len(tokens) < 3:
        return False
    plain = sum(1 for token in tokens if _WORD.fullmatch(token.strip(".,:;!?()'\"")))
    return (len(tokens) - plain) / len(tokens) > share


def gist(text: str) -> str:
    """The report's prose lines; the whole report when it has none."""
    kept: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.strip().startswith(_FENCE):
            fenced = not fenced
            continue
        if fenced or is_machine_line(line):
            continue
        kept.append(line)
    prose = "\n".join(kept).strip()
    return prose if _WORD.search(prose) else text


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
MIN_SENTENCE_WORDS = 3
MAX_READINGS = 8


def readings(text: str) -> tuple[str, ...]:
    """The ways to read a report: its prose whole and, when it runs to several sentences, each
    sentence alone, since the greeting around a problem dilutes it as much as a log does."""
    prose = gist(text)
    sentences = [
        s.strip() for s in _SENTENCE_END.split(prose) if len(_WORD.findall(s)) >= MIN_SENTENCE_WORDS
    ]
    if len(sentences) < 2:
        return (prose,)
    return (prose, *sentences[: MAX_READINGS - 1])
