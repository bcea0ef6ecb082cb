"""Turning one article file's text into an `Article`, or into problems an admin can fix.

Every problem carries the file and the line it is about: line numbers come from PyYAML's node
marks, offset by where the front matter starts. An article with any error is not returned at all,
so a half-understood file can never answer an employee; warnings keep the article. This module
reads no files and knows nothing of other articles (the loader and linter do that).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from knowledge.article import Action, Article, Severity, Visibility
from knowledge.yaml_problems import Problem, Report, node_kind, yaml_problem

KEYS = ("title", "id", "examples", "keywords", "tags", "action", "severity", "team", "visibility")

# Names admins reach for out of habit from other tools; difflib alone would not find these.
_SYNONYMS = {
    "name": "title",
    "subject": "title",
    "summary": "title",
    "questions": "examples",
    "phrases": "examples",
    "utterances": "examples",
    "samples": "examples",
    "labels": "tags",
    "categories": "tags",
    "category": "tags",
    "priority": "severity",
    "urgency": "severity",
    "level": "severity",
    "owner": "team",
    "oncall": "team",
    "on_call": "team",
    "on-call": "team",
    "queue": "team",
    "group": "team",
    "private": "visibility",
    "privacy": "visibility",
    "confidential": "visibility",
    "sensitive": "visibility",
    "audience": "visibility",
}

_NULL_TAG = "tag:yaml.org,2002:null"
_CLOSERS = ("---", "...")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")
_E = TypeVar("_E", Action, Severity, Visibility)


def parse_article(text: str, path: str, default_id: str) -> tuple[Article | None, list[Problem]]:
    """Parse one file. `path` is relative to the KB folder; `default_id` is used when no `id:`."""
    report = Report(path)
    front = _split(text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff"), report)
    if front is None:
        return None, report.problems
    fields = _fields(front, report)
    if fields is None:
        return None, report.problems
    article = _article(fields, front, default_id, report)
    problems = sorted(report.problems, key=lambda p: p.line)
    return (None if report.failed else article), problems


def did_you_mean(
    word: str, choices: tuple[str, ...], synonyms: dict[str, str] | None = None
) -> str:
    """A " (did you mean 'x'?)" suffix, or "" when nothing is close enough to suggest."""
    lowered = word.strip().lower()
    close = difflib.get_close_matches(lowered, choices, n=1, cutoff=0.6)
    best = (synonyms or {}).get(lowered) or (close[0] if close else None)
    return f" (did you mean '{best}'?)" if best else ""


@dataclass(frozen=True)
class _Front:
    """The file cut in three: front matter YAML, where it sits, and the markdown body."""

    yaml: str
    start: int  # line of the opening '---'
    end: int  # line of the closing '---'
    body: str

    def line(self, node: Node) -> int:
        return self.start + 1 + node.start_mark.line


def _split(text: str, report: Report) -> _Front | None:
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    if lines[first].rstrip() != "---":
        report.error(
            first + 1,
            "missing front matter: start the file with a '---' line, then 'title: ...', "
            "then another '---' line before the resolution",
        )
        return None
    for end in range(first + 1, len(lines)):
        if lines[end].rstrip() in _CLOSERS:
            body = _LEADING_BLANK_LINES.sub("", "\n".join(lines[end + 1 :])).rstrip()
            return _Front("\n".join(lines[first + 1 : end]), first + 1, end + 1, body)
    report.error(first + 1, "front matter is never closed: add a '---' line after its last key")
    return None


def _fields(front: _Front, report: Report) -> dict[str, tuple[ScalarNode, Node]] | None:
    """The front matter's top-level keys with their nodes; None when it is not a YAML mapping."""
    root = _compose(front, report)
    if root is None:
        return None if report.failed else {}
    if not isinstance(root, MappingNode):
        report.error(front.line(root), "front matter must be 'key: value' lines, like 'title: ...'")
        return None
    fields: dict[str, tuple[ScalarNode, Node]] = {}
    for key, value in root.value:
        name = str(key.value) if isinstance(key, ScalarNode) else "?"
        if name in fields:
            first = front.line(fields[name][0])
            report.error(front.line(key), f"duplicate key '{name}' (first at line {first})")
        elif name not in KEYS:
            report.warning(
                front.line(key), f"unknown key '{name}'{did_you_mean(name, KEYS, _SYNONYMS)}"
            )
        elif isinstance(key, ScalarNode):
            fields[name] = (key, value)
    return fields


