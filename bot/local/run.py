"""`jethro run` without a Slack app: the real bot, the stand-in Slack, and the page, in one process.

The bot is started exactly as `jethro run` starts it for Slack (`bot.server.started`: the Bolt
app, desk, outbox, escalation and SLA timers, KB watcher) and listens on its own port for
`/slack/events`; only its settings differ: the Web API address is the stand-in's, the signing
secret and token are made up for this run, the database is a fresh SQLite file, and the on-call
schedule puts the workspace's on-call engineer on every team.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from bot.app import Services
from bot.config import Settings
from bot.local.admin import AdminPage
from bot.local.page import PageApp
from bot.local.workspace import BACKUP, ENGINEERS_ID, ONCALL, PEOPLE, Workspace
from bot.runtime import open_slack_services
from bot.server import EVENTS_PATH, HttpServer, http_routes, started, stop_on_sigterm
from escalation.clock import OffsetClock
from escalation.oncall import SAMPLE_ONCALL, load_oncall
from escalation.schedule import OncallSchedule

DEFAULT_PORT = 3000
CONNECT_REAL_SLACK = (
    "To use a real Slack app instead, set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and "
    "JETHRO_ESCALATION_CHANNEL (docs/slack-setup.md) and run `jethro run` again."
)


def local_schedule() -> OncallSchedule:
    """The sample schedule's teams and times, with the workspace's on-call engineer as every
    team's primary and the other engineer as secondary, paging in the engineers' channel."""
    sample = load_oncall(SAMPLE_ONCALL)
    people = {"primary": (ONCALL.id,), "secondary": (BACKUP.id,)}
    teams = tuple(
        replace(
            team,
            channel=None,
            layers=tuple(replace(layer, members=people[layer.name]) for layer in team.layers),
        )
        for team in sample.teams
    )
    return replace(sample, teams=teams, path="(local workspace)")


def local_settings(settings: Settings, workspace: Workspace, api_url: str, db: Path) -> Settings:
    return replace(
        settings,
        slack_bot_token=workspace.token,
        slack_signing_secret=workspace.secret,
        slack_app_token="",
        slack_api_url=api_url,
        escalation_channel=workspace.engineers.id,
        admins=tuple(p.id for p in PEOPLE if p.admin),
        oncall_file=None,
        database_url=settings.database_url if db == Path() else f"sqlite:///{db}",
    )


@dataclass
class Running:
    """A started local workspace; `url` is the page."""

    page: HttpServer
    bot: HttpServer
    workspace: Workspace
    services: Services
    clock: OffsetClock

    @property
    def url(self) -> str:
        return self.page.url

    def wait(self) -> None:
        """Serve until Ctrl-C or SIGTERM (as `docker stop` sends)."""
        stop_on_sigterm()
        threading.Event().wait()

    def skip(self, minutes: float) -> None:
        self.clock.skip(timedelta(minutes=minutes))
        self.services.wake()


@contextlib.contextmanager
def local_workspace(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    kb_dir: Path | None = None,
    database_url: str | None = None,
) -> Iterator[Running]:
    """Everything started; stopped on the way out. `database_url` None: a fresh SQLite file."""
    clock = OffsetClock()
    page = PageApp(clock)
    server = HttpServer(page, host=host, port=port)  # bound now: its port makes the API URL
    address = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{server.port}"
    engineers = settings.escalation_channel or ENGINEERS_ID
    workspace = page.attach(engineers, address)
    with contextlib.ExitStack() as stack:
        server.start()  # the Web API answers from now on: building the app calls auth.test
        stack.callback(server.stop)
        stack.callback(page.close)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jethro-local-")))
        db = Path() if database_url else folder / "jethro-local.db"
        configured = replace(settings, database_url=database_url or settings.database_url)
        bot_settings = local_settings(configured, workspace, address + "/api/", db)
        services = open_slack_services(bot_settings, kb_dir, clock=clock, schedule=local_schedule())
        stack.callback(services.engine.dispose)  # after the workers stop: they use it
        app, services = stack.enter_context(started(services))
        bot = HttpServer(http_routes(app, services), host="127.0.0.1", port=0).start()
        stack.callback(bot.stop)
        workspace.events_url = bot.url + EVENTS_PATH
        running = Running(server, bot, workspace, services, clock)
        admin = AdminPage(
            services.knowledge, services.engine, clock, bot_settings, workspace_url="/"
        )
        page.serve(running, admin)
        yield running
