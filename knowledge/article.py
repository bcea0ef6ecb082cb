"""The article: one markdown file of the knowledge base, as the rest of Jethro sees it.

The values here are a public contract (admins write them in front matter), so the enums are
explicit strings, never derived from names or positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    """What the bot does when an article is the best match."""

    ANSWER = "answer"
    ESCALATE = "escalate"


class Severity(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class Visibility(StrEnum):
    """Who may read an article's answer where it was asked: `private` ones (account compromise,
    payslips, people leaving) are answered in the asker's DM, never in a channel."""

    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True)
class Article:
    """A parsed article. `path` is relative to the KB folder; `line` starts its front matter."""

    id: str
    title: str
    body: str
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    action: Action = Action.ANSWER
    severity: Severity = Severity.NORMAL
    team: str | None = None
    visibility: Visibility = Visibility.PUBLIC
    path: str = ""
    line: int = 1
    example_lines: tuple[int, ...] = field(default=(), compare=False)

    @property
    def private(self) -> bool:
        return self.visibility is Visibility.PRIVATE
