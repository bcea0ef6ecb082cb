"""The composition root for the CLI: settings in, a ready knowledge base, matcher and database out.

Built lazily per command, so `jethro --help` works whatever the configuration says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.config import Settings
from escalation.db import make_engine, upgrade
from knowledge.index import LexicalMatcher, Matcher
from knowledge.loader import KnowledgeBase, load_kb, sample_kb_path


@dataclass(frozen=True)
class KnowledgeRuntime:
    kb: KnowledgeBase
    matcher: Matcher


def kb_root(settings: Settings, override: Path | None = None) -> Path:
    return override or settings.kb_dir or sample_kb_path()


def load_knowledge(settings: Settings, override: Path | None = None) -> KnowledgeRuntime:
    kb = load_kb(kb_root(settings, override))
    return KnowledgeRuntime(kb=kb, matcher=build_matcher(kb))


def build_matcher(kb: KnowledgeBase) -> Matcher:
    return LexicalMatcher(kb.articles)


def open_database(settings: Settings) -> Engine:
    """Connect and bring the schema to the newest migration, as every start does."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine
