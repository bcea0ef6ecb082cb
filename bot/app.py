"""The Slack app: a factory that builds the Bolt app from its services. Never built at import.

`Services` holds everything with a lifetime (Web API client, database, live knowledge base,
outbox and escalation workers, listener threads, the on-call schedule); `create_app` wires the
listeners to them. The transport (`bot.server` for HTTP, Socket Mode in `bot.cli`) only feeds
requests in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot import listeners
from bot.acks_first import AcksFirst
from bot.blocks import Message
from bot.channel import EngineersChannel
from bot.config import Settings
from bot.desk import Desk
from bot.learning import LessonSync
from bot.listeners import oncall, tickets
from bot.logs import quiet_rejected_requests
from bot.members import ChannelMembers
from bot.metrics import Metrics, ThresholdsCollector
from bot.oncall import OncallDesk
from bot.receipts import ReceiptReplayer, install, keep_for_replay
from bot.render import Renderer
from bot.runtime import kb_root
from bot.web_client import KeepAliveWebClient
from escalation.clock import Clock
from escalation.db import database_away
from escalation.outbox import OutboxWorker
from escalation.schedule import OncallSchedule
from escalation.sla_watch import SlaWorker
from escalation.timers import EscalationWorker
from escalation.worker import Work
from knowledge.learning import LearningMatcher
from knowledge.live import LiveKnowledge

log = logging.getLogger(__name__)

LISTENER_THREADS = 8
"""Requests handled at once. Reports match on all of them (concurrent reports share an encoder
pass) but do the rest at most `bot.desk.BUSY_THREADS` at a time."""


@dataclass
class Services:
    settings: Settings
    client: WebClient
    engine: Engine
    knowledge: LiveKnowledge
    renderer: Renderer
    clock: Clock
    outbox: OutboxWorker
    listener_threads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(LISTENER_THREADS, "jethro-listener")
    )
    schedule: OncallSchedule | None = None
    """Loaded once at start-up; None: tickets page nobody (only the channel message)."""
    escalation: EscalationWorker | None = None
    sla: SlaWorker | None = None
    """Set by `create_app`: flags tickets near or past their SLA on their message, unclicked."""
    owner: str = field(default_factory=lambda: f"jethro-{uuid.uuid4().hex[:12]}")
    """This process, as the holder of the receipts it stores (`bot/receipts.py`)."""
    replayer: ReceiptReplayer | None = None
    """Set by `create_app`: replays the requests a dead or failed handling left."""
    acks: AcksFirst = field(default_factory=AcksFirst)
    """Slack requests in flight over HTTP; the desk and the outbox let them go first."""
    metrics: Metrics = field(init=False)
    """This bot's own registry (`GET /metrics`), so several bots in one process never clash."""
    lesson_poll_seconds: float = 2.0
    """How often this replica reads what the others learned (`bot.learning`)."""
    learning: LessonSync | None = field(init=False)
    """Set when the knowledge base's matcher learns (`knowledge.learning.LearningMatcher`)."""

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.engine, self.clock)
        self.metrics.registry.register(
            ThresholdsCollector(lambda: self.settings.thresholds(self.knowledge.current.matcher))
        )
        matcher = self.knowledge.current.matcher
        self.learning = None
        if isinstance(matcher, LearningMatcher):
            self.learning = LessonSync(self.engine, matcher.lessons, self.lesson_poll_seconds)
            self.learning.pull()  # what every replica learned before this one started
        self.outbox.sender.observer = self.metrics
        self.outbox.pause = self.acks.wait_turn

    def start_workers(self) -> None:
        self.outbox.start()
        if self.learning is not None:
            self.learning.poll_seconds = self.lesson_poll_seconds
            self.learning.start()
        if self.escalation is not None:
            self.escalation.start()
        if self.sla is not None:
            self.sla.start()
        if self.replayer is not None:
            self.replayer.start()

    def wake(self, work: Collection[Work] = tuple(Work)) -> None:
        """New work was committed for these workers (`escalation.worker.queued` says which):
        a page may be due now, a ticket's message may need its SLA flag, messages are queued.
        The receipt replayer is never woken: what it replays is due only when a lease runs out.
        """
        if Work.ESCALATION in work and self.escalation is not None:
            self.escalation.wake()
        if Work.SLA in work and self.sla is not None:
            self.sla.wake()
        if Work.OUTBOX in work:
            self.outbox.wake()

    def close(self) -> None:
        """Let the work in hand finish, then stop sending; unsent messages and due escalation
        steps stay stored for the next start."""
        if self.replayer is not None:
            self.replayer.stop()
        self.listener_threads.shutdown(wait=True)
        if self.learning is not None:
            self.learning.stop()
        if self.escalation is not None:
            self.escalation.stop()
        if self.sla is not None:
            self.sla.stop()
        self.outbox.stop()
        if isinstance(self.client, KeepAliveWebClient):
            self.client.close()