def _compose(front: _Front, report: Report) -> Node | None:
    try:
        return yaml.compose(front.yaml, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line, detail = yaml_problem(exc)
        report.error(
            front.start + 1 + line if line >= 0 else front.start,
            f"invalid YAML in front matter: {detail}",
        )
    except yaml.reader.ReaderError as exc:
        line = front.start + 1 + front.yaml.count("\n", 0, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        report.error(line, f"invalid YAML in front matter: unacceptable character U+{code:04X}")
    return None


def _article(
    fields: dict[str, tuple[ScalarNode, Node]], front: _Front, default_id: str, report: Report
) -> Article:
    title = _title(fields, front, report)
    known = len(report.problems)
    action = _choice(fields, "action", Action, front, report) or Action.ANSWER
    action_valid = all(p.level == "warning" for p in report.problems[known:])
    examples = _texts(fields, "examples", front, report)
    article = Article(
        id=_article_id(fields, front, default_id, report),
        title=title,
        body=front.body,
        examples=tuple(text for text, _ in examples),
        keywords=tuple(text for text, _ in _texts(fields, "keywords", front, report)),
        tags=tuple(text for text, _ in _texts(fields, "tags", front, report)),
        action=action,
        severity=_choice(fields, "severity", Severity, front, report) or Severity.NORMAL,
        team=_text(fields, "team", front, report),
        visibility=_choice(fields, "visibility", Visibility, front, report) or Visibility.PUBLIC,
        path=report.path,
        line=front.start,
        example_lines=tuple(line for _, line in examples),
    )
    if action is Action.ANSWER and action_valid and not front.body:
        report.error(
            front.end,
            "empty body: an 'answer' article needs a resolution below the front matter "
            "(or set 'action: escalate')",
        )
    if not examples and not report.failed:
        report.warning(
            front.start, "no examples: add a few ways people describe this problem, to match on"
        )
    return article


def _title(fields: dict[str, tuple[ScalarNode, Node]], front: _Front, report: Report) -> str:
    title = _text(fields, "title", front, report)
    if "title" not in fields:
        report.error(front.start, "missing required key 'title'")
    elif not title and isinstance(fields["title"][1], ScalarNode):
        report.error(front.line(fields["title"][1]), "'title' is empty")
    return title or ""


def _article_id(
    fields: dict[str, tuple[ScalarNode, Node]], front: _Front, default_id: str, report: Report
) -> str:
    if "id" not in fields:
        if any(ch.isspace() for ch in default_id):
            report.warning(
                front.start,
                f"the id taken from the file name, '{default_id}', contains spaces: "
                "rename the file or set 'id:'",
            )
        return default_id
    value = _text(fields, "id", front, report)
    line = front.line(fields["id"][1])
    if not value:
        report.error(line, f"'id' is empty: remove it to use the path ('{default_id}')")
    elif any(ch.isspace() for ch in value):
        report.error(
            line, f"id '{value}' contains spaces: use '-' instead, like '{_dashed(value)}'"
        )
    return value or default_id


def _dashed(value: str) -> str:
    return "-".join(value.split())


def _text(
    fields: dict[str, tuple[ScalarNode, Node]], key: str, front: _Front, report: Report
) -> str | None:
    """A scalar value as the admin typed it (so `id: 404` is "404"); None when absent or empty."""
    if key not in fields:
        return None
    node = fields[key][1]
    if not isinstance(node, ScalarNode):
        report.error(front.line(node), f"'{key}' must be text, not a {node_kind(node)}")
        return None
    return None if node.tag == _NULL_TAG else " ".join(str(node.value).split()) or None


def _texts(
    fields: dict[str, tuple[ScalarNode, Node]], key: str, front: _Front, report: Report
) -> list[tuple[str, int]]:
    """A list of texts with their lines; repeats are dropped with a warning."""
    if key not in fields:
        return []
    node = fields[key][1]
    if isinstance(node, ScalarNode):
        if node.tag != _NULL_TAG:
            report.error(
                front.line(node),
                f"'{key}' must be a list, not a single text: write one '- item' per line, "
                f"or [a, b]",
            )
        return []
    if not isinstance(node, SequenceNode):
        report.error(front.line(node), f"'{key}' must be a list, not a {node_kind(node)}")
        return []
    return _items(node, key, front, report)


def _items(node: SequenceNode, key: str, front: _Front, report: Report) -> list[tuple[str, int]]:
    items: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    for item in node.value:
        line = front.line(item)
        if not isinstance(item, ScalarNode):
            hint = "; put it in quotes if it contains ': '" if isinstance(item, MappingNode) else ""
            report.error(line, f"each item of '{key}' must be text, not a {node_kind(item)}{hint}")
            continue
        text = " ".join(str(item.value).split()) if item.tag != _NULL_TAG else ""
        folded = text.casefold()
        if not text:
            report.warning(line, f"empty item in '{key}' is ignored")
        elif folded in seen:
            report.warning(line, f"'{key}' repeats '{text}' (first at line {seen[folded]})")
        else:
            seen[folded] = line
            items.append((text, line))
    return items


def _choice(
    fields: dict[str, tuple[ScalarNode, Node]],
    key: str,
    enum: type[_E],
    front: _Front,
    report: Report,
) -> _E | None:
    value = _text(fields, key, front, report)
    if value is None:
        return None
    allowed = tuple(member.value for member in enum)
    line = front.line(fields[key][1])
    if value.lower() not in allowed:
        report.error(
            line,
            f"unknown {key} '{value}': expected one of {', '.join(allowed)}"
            f"{did_you_mean(value, allowed)}",
        )
        return None
    if value != value.lower():
        report.warning(line, f"write {key} values in lowercase: '{value.lower()}'")
    return enum(value.lower())
