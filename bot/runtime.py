"""The composition root for the CLI: settings in, a ready knowledge base, matcher and database out.

Built lazily per command, so `jethro --help` works whatever the configuration says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from bot.config import Settings
from escalation.db import current_revision, head_revision, make_engine, missing_sqlite_file, upgrade
from escalation.errors import JethroError
from knowledge.index import Matcher
from knowledge.learning import Lessons
from knowledge.loader import KnowledgeBase, load_kb, sample_kb_path
from knowledge.matchers import MatcherFactory, matcher_factory

if TYPE_CHECKING:
    from bot.app import Services

SLACK_TIMEOUT_S = 20
"""Per Web API call; the outbox's lease (60 s) must outlast it."""


@dataclass(frozen=True)
class KnowledgeRuntime:
    kb: KnowledgeBase
    matcher: Matcher


def kb_root(settings: Settings, override: Path | None = None) -> Path:
    return override or settings.kb_dir or sample_kb_path()


def load_knowledge(settings: Settings, override: Path | None = None) -> KnowledgeRuntime:
    kb = load_kb(kb_root(settings, override))
    return KnowledgeRuntime(kb=kb, matcher=matcher_builder(settings)(kb))


def matcher_builder(settings: Settings) -> MatcherFactory:
    """One per process: the semantic encoder inside it is loaded once and reused on reloads,
    and so are the lessons it learns (`knowledge.learning`): empty until a bot pulls them from
    the database, so a command that only matches (`kb eval`, `ask`) decides as before."""
    return matcher_factory(
        settings.matcher,
        settings.embedding_model,
        settings.cache_dir,
        tune=settings.tune == "auto",
        precision=settings.encoder_precision,
        target_precision=settings.target_precision,
        lessons=Lessons(),
    )


def open_database(settings: Settings) -> Engine:
    """Connect and bring the schema to the newest migration, as every start does."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine


def served_database(settings: Settings) -> Engine | None:
    """The bots' database when it exists at the newest migration, for a command that only reads
    what they learned (`kb eval`); None otherwise. Never creates or migrates it."""
    try:
        engine = make_engine(settings.database_url)
        if not missing_sqlite_file(engine) and current_revision(engine) == head_revision():
            return engine
    except JethroError:
        pass
    return None


def open_slack_services(settings: Settings, override: Path | None = None) -> Services:
    """Everything `jethro run` needs, with the real clock; nothing is started yet.

    A broken on-call file stops start-up here (`OncallFileError`, its problems as path:line).
    """
    from bot.app import Services
    from bot.paging import page_messages
    from bot.render import Renderer
    from bot.web_client import KeepAliveWebClient
    from escalation.clock import SystemClock
    from escalation.oncall import load_oncall
    from escalation.outbox import OutboxSender, OutboxWorker
    from escalation.timers import EscalationWorker
    from knowledge.live import LiveKnowledge

    renderer = Renderer(settings.template_dir)
    knowledge = LiveKnowledge(kb_root(settings, override), matcher_builder(settings))
    engine = open_database(settings)
    client = KeepAliveWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_S
    )
    clock = SystemClock()
    worker = OutboxWorker(OutboxSender(engine, client, clock))
    # Paging needs real people: the bundled sample's made-up ids are for `jethro oncall show` only.
    schedule = load_oncall(settings.oncall_file) if settings.oncall_file else None
    escalation = (
        EscalationWorker(
            engine,
            clock,
            schedule=schedule,
            compose=page_messages,
            channel=settings.escalation_channel,
            after=worker.wake,
        )
        if schedule is not None
        else None
    )
    return Services(
        settings,
        client,
        engine,
        knowledge,
        renderer,
        clock,
        worker,
        schedule=schedule,
        escalation=escalation,
    )
