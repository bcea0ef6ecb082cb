"""Running the bot: HTTP mode (`POST /slack/events`, `GET /healthz`, `GET /metrics`) or Socket Mode.

`serve` starts everything `jethro run` needs in one process: the Bolt app, the outbox and
escalation workers, the knowledge-base watcher, and the transport. HTTP is served by waitress: a
production WSGI server that is pure Python (no C build, runs on Windows too), multi-threaded, and
in-process, so one `jethro run` holds the app, the workers and the watcher together (gunicorn forks
workers, which would each need their own). Bolt's WSGI adapter checks every request's signature
and age (401 when wrong); this module only routes, refuses bodies too big (413) or no Slack
request could have (400), and reports health.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server

from bot.acks_first import AcksFirst
from bot.app import Services, create_app
from bot.config import Settings
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.metrics import Metrics
from bot.receipts import slack_request
from bot.runtime import open_slack_services
from escalation.db import session
from escalation.errors import JethroError
from escalation.inbox import forget_events
from knowledge.live import KnowledgeWatcher, LiveKnowledge

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
MAX_BODY_BYTES = 1_000_000
"""Slack's largest payloads (a view submission, a message with 50 blocks) are well under this."""
THREADS = 8
KB_POLL_SECONDS = 1.0
EVENTS_KEPT = timedelta(days=1)
"""Slack gives up redelivering an event within the hour; a day of keys is plenty."""


class StartError(JethroError):
    """Slack refused the bot's token, or could not be reached, at start-up."""


def serve(
    settings: Settings,
    *,
    socket_mode: bool,
    host: str = "0.0.0.0",
    port: int = 3000,
    kb_dir: Path | None = None,
    ready: Callable[[str], None] = lambda line: print(line, flush=True),
) -> None:
    """Run until SIGTERM or Ctrl-C; `ready` is told where the bot listens once it does."""
    with started(open_slack_services(settings, kb_dir)) as (app, services):
        stop_on_sigterm()
        if socket_mode:
            _socket_mode(app, settings, ready)
        else:
            server = HttpServer(http_routes(app, services), host=host, port=port)
            ready(f"Jethro is serving Slack on http://{host}:{server.port}{EVENTS_PATH}")
            server.serve_forever()


@contextmanager
def started(services: Services) -> Iterator[tuple[App, Services]]:
    """The app built (its `auth.test` checked), old event keys forgotten, the workers and the
    knowledge-base watcher running; all stopped again on the way out."""
    watcher = KnowledgeWatcher(services.knowledge, KB_POLL_SECONDS)
    try:
        app = _checked_app(services, services.settings)
        with session(services.engine) as db:
            forget_events(db, services.clock.now() - EVENTS_KEPT)
        services.start_workers()
        watcher.start()
        yield app, services
    finally:
        watcher.stop()
        services.close()


def http_routes(app: App, services: Services) -> Routes:
    return Routes(
        app, health_check(services.engine, services.knowledge), services.metrics, services.acks
    )


def _checked_app(services: Services, settings: Settings) -> App:
    """The app; building it calls `auth.test`, so a bad token stops start-up here, named."""
    try:
        return create_app(services)
    except BoltError as exc:
        raise StartError(
            f"Slack refused SLACK_BOT_TOKEN ({exc}): copy the Bot User OAuth Token (xoxb-...) "
            "from your app's OAuth & Permissions page, and reinstall the app if its scopes changed."
        ) from exc
    except OSError as exc:
        raise StartError(
            f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url}: {exc}"
        ) from exc


def _socket_mode(app: App, settings: Settings, ready: Callable[[str], None]) -> None:
    handler: Any = SocketModeHandler(app, settings.slack_app_token)  # its methods are untyped
    try:
        try:
            handler.connect()
        except SlackApiError as exc:
            raise StartError(
                f"Slack refused to open a Socket Mode connection with SLACK_APP_TOKEN "
                f"({exc.response.get('error')}): turn on Socket Mode in your app's settings and "
                "use an app-level token (xapp-...) with the connections:write scope, or unset "
                "SLACK_APP_TOKEN to serve HTTP."
            ) from exc
        ready("Jethro is connected to Slack in Socket Mode")
        threading.Event().wait()
    finally:
        handler.close()


def stop_on_sigterm() -> None:
    """`docker stop` sends SIGTERM: leave as Ctrl-C does, so requests in hand finish."""
    if threading.current_thread() is not threading.main_thread():
        return

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)


