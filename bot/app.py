"""The Slack app: a factory that builds the Bolt app from its services. Never built at import.

`Services` holds everything with a lifetime (Web API client, database, live knowledge base,
outbox worker, listener threads); `create_app` wires the listeners to them. The transport
(`bot.server` for HTTP, Socket Mode in `bot.cli`) only feeds requests in.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot import listeners
from bot.config import Settings
from bot.desk import Desk
from bot.render import Renderer
from escalation.clock import Clock
from escalation.outbox import OutboxWorker
from knowledge.live import LiveKnowledge

log = logging.getLogger(__name__)

LISTENER_THREADS = 8
"""Reports handled at once; each is a few milliseconds of matching and one transaction."""


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

    def close(self) -> None:
        """Let the work in hand finish, then stop sending; unsent messages stay stored."""
        self.listener_threads.shutdown(wait=True)
        self.outbox.stop()


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
    desk = Desk(
        engine=services.engine,
        knowledge=services.knowledge,
        renderer=services.renderer,
        settings=services.settings,
        clock=services.clock,
        wake=services.outbox.wake,
    )
    listeners.register(app, desk)
    app.error(_log_error)
    return app


def _log_error(error: Exception, body: dict[str, Any]) -> None:
    """A bug in a listener: the log gets it (slack_sdk never logs tokens); Slack got its ack."""
    kind = body.get("event", {}).get("type") or body.get("type") or "request"
    log.error("error while handling a %s", kind, exc_info=error)
