"""`jethro kb proposals` and `jethro kb publish`: proposed articles from new-problem tickets.

The grouping and the article's text are `knowledge.learning.proposals`; the tickets are read
and marked published through `escalation.proposals`. Publishing writes one markdown file into
the knowledge-base folder (written whole, then renamed, so the watcher never reads half of it);
the bot matches it from its next reload.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from escalation.db import session
from escalation.proposals import mark_published, new_problem_reports
from knowledge.article import Article
from knowledge.learning.proposals import (
    Proposal,
    ProposalError,
    article_id_for,
    article_text,
    checked_id,
    find_proposal,
    propose,
)


@dataclass(frozen=True)
class Published:
    path: Path
    article_id: str
    proposal: Proposal


def proposals(engine: Engine) -> list[Proposal]:
    """The proposed articles now, largest first."""
    with session(engine) as db:
        return propose(new_problem_reports(db))


def publish(
    engine: Engine,
    proposal_id: int,
    kb_root: Path,
    articles: Sequence[Article],
    *,
    title: str | None = None,
    article_id: str | None = None,
) -> Published:
    """Write proposal `proposal_id` as `kb_root/<id>.md` and mark its tickets solved by it.

    `articles`: the base as loaded now, so the new id is not taken and no example repeats one
    of another article (which `jethro kb lint` reports as an error).
    """
    with session(engine) as db:
        proposal = find_proposal(propose(new_problem_reports(db)), proposal_id)
        title = (title or proposal.title).strip()
        if not title:
            raise ProposalError("the title is empty: pass --title")
        new_id = checked_id(article_id) if article_id else article_id_for(title)
        path = kb_root / f"{new_id}.md"
        if any(article.id == new_id for article in articles) or path.exists():
            raise ProposalError(f"an article {new_id!r} exists already: pass another --id")
        taken = [example for article in articles for example in article.examples]
        text = article_text(proposal, article_id=new_id, title=title, taken=taken)
        mark_published(db, [t.ticket for t in proposal.tickets], new_id)
        partial = kb_root / f".{new_id}.md.part"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    return Published(path, new_id, proposal)
