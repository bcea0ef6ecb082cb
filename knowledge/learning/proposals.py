"""Proposed articles: resolved tickets of one new problem, ready for an admin to publish.

An engineer who resolves a ticket as "none: a new problem" says the base lacks an article; the
tickets of the same problem, grouped as `jethro kb gaps` groups reports (`knowledge.gaps`),
make one proposal whose reports become the examples of the article, and whose engineers'
resolution notes become its body. Publishing writes a markdown file into the base (the KB in
git stays the source of truth), which the next reload matches. Pure: values in, text out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import yaml

from knowledge.article import Severity
from knowledge.drafts import TITLE_MAX
from knowledge.errors import JethroError
from knowledge.gaps import find_gaps
from knowledge.parser import parse_article

_SLUG = re.compile(r"[^a-z0-9_]+")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""An id `publish` may use as a file name in the base's folder: no path, nothing the loader
skips (a leading '.' or '_')."""
ID_MAX = 60


class ProposalError(JethroError):
    """A proposal that cannot be published as asked (unknown, taken id, nothing to say)."""


@dataclass(frozen=True)
class Resolved:
    """One ticket resolved as a new problem: its number, the report, the engineer's notes."""

    ticket: int
    report: str
    resolution: str
    team: str | None = None
    severity: Severity = Severity.NORMAL
    resolved_by: str = ""


@dataclass(frozen=True)
class Proposal:
    """The tickets of one new problem; `id` is the oldest ticket's number, so it stays the same
    while more tickets join the group."""

    id: int
    title: str
    keywords: tuple[str, ...]
    tickets: tuple[Resolved, ...]
    """The one most like the rest first (the gap's example), then in ticket order."""

    @property
    def count(self) -> int:
        return len(self.tickets)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "count": self.count,
            "keywords": list(self.keywords),
            "tickets": [{"ticket": t.ticket, "report": t.report} for t in self.tickets],
        }


def propose(resolved: Sequence[Resolved]) -> list[Proposal]:
    """Group the tickets as `jethro kb gaps` does; largest proposal first."""
    gaps = find_gaps([r.report for r in resolved])
    out = []
    for gap in gaps:
        tickets = tuple(resolved[i] for i in gap.positions)
        ordered = (tickets[0], *sorted(tickets[1:], key=lambda t: t.ticket))
        out.append(
            Proposal(
                id=min(t.ticket for t in tickets),
                title=suggested_title(gap.example),
                keywords=gap.keywords,
                tickets=ordered,
            )
        )
    return out


def find_proposal(proposals: Sequence[Proposal], proposal_id: int) -> Proposal:
    """The proposal with `proposal_id`, or the one now holding that ticket (a group's oldest
    ticket can change once tickets of it are published)."""
    for proposal in proposals:
        if proposal.id == proposal_id:
            return proposal
    for proposal in proposals:
        if any(t.ticket == proposal_id for t in proposal.tickets):
            return proposal
    known = ", ".join(str(p.id) for p in proposals[:10]) or "none"
    raise ProposalError(
        f"no proposed article {proposal_id} (proposals: {known}); `jethro kb proposals` lists them"
    )


def suggested_title(report: str) -> str:
    first = next((line for line in report.splitlines() if line.strip()), report)
    title = " ".join(first.split())
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"
    return (title[:1].upper() + title[1:]) or "Untitled problem"


def article_id_for(title: str) -> str:
    """A file name and id from a title: lower case, words joined by '-' (underscores kept)."""
    slug = _SLUG.sub("-", title.lower()).strip("-")[:ID_MAX].strip("-")
    if not slug:
        raise ProposalError(f"cannot make an article id from the title {title!r}: pass --id")
    return slug


def checked_id(article_id: str) -> str:
    if not _ID.fullmatch(article_id) or len(article_id) > 2 * ID_MAX:
        raise ProposalError(
            f"{article_id!r} cannot be an article id here: use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit"
        )
    return article_id


def article_text(
    proposal: Proposal, *, article_id: str, title: str, taken: Collection[str] = ()
) -> str:
    """The markdown file: the reports as examples (one line each, without those already an
    example elsewhere in the base, `taken`, compared folded as `jethro kb lint` does), the
    resolution notes as body (the most used first), the tickets' team and severity."""
    seen = {_folded(t) for t in taken}
    examples: list[str] = []
    for ticket in proposal.tickets:
        line = " ".join(ticket.report.split())
        if line and _folded(line) not in seen:
            seen.add(_folded(line))
            examples.append(line)
    notes = Counter(t.resolution.strip() for t in proposal.tickets if t.resolution.strip())
    if not notes:
        numbers = ", ".join(f"#{t.ticket}" for t in proposal.tickets)
        raise ProposalError(
            f"tickets {numbers} have no resolution notes to make the article's body from"
        )
    first = {note: n for n, note in enumerate(t.resolution.strip() for t in proposal.tickets)}
    body = "\n\n".join(sorted(notes, key=lambda note: (-notes[note], first[note])))
    front: dict[str, object] = {"title": title, "id": article_id, "examples": examples}
    team = Counter(t.team for t in proposal.tickets if t.team).most_common(1)
    if team:
        front["team"] = team[0][0]
    severity = max((t.severity for t in proposal.tickets), key=_SEVERITIES.index)
    if severity is not Severity.NORMAL:
        front["severity"] = severity.value
    header = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
    numbers = ", ".join(f"#{t.ticket}" for t in sorted(proposal.tickets, key=lambda t: t.ticket))
    who = ", ".join(sorted({t.resolved_by for t in proposal.tickets if t.resolved_by}))
    note = f"<!-- Published from tickets {numbers}{f', resolved by {who}' if who else ''}. -->"
    text = f"---\n{header}---\n{body}\n\n{note}\n"
    _, problems = parse_article(text, f"{article_id}.md", article_id)
    errors = [p for p in problems if p.level == "error"]
    if errors:  # a bug here, or a title YAML cannot hold: never write a file that does not load
        raise ProposalError("; ".join(p.message for p in errors))
    return text


_SEVERITIES = list(Severity)


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())