@dataclass(frozen=True)
class Health:
    ok: bool
    articles: int
    database: bool

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "articles": self.articles, "database": self.database}


def health_check(engine: Engine, knowledge: LiveKnowledge) -> Callable[[], Health]:
    """Healthy when the database answers and at least one article serves."""

    def check() -> Health:
        articles = len(knowledge.current.kb.articles)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            database = True
        except Exception as exc:
            log.warning("health check: the database is unreachable: %s", exc)
            database = False
        return Health(ok=database and articles > 0, articles=articles, database=database)

    return check


class Routes:
    """The WSGI application: Bolt for Slack, the health check, the metrics (unauthenticated,
    like the health check: keep the port on your own network), 404 for anything else."""

    def __init__(
        self,
        app: App,
        health: Callable[[], Health],
        metrics: Metrics | None = None,
        acks: AcksFirst | None = None,
    ) -> None:
        self.slack = _SlackHandler(app, path=EVENTS_PATH)
        self.health = health
        self.metrics = metrics
        self.acks = acks or AcksFirst()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            health = self.health()
            return _json(start_response, 200 if health.ok else 503, health.to_json())
        if path == METRICS_PATH and method in ("GET", "HEAD") and self.metrics is not None:
            return _metrics(start_response, self.metrics.exposition())
        if path == EVENTS_PATH and method == "POST":
            if _content_length(environ) > MAX_BODY_BYTES:
                return _json(start_response, 413, {"error": "request body too large"})
            problem = _malformed(environ)
            if problem is not None:
                return _json(start_response, 400, {"error": problem})
            with self.acks.acknowledging():
                return self.slack(environ, start_response)
        return _json(start_response, 404, {"error": f"nothing here; Slack posts to {EVENTS_PATH}"})


class _SlackHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, building its requests with `slack_request` (a `/triage` whose text
    says "payload" would otherwise be lost: Bolt 1.30 reads it as an interactive payload)."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        return self.app.dispatch(
            slack_request(request.get_body(), request.get_headers(), query=request.query_string)
        )


class HttpServer:
    """Waitress serving `Routes` (or the local workspace's page) on `host:port` (port 0: any
    free port, see `.port`)."""

    def __init__(
        self,
        routes: WSGIApplication,
        *,
        host: str = "0.0.0.0",
        port: int = 3000,
        threads: int = THREADS,
    ) -> None:
        server = create_server(
            routes,
            host=host,
            port=port,
            threads=threads,
            max_request_body_size=MAX_BODY_BYTES,
            ident="jethro",
            clear_untrusted_proxy_headers=True,
        )
        assert isinstance(server, BaseWSGIServer), "one host and port give one server"
        self._server = server
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        internals: Any = self._server  # waitress's stubs omit what it sets after binding
        return int(internals.effective_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve_forever(self) -> None:
        """Block until `stop()` (from another thread) or Ctrl-C."""
        self._server.run()

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self.serve_forever, name="jethro-http", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        """Stop accepting, finish requests in hand, and return once the loop is gone."""
        server: Any = self._server  # the loop's own thread must close its sockets: a thunk
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:  # the loop already closed its trigger on its way out: nothing to wake
            log.warning("the HTTP loop had already stopped")
        if self._thread is not None:
            self._thread.join(timeout)
        server.task_dispatcher.shutdown(timeout=timeout)


def _content_length(environ: WSGIEnvironment) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _malformed(environ: WSGIEnvironment) -> str | None:
    """What is wrong with a request body no Slack request could have, or None. Checked before
    Bolt, which would fail on it with a 500; the body is put back for Bolt to read."""
    body = environ["wsgi.input"].read(_content_length(environ) or -1)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    kind = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if kind not in (JSON_TYPE, FORM_TYPE):
        return f"Content-Type {kind or '(none)'}: Slack sends {JSON_TYPE} or {FORM_TYPE}"
    try:
        text = body.decode("utf-8")
        if kind == JSON_TYPE:
            return None if isinstance(json.loads(text), dict) else "the body is not a JSON object"
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
        if "payload" in fields and not isinstance(json.loads(fields["payload"]), dict):
            return "the payload field is not a JSON object"
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    except ValueError as exc:  # JSONDecodeError, or a form field without '='
        return f"the body cannot be read as {kind}: {exc}"
    return None


def _metrics(start_response: StartResponse, data: bytes) -> list[bytes]:
    start_response(
        "200 OK", [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(data)))]
    )
    return [data]


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        413: "Payload Too Large",
        503: "Service Unavailable",
    }
    start_response(
        f"{status} {reason[status]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]
