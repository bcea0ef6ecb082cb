"""The bot as deployed, and the people who use it, for end-to-end stories.

`Jethro` runs the real Bolt app on the real HTTP server (waitress, port 0) with a migrated
database, a copy of the sample knowledge base, and a fake Slack Web API; `Employee` sends what
Slack sends when a person types or clicks; `Engineers` read the escalation channel. Time is a
`FixedClock` moved by `time_passes`, so retries happen when a test says, never by sleeping.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.app import Services, create_app
from bot.config import Settings, load_settings
from bot.paging import page_messages
from bot.render import Renderer
from bot.runtime import matcher_builder
from bot.server import EVENTS_PATH, HttpServer, Routes, health_check
from escalation.clock import FixedClock
from escalation.db import make_engine, session, upgrade
from escalation.models import OutboxMessage, OutboxStatus, SlackConversation, Ticket
from escalation.outbox import OutboxSender, OutboxWorker
from escalation.schedule import OncallSchedule
from escalation.sla_watch import due_checks
from escalation.timers import EscalationWorker, pending_steps
from knowledge.index import Matcher
from knowledge.live import KnowledgeWatcher, LiveKnowledge
from knowledge.loader import sample_kb_path
from tests.fakes import slack_events as slack
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import Call, FakeSlack

ENGINEERS = "C0ENGINEERS"
ADMIN = "U0ADMIN001"
WAIT = 15.0
"""A ceiling for what the bot does in the background: waits end as soon as it is done, and a
loaded CI machine can take seconds (5 s flaked there)."""


class CountingExecutor(ThreadPoolExecutor):
    """The listeners' threads, with a way to wait until the work after each ack is done."""

    def __init__(self) -> None:
        super().__init__(4, "test-listener")
        self._busy = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._busy += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        return super().submit(run)

    def wait_idle(self, timeout: float = WAIT) -> None:
        with self._idle:
            assert self._idle.wait_for(lambda: self._busy == 0, timeout), "listeners still busy"


@dataclass
class _Running:
    services: Services
    listeners: CountingExecutor
    server: HttpServer
    watcher: KnowledgeWatcher