def desk_for(services: Services) -> Desk:
    """The desk the listeners hand reports and clicks to (also what `bench/desk.py` drives)."""
    return Desk(
        engine=services.engine,
        knowledge=services.knowledge,
        renderer=services.renderer,
        settings=services.settings,
        clock=services.clock,
        wake=services.wake,
        schedule=services.schedule,
        metrics=services.metrics,
        acks=services.acks,
        learning=services.learning,
    )


def create_app(services: Services) -> App:
    """The Bolt app: every listener acknowledges first and works after (`process_before_response`
    off), and the bot's own messages never reach a listener."""
    app = App(
        name="jethro",
        client=services.client,
        signing_secret=services.settings.slack_signing_secret,
        process_before_response=False,
        listener_executor=services.listener_threads,
        ignoring_self_events_enabled=True,
        logger=logging.getLogger("slack_bolt"),
    )
    quiet_rejected_requests()
    services.replayer = install(app, services.engine, services.clock, services.owner)
    desk = desk_for(services)
    engineers = EngineersChannel(
        engine=services.engine,
        renderer=services.renderer,
        settings=services.settings,
        clock=services.clock,
        kb_root=kb_root(services.settings),
        wake=services.wake,
        metrics=services.metrics,
        learning=services.learning,
    )
    services.sla = SlaWorker(
        services.engine,
        services.clock,
        targets=services.settings,
        refresh=engineers.update_message,
        after=services.outbox.wake,
    )
    members = ChannelMembers(services.client, services.settings.escalation_channel, services.clock)
    tickets.register(app, engineers, members, desk)  # first: it claims the ticket threads
    listeners.register(app, desk)
    if services.schedule is not None:
        _register_oncall(app, services, members.includes, desk.sorry)
    else:
        oncall.register_unconfigured(app)
    app.error(_log_error)
    return app


def _register_oncall(
    app: App, services: Services, may_override: Callable[[str], bool], sorry: Callable[[], Message]
) -> None:
    """`/oncall`: overrides are for members of the engineers' channel, who take the pages."""
    assert services.schedule is not None
    desk = OncallDesk(
        engine=services.engine,
        schedule=services.schedule,
        renderer=services.renderer,
        clock=services.clock,
        default_team=services.settings.default_team,
        may_override=may_override,
    )
    oncall.register(app, desk, sorry)


def _log_error(error: Exception, body: dict[str, Any], context: BoltContext) -> None:
    """A bug in a listener: the log gets it (slack_sdk never logs tokens); Slack got its ack.
    The database away: the request's receipt is kept, and it is handled again once it is back."""
    kind = body.get("event", {}).get("type") or body.get("type") or "request"
    if database_away(error):
        keep_for_replay(context)
        log.warning("the database is away; a %s is kept to handle again: %s", kind, error)
        return
    log.error("error while handling a %s", kind, exc_info=error)
