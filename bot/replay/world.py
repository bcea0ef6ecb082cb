"""The deployment a replay runs on: the bot's own desk, engineers' channel, knowledge base and
learning, on a scratch SQLite database and a scratch copy of the base, never the operator's.

The parts are the ones `jethro run` composes (`bot.app`), driven in-process instead of over
HTTP: a report goes to `Desk.take` as the message listener passes it, a button to `Desk.click`,
Resolve to `EngineersChannel.resolve`. Nothing is sent to Slack: the outbox keeps the messages,
and `delivered` does the one thing a sent message does that the people here need (the bot's
first message starts the conversation's thread, where the suggestion buttons are).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col, select

from bot.channel import EngineersChannel
from bot.config import Settings, load_settings
from bot.desk import Desk
from bot.learning import LessonSync
from bot.render import Renderer
from bot.runtime import matcher_builder, open_database
from escalation import threads
from escalation.clock import FixedClock
from escalation.db import plain, session
from escalation.models import LearnedLesson, SlackConversation
from knowledge.learning import LessonKind, LessonSource
from knowledge.live import LiveKnowledge

CHANNEL = "C0REPLAYENGINEERS"


@dataclass
class World:
    settings: Settings
    knowledge: LiveKnowledge
    desk: Desk
    engineers: EngineersChannel
    clock: FixedClock
    kb_root: Path

    def conversation(self, reporter: str) -> SlackConversation | None:
        """The reporter's conversation (each replayed report has its own reporter)."""
        query = select(SlackConversation).where(col(SlackConversation.reporter) == reporter)
        with session(self.desk.engine) as db:
            return db.exec(query).first()

    def delivered(self, conversation: SlackConversation, ts: str) -> None:
        """The bot's first message of `conversation` was posted as `ts` (what the outbox's hook
        records after Slack answers): its thread is the conversation's from now on."""
        with session(self.desk.engine) as db:
            threads.thread_started(db, conversation.key, conversation.channel, ts)

    def examples_learned(self) -> int:
        query = (
            sa.select(sa.func.count(col(LearnedLesson.id)))
            .where(col(LearnedLesson.kind) == LessonKind.EXAMPLE.value)
            .where(col(LearnedLesson.source) != LessonSource.OUTCOME.value)
        )
        with session(self.desk.engine) as db:
            return int(plain(db).execute(query).scalar_one())


@contextmanager
def scratch_world(kb_dir: Path, environ: Mapping[str, str] | None = None) -> Iterator[World]:
    """A world on copies, removed afterwards. The operator's settings choose the matcher, the
    model, the embedding cache and the thresholds, as for `jethro kb eval`; the database and the
    knowledge-base folder are always the scratch ones."""
    with tempfile.TemporaryDirectory(prefix="jethro-replay-") as scratch:
        root = Path(scratch)
        kb_root = root / "kb"
        shutil.copytree(kb_dir, kb_root, ignore=shutil.ignore_patterns(".git"))
        settings = load_settings(
            os.environ if environ is None else environ,
            database_url=f"sqlite:///{root / 'replay.db'}",
            kb_dir=kb_root,
            escalation_channel=CHANNEL,
        )
        engine = open_database(settings)
        build = matcher_builder(settings)
        assert build.lessons is not None
        learning = LessonSync(engine, build.lessons)
        knowledge = LiveKnowledge(kb_root, build)
        renderer = Renderer(settings.template_dir)
        clock = FixedClock()
        desk = Desk(
            engine=engine,
            knowledge=knowledge,
            renderer=renderer,
            settings=settings,
            clock=clock,
            learning=learning,
        )
        engineers = EngineersChannel(
            engine=engine,
            renderer=renderer,
            settings=settings,
            clock=clock,
            kb_root=kb_root,
            learning=learning,
        )
        channel_log = logging.getLogger("bot.channel")
        level = channel_log.level
        channel_log.setLevel(logging.ERROR)  # "changed before its message was posted": none is
        try:
            yield World(settings, knowledge, desk, engineers, clock, kb_root)
        finally:
            channel_log.setLevel(level)
            engine.dispose()