class Jethro:
    """One deployment: stop it and start it again (`restart`) and it keeps its database."""

    def __init__(
        self,
        fake: FakeSlack,
        database_url: str,
        kb: Path,
        oncall: OncallSchedule | None = None,
        clock: FixedClock | None = None,
        matcher_around: Callable[[Matcher], Matcher] | None = None,
    ) -> None:
        """With `oncall`, tickets page its engineers (an escalation worker runs); else nobody.
        `matcher_around` wraps each matcher the knowledge base builds (a matcher that fails).
        Replicas share one `clock`, as real ones share the time: with a clock each, one ran
        minutes ahead of the other and took over leases the other still held."""
        self.slack = fake
        self.kb = kb
        self.oncall = oncall
        self.clock = clock or FixedClock()
        self.matcher_around = matcher_around
        self.engine: Engine = make_engine(database_url)
        upgrade(self.engine)
        self.settings: Settings = load_settings(
            {},
            database_url=database_url,
            kb_dir=kb,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            escalation_channel=ENGINEERS,
            admins=(ADMIN,),
            matcher="lexical",
        )
        self._running = self._start()

    def _start(self) -> _Running:
        client = WebClient(token=BOT_TOKEN, base_url=self.slack.api_url, timeout=5)
        sender = OutboxSender(self.engine, client, self.clock, channel_interval=0, lease_seconds=30)
        build = matcher_builder(self.settings)
        around = self.matcher_around
        knowledge = LiveKnowledge(self.kb, (lambda kb: around(build(kb))) if around else build)
        listeners = CountingExecutor()
        outbox = OutboxWorker(sender, poll_seconds=0.05)
        escalation = (
            EscalationWorker(
                self.engine,
                self.clock,
                schedule=self.oncall,
                compose=page_messages,
                channel=ENGINEERS,
                after=outbox.wake,
                poll_seconds=0.05,
            )
            if self.oncall is not None
            else None
        )
        services = Services(
            settings=self.settings,
            client=client,
            engine=self.engine,
            knowledge=knowledge,
            renderer=Renderer(self.settings.template_dir),
            clock=self.clock,
            outbox=outbox,
            listener_threads=listeners,
            schedule=self.oncall,
            escalation=escalation,
            lesson_poll_seconds=0.2,
        )
        app = create_app(services)
        if services.sla is not None:
            services.sla.poll_seconds = 0.05
        routes = Routes(app, health_check(self.engine, knowledge), services.metrics)
        server = HttpServer(routes, host="127.0.0.1", port=0).start()
        watcher = KnowledgeWatcher(knowledge, poll_seconds=0.05)
        services.start_workers()
        watcher.start()
        return _Running(services, listeners, server, watcher)

    @property
    def url(self) -> str:
        return self._running.server.url

    @property
    def port(self) -> int:
        return self._running.server.port

    @property
    def knowledge(self) -> LiveKnowledge:
        return self._running.services.knowledge

    @property
    def driver(self) -> slack.SlackDriver:
        return slack.SlackDriver(self.url + EVENTS_PATH, SIGNING_SECRET)

    def send(self, payload: slack.Payload, headers: dict[str, str] | None = None) -> slack.Reply:
        return self.driver.send(payload, headers)

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=WAIT) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def restart(self) -> None:
        """A deploy: the process goes away and a new one starts on the same database."""
        self.stop()
        self._running = self._start()

    def stop(self) -> None:
        running = self._running
        try:
            running.server.stop()
        finally:  # the workers must stop even so: they hold the database the test drops
            running.watcher.stop()
            running.services.close()

    def close(self) -> None:
        self.stop()
        self.engine.dispose()

    def time_passes(self, **units: float) -> None:
        """Jump the clock, after the sends in flight finish: a jump past their lease would have
        another worker send them again, which no real minute does to a call taking milliseconds."""
        wait_until(lambda: not self._sending(), "outbox messages still being sent")
        self.clock.advance(**units)
        self._running.services.wake()

    def settle(self) -> None:
        """Wait until every request's after-ack work is done and every due message went out."""
        self._running.listeners.wait_idle()
        wait_until(lambda: not self._due_steps(), "escalation steps still due")
        wait_until(lambda: not self._due_sla_checks(), "SLA checks still due")
        wait_until(lambda: not self._due_messages(), "outbox messages still due")

    def _due_steps(self) -> list[object]:
        with session(self.engine) as db:
            return [s for s in pending_steps(db) if s.due_at <= self.clock.now()]

    def _due_sla_checks(self) -> list[Ticket]:
        with session(self.engine) as db:
            return due_checks(db, self.clock.now())

    def _due_messages(self) -> list[OutboxMessage]:
        return self._pending(col(OutboxMessage.next_attempt_at) <= self.clock.now())

    def _sending(self) -> list[OutboxMessage]:
        return self._pending(col(OutboxMessage.claimed_until) > self.clock.now())

    def _pending(self, condition: sa.ColumnElement[bool]) -> list[OutboxMessage]:
        with session(self.engine) as db:
            query = select(OutboxMessage).where(
                col(OutboxMessage.status) == OutboxStatus.PENDING, condition
            )
            return list(db.exec(query))

    def tickets(self) -> list[Ticket]:
        with session(self.engine) as db:
            return list(db.exec(select(Ticket).order_by(col(Ticket.id))))

    def conversations(self) -> list[SlackConversation]:
        with session(self.engine) as db:
            return list(db.exec(select(SlackConversation).order_by(col(SlackConversation.id))))

    def rows(self, table: str) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@dataclass(frozen=True)
class Thread:
    """Where a conversation with the bot happens: a channel and the ts of its first message."""

    person: Employee
    channel: str
    ts: str

    def bot_replies(self, count: int = 1) -> list[dict[str, Any]]:
        """The bot's messages in this thread as they are now (after any update), oldest first."""
        slack_ = self.person.jethro.slack
        calls = slack_.wait_for("chat.postMessage", count, WAIT, where=self._in_thread)
        return [slack_.message(c.response["channel"], c.response["ts"]) for c in calls]

    def last_reply(self, count: int = 1) -> dict[str, Any]:
        return self.bot_replies(count)[-1]

    def reply(self, text: str) -> slack.Reply:
        """A reply in the thread, as Slack delivers it (`message.im` / `message.channels`)."""
        payload = slack.thread_reply(text, self.ts, user=self.person.id, channel=self.channel)
        if not self.channel.startswith("D"):
            payload = with_event(payload, channel_type="channel")
        return self.person.sent(payload)

    def _in_thread(self, call: Call) -> bool:
        return (
            call.ok
            and call.response.get("channel") == self.channel
            and (call.args.get("thread_ts") == self.ts or call.response.get("ts") == self.ts)
        )


