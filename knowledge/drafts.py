"""Teaching back: an engineer's resolution drafted as a knowledge-base article for an admin.

A draft is a complete article file (front matter the linter accepts, the resolution as body)
written into a drafts folder the loader skips (`_drafts/`), so nothing reaches employees until an
admin reviews it and moves it into the base. Writes files only; knows nothing of Slack or tickets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.article import Severity

DRAFTS_FOLDER = "_drafts"
TITLE_MAX = 80
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class DraftSource:
    """What a draft is made from: a resolved ticket, as plain values."""

    ticket_number: int
    report: str
    resolution: str
    team: str | None
    severity: Severity
    resolved_by: str


def drafts_folder(kb_root: Path, configured: Path | None) -> Path:
    """`JETHRO_DRAFTS_DIR` if set, else `_drafts/` inside the knowledge base."""
    return configured or kb_root / DRAFTS_FOLDER


def draft_text(source: DraftSource) -> str:
    """The article file: the report's first line as title, the reporter's words as its first
    example, the ticket's team and severity, and the resolution as body."""
    front: dict[str, object] = {
        "title": _title(source.report),
        "id": draft_id(source),
        "examples": [_one_line(source.report)],
        "team": source.team,
        "severity": source.severity.value,
    }
    if source.team is None:
        del front["team"]
    header = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
    note = (
        f"<!-- Drafted from ticket #{source.ticket_number}, resolved by {source.resolved_by}. "
        "Review it, add more examples, then move it into the knowledge base. -->"
    )
    return f"---\n{header}---\n{source.resolution.strip()}\n\n{note}\n"


def draft_id(source: DraftSource) -> str:
    slug = _SLUG.sub("-", _title(source.report).lower()).strip("-")[:50].strip("-")
    return f"ticket-{source.ticket_number}-{slug}" if slug else f"ticket-{source.ticket_number}"


def write_draft(folder: Path, source: DraftSource) -> Path:
    """Write the draft (replacing an earlier draft of the same ticket); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{draft_id(source)}.md"
    path.write_text(draft_text(source), encoding="utf-8")
    return path


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _title(report: str) -> str:
    first = next((line for line in report.splitlines() if line.strip()), report)
    title = _one_line(first)
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"
    return (title[:1].upper() + title[1:]) or "Untitled problem"
