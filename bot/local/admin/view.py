"""What the admin view shows, read from the running bot's parts at each request.

Nothing is computed here that the CLI, `jethro doctor`, App Home or /metrics computes another
way: the problems are `knowledge.lint`'s, the thresholds `Settings.thresholds`, the gap groups
`knowledge.gaps`, the figures `escalation.stats`. `version` is the cheap part: a fingerprint of
the knowledge snapshot, the database's rows and the day, which the page polls so that it renders
everything again only when something changed.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from escalation.clock import Clock
from escalation.db import session
from escalation.models import ConversationTurn, Feedback, Ticket
from escalation.stats import Day, Stats, collect_stats, daily_stats, escalated_reports
from knowledge.calibration import BASE, OUTCOMES, PRIOR, SETTING, Thresholds
from knowledge.gaps import find_gaps
from knowledge.lint import lint_loaded
from knowledge.live import KnowledgeSnapshot, LiveKnowledge
from knowledge.yaml_problems import Problem

STATS_DAYS = 14
GAPS_DAYS = 30
"""As `jethro kb gaps` by default."""
GAPS_SHOWN = 20
REPORTS_SHOWN = 5
"""Per gap group, as `jethro kb gaps` lists them."""

SOURCES = {
    PRIOR: "the shipped defaults, measured on CLINC150",
    BASE: "calibrated on this knowledge base's held-out examples",
    OUTCOMES: "refit on real Solved / Still broken verdicts",
    SETTING: "set by the operator",
}


@dataclass(frozen=True)
class ArticleRow:
    id: str
    title: str
    path: str
    action: str
    team: str
    tags: tuple[str, ...]
    visibility: str
    examples: int
    stale: bool
    """Its file's newest version has errors: this is the last good version, still serving."""


@dataclass(frozen=True)
class GapGroup:
    size: int
    keywords: tuple[str, ...]
    reports: tuple[tuple[int, str], ...]
    """(ticket number, report) for the first `REPORTS_SHOWN`, the most typical first."""


@dataclass(frozen=True)
class AdminView:
    now: datetime
    kb_root: str
    loaded_at: datetime
    articles: tuple[ArticleRow, ...]
    problems: tuple[Problem, ...]
    thresholds: Thresholds
    source: str
    """Where `thresholds` came from, in words."""
    target_precision: float
    gaps: tuple[GapGroup, ...]
    more_gaps: int
    stats: Stats
    days: tuple[Day, ...]


class AdminData:
    """Reads the view; lints each knowledge snapshot once (the cross-article checks rank every
    example), however often the page polls."""

    def __init__(
        self, knowledge: LiveKnowledge, engine: Engine, clock: Clock, settings: Settings
    ) -> None:
        self.knowledge = knowledge
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self._linted: tuple[KnowledgeSnapshot, tuple[Problem, ...]] | None = None
        self._lock = threading.Lock()

    def version(self) -> str:
        """Changes whenever what `view` shows may have: another snapshot, new or changed rows,
        another day (the windows are whole days)."""
        snapshot = self.knowledge.current
        with Session(self.engine) as db:
            rows = (
                db.exec(select(sa.func.count(), sa.func.max(ConversationTurn.at))).one(),
                db.exec(select(sa.func.count(), sa.func.max(Feedback.at))).one(),
                db.exec(select(sa.func.count(), sa.func.max(Ticket.updated_at))).one(),
            )
        seen = (
            snapshot.loaded_at,
            snapshot.problems,
            snapshot.stale,
            rows,
            self.clock.now().date(),
        )
        return hashlib.sha256(repr(seen).encode()).hexdigest()[:16]

    def view(self) -> AdminView:
        snapshot = self.knowledge.current
        now = self.clock.now()
        today = datetime.combine(now.date(), time(), tzinfo=UTC)
        since, until = today - timedelta(days=STATS_DAYS - 1), today + timedelta(days=1)
        with session(self.engine) as db:
            stats = collect_stats(
                db, since=since, until=until, default_team=self.settings.default_team
            )
            days = daily_stats(db, since=since, until=until)
            escalated = escalated_reports(db, since=today - timedelta(days=GAPS_DAYS - 1))
        thresholds = self.settings.thresholds(snapshot.matcher)
        gaps = _gap_groups(escalated)
        return AdminView(
            now=now,
            kb_root=str(self.knowledge.root),
            loaded_at=snapshot.loaded_at,
            articles=_articles(snapshot),
            problems=self._problems(snapshot),
            thresholds=thresholds,
            source=SOURCES.get(thresholds.source, thresholds.source),
            target_precision=self.settings.target_precision,
            gaps=tuple(gaps[:GAPS_SHOWN]),
            more_gaps=max(0, len(gaps) - GAPS_SHOWN),
            stats=stats,
            days=tuple(days),
        )

    def _problems(self, snapshot: KnowledgeSnapshot) -> tuple[Problem, ...]:
        with self._lock:
            if self._linted is None or self._linted[0] is not snapshot:
                found = lint_loaded(snapshot.kb.articles, snapshot.problems)
                self._linted = (snapshot, tuple(found))
            return self._linted[1]


def _articles(snapshot: KnowledgeSnapshot) -> tuple[ArticleRow, ...]:
    stale = set(snapshot.stale)
    return tuple(
        ArticleRow(
            id=article.id,
            title=article.title,
            path=article.path,
            action=article.action.value,
            team=article.team or "",
            tags=article.tags,
            visibility=article.visibility.value,
            examples=len(article.examples),
            stale=article.path in stale,
        )
        for article in sorted(snapshot.kb.articles, key=lambda a: a.path)
    )


def _gap_groups(escalated: list[tuple[int, str]]) -> list[GapGroup]:
    """`jethro kb gaps`'s groups, with each report's ticket number."""
    return [
        GapGroup(
            size=len(gap.reports),
            keywords=gap.keywords,
            reports=tuple(escalated[i] for i in gap.positions[:REPORTS_SHOWN]),
        )
        for gap in find_gaps([text for _, text in escalated])
    ]