class Employee:
    """Someone with a problem, typing and clicking in Slack."""

    def __init__(self, jethro: Jethro, user_id: str = slack.USER, dm: str = slack.DM_CHANNEL):
        self.jethro = jethro
        self.id = user_id
        self.dm_channel = dm

    def sent(self, payload: slack.Payload, headers: dict[str, str] | None = None) -> slack.Reply:
        reply = self.jethro.send(payload, headers)
        assert reply.status == 200, reply
        return reply

    def dm(self, text: str) -> Thread:
        payload = slack.message_im(text, user=self.id, channel=self.dm_channel)
        self.sent(payload)
        return Thread(self, self.dm_channel, payload.data["event"]["ts"])

    def mention(self, text: str, channel: str = slack.CHANNEL) -> Thread:
        payload = slack.app_mention(text, user=self.id, channel=channel)
        self.sent(payload)
        return Thread(self, channel, payload.data["event"]["ts"])

    def triage(self, text: str) -> dict[str, Any]:
        """`/triage text`: what only they see at once (the command's acknowledgement)."""
        payload = slack.slash_command(
            text, user=self.id, response_url=self.jethro.slack.response_url()
        )
        reply = self.sent(payload)
        return dict(reply.json()) if reply.body else {}

    def shortcut(self, message_text: str, author: str = "U0COLLEAGUE") -> None:
        """ "Triage this" on someone's message."""
        payload = slack.message_shortcut(
            "triage_message",
            message_text,
            user=self.id,
            author=author,
            response_url=self.jethro.slack.response_url(),
        )
        self.sent(payload)

    def new_dm_thread(self, count: int = 1) -> Thread:
        """The conversation the bot started in this person's DM (after /triage or a shortcut)."""
        calls = self.jethro.slack.wait_for(
            "chat.postMessage", count, WAIT, where=lambda c: c.ok and c.args["channel"] == self.id
        )
        first = calls[-1].response
        return Thread(self, first["channel"], first["ts"])

    def click(self, action_id: str, message: dict[str, Any], value: str | None = None) -> None:
        """Press a button on a message the bot posted (`value` picks among several)."""
        button = find_button(message, action_id, value)
        payload = slack.block_action(
            action_id,
            button["value"],
            user=self.id,
            channel=message["channel"],
            message={k: v for k, v in message.items() if k != "channel"},
            response_url=self.jethro.slack.response_url(),
        )
        self.sent(payload)

    def only_i_see(self, count: int = 1) -> dict[str, Any]:
        """The latest ephemeral message (sent to a response_url) shown to this person."""
        calls = self.jethro.slack.wait_for("response_url", count, WAIT)
        return calls[-1].args

    def opens_home(self, count: int = 1) -> dict[str, Any]:
        self.sent(slack.app_home_opened(self.id))
        calls = self.jethro.slack.wait_for(
            "views.publish", count, WAIT, where=lambda c: c.args.get("user_id") == self.id
        )
        view = calls[-1].args["view"]
        return json.loads(view) if isinstance(view, str) else dict(view)


class Engineers:
    """The on-call engineers, reading their channel."""

    def __init__(self, jethro: Jethro) -> None:
        self.jethro = jethro

    def tickets_posted(self, count: int = 1) -> list[dict[str, Any]]:
        calls = self.jethro.slack.wait_for(
            "chat.postMessage",
            count,
            WAIT,
            where=lambda c: c.ok and c.args["channel"] == ENGINEERS and "thread_ts" not in c.args,
        )
        return [self.jethro.slack.message(ENGINEERS, c.response["ts"]) for c in calls]

    def saw_anything(self) -> bool:
        return any(c.args.get("channel") == ENGINEERS for c in self.jethro.slack.calls())

    def thread_of(self, ticket_message: dict[str, Any], count: int = 1) -> list[dict[str, Any]]:
        calls = self.jethro.slack.wait_for(
            "chat.postMessage",
            count,
            WAIT,
            where=lambda c: c.ok and c.args.get("thread_ts") == ticket_message["ts"],
        )
        return [self.jethro.slack.message(ENGINEERS, c.response["ts"]) for c in calls]

    def on_duty(self, *user_ids: str) -> list[Engineer]:
        """These people are the members of the engineers' channel."""
        self.jethro.slack.set_members(ENGINEERS, list(user_ids))
        return [Engineer(self.jethro, user_id) for user_id in user_ids]


class Engineer:
    """Someone in (or, unless `Engineers.on_duty` named them, outside) the engineers' channel,
    acting on a ticket message they see there."""

    def __init__(self, jethro: Jethro, user_id: str) -> None:
        self.jethro = jethro
        self.id = user_id

    def click(self, action_id: str, ticket: dict[str, Any]) -> None:
        """Press a button on the ticket message as given (after the bot finished posting it)."""
        self.jethro.settle()
        self.jethro.send(self._click(action_id, ticket))

    def click_now(self, action_id: str, ticket: dict[str, Any]) -> None:
        """Press a button on the ticket message at once, while the bot may still be posting."""
        self.jethro.send(self._click(action_id, ticket))

    def reassign(self, ticket: dict[str, Any], to: str) -> None:
        """Choose someone in the ticket message's *Reassign to…* select."""
        self.jethro.settle()
        message = self.jethro.slack.message(ENGINEERS, ticket["ts"])
        assert any(e["action_id"] == "ticket_reassign" for e in elements(message)), message
        payload = slack.user_selected(
            "ticket_reassign",
            to,
            user=self.id,
            channel=ENGINEERS,
            message={k: v for k, v in message.items() if k != "channel"},
            response_url=self.jethro.slack.response_url(),
        )
        self.jethro.send(payload)

    def resolve(
        self,
        ticket: dict[str, Any],
        resolution: str,
        *,
        add_to_kb: bool = False,
        solved_by: str | None = None,
    ) -> None:
        """Press Resolve, type the resolution in the modal, maybe tick the box, maybe pick the
        article that solved it (`solved_by`, an option value), and submit."""
        view = self.open_resolve(ticket)
        self.submit(view, resolution, add_to_kb=add_to_kb, solved_by=solved_by)

    def open_resolve(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Press Resolve: the modal Slack opens."""
        opened = len(self.jethro.slack.calls("views.open"))
        self.click("ticket_resolve", ticket)
        view: dict[str, Any] = self.jethro.slack.wait_for("views.open", opened + 1, WAIT)[
            -1
        ].response["view"]
        return view

    def types_in_picker(self, view: dict[str, Any], typed: str) -> dict[str, Any]:
        """Type in the modal's article picker: the options Jethro sends back."""
        payload = slack.block_suggestion(
            "ticket_solved_by",
            "solved_by",
            typed,
            callback_id=view["callback_id"],
            private_metadata=view["private_metadata"],
            user=self.id,
        )
        reply = self.jethro.send(payload)
        assert reply.status == 200, reply
        return dict(reply.json())

    def submit(
        self,
        view: dict[str, Any],
        resolution: str,
        *,
        add_to_kb: bool = False,
        solved_by: str | None = None,
    ) -> None:
        payload = slack.view_submission(
            view["callback_id"],
            {"resolution": {"text": resolution}},
            user=self.id,
            private_metadata=view["private_metadata"],
            checked={"teach": {"add_to_kb": ["draft"] if add_to_kb else []}},
            selected={"solved_by": {"ticket_solved_by": solved_by}} if solved_by else None,
        )
        reply = self.jethro.send(payload)
        assert reply.status == 200, reply

    def reply_in_thread(self, ticket: dict[str, Any], text: str) -> None:
        self.jethro.settle()
        payload = slack.thread_reply(text, ticket["ts"], user=self.id, channel=ENGINEERS)
        reply = self.jethro.send(with_event(payload, channel_type="channel"))
        assert reply.status == 200, reply

    def only_i_see(self, count: int = 1) -> dict[str, Any]:
        """The latest ephemeral message shown to this engineer."""
        calls = self.jethro.slack.wait_for(
            "chat.postEphemeral", count, WAIT, where=lambda c: c.args.get("user") == self.id
        )
        return calls[-1].args

    def _click(self, action_id: str, message: dict[str, Any]) -> slack.Payload:
        """The message as this engineer's client shows it: maybe not updated yet."""
        button = find_button(message, action_id)
        return slack.block_action(
            action_id,
            button["value"],
            user=self.id,
            channel=ENGINEERS,
            message={k: v for k, v in message.items() if k != "channel"},
            response_url=self.jethro.slack.response_url(),
        )


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every interactive element in a message's actions blocks."""
    return [
        e
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for e in block["elements"]
    ]


def with_event(payload: slack.Payload, **fields: str) -> slack.Payload:
    """The same delivery with some event fields changed (a subtype, a bot id, a channel type)."""
    data = {**payload.data, "event": {**payload.data["event"], **fields}}
    return slack.Payload(json.dumps(data).encode(), slack.JSON, data)


def find_button(message: dict[str, Any], action_id: str, value: str | None = None) -> Any:
    found = [b for b in buttons(message) if b["action_id"] == action_id]
    if value is not None:
        found = [b for b in found if b.get("value") == value]
    assert found, f"no {action_id} button ({value}) in {json.dumps(message)[:500]}"
    return found[0]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in message.get("blocks", []):
        if block["type"] == "actions":
            found += block["elements"]
        if block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
    return found


def shown_text(node: Any) -> str:
    """Every string in a message or view, joined: what a person could read, and more."""
    if isinstance(node, dict):
        return "\n".join(shown_text(v) for k, v in node.items() if k not in ("ts", "channel"))
    if isinstance(node, list):
        return "\n".join(shown_text(v) for v in node)
    return node if isinstance(node, str) else ""


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def copy_of_sample_kb(folder: Path) -> Path:
    return Path(shutil.copytree(sample_kb_path(), folder / "kb"))
