"""`AdminPage`: the admin view of the local workspace, a WSGI application under `/admin`.

`GET /admin` is the whole page; its script polls `GET /admin/version` every half second and,
when the version changed, swaps in `GET /admin/body` (the same sections, rendered again), so a
KB edit or a new report shows without a reload. `GET /admin/charts/<name>.svg` serves one chart
alone. Server-rendered with Jinja2 (autoescaped: article and report text are user-controlled),
no JavaScript build step and nothing fetched from elsewhere; the inline script and style carry a
per-response nonce, and the Content-Security-Policy allows nothing else to run.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.figures import times_text
from bot.local.admin.stats_charts import CHARTS, stats_charts
from bot.local.admin.view import AdminData, AdminView
from escalation.clock import Clock
from knowledge.live import LiveKnowledge

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

PREFIX = "/admin"
POLL_MS = 500
HTML = "text/html; charset=utf-8"
VERSION_HEADER = "X-Admin-Version"
"""On `/admin/body`: the version the body was rendered at, for the script to remember."""

_Reply = tuple[str, bytes, list[tuple[str, str]]]
"""A route's content type, body and extra headers."""

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["times"] = times_text
    return env


class AdminPage:
    """Mount it where `PATH_INFO` (or `SCRIPT_NAME` + `PATH_INFO`) starts with `/admin`."""

    def __init__(
        self,
        knowledge: LiveKnowledge,
        engine: Engine,
        clock: Clock,
        settings: Settings,
        *,
        workspace_url: str | None = None,
    ) -> None:
        """`workspace_url`: where the page it is mounted in lives (the local workspace's `/`),
        linked from the header; None when it stands alone."""
        self.data = AdminData(knowledge, engine, clock, settings)
        self.workspace_url = workspace_url
        self.templates = _environment()
        self._routes: dict[str, Callable[[], _Reply]] = {
            PREFIX: self._page,
            f"{PREFIX}/": self._page,
            f"{PREFIX}/body": self._body,
            f"{PREFIX}/version": self._version,
            **{f"{PREFIX}/charts/{name}.svg": self._chart(name) for name in CHARTS},
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        method = str(environ.get("REQUEST_METHOD", "GET"))
        route = self._routes.get(path)
        if route is None:
            return _send(
                start_response, 404, HTML, b"<p>Not found: the admin view is at /admin.</p>"
            )
        if method not in ("GET", "HEAD"):
            return _send(start_response, 405, HTML, b"<p>Only GET.</p>", [("Allow", "GET, HEAD")])
        try:
            kind, body, headers = route()
        except SQLAlchemyError as exc:
            log.warning("admin view: the database did not answer: %s", exc)
            unavailable = (
                f"<p>The database is not answering ({type(exc).__name__}); the bot's log says "
                "why. This page tries again when reloaded.</p>"
            )
            return _send(start_response, 503, HTML, unavailable.encode())
        sent = _send(start_response, 200, kind, body, headers)
        return [b""] if method == "HEAD" else sent

    def _page(self) -> _Reply:
        nonce = secrets.token_urlsafe(16)
        version = self.data.version()
        html = self.templates.get_template("page.html.j2").render(
            nonce=nonce,
            version=version,
            poll_ms=POLL_MS,
            prefix=PREFIX,
            version_header=VERSION_HEADER,
            workspace_url=self.workspace_url,
            **self._context(self.data.view()),
        )
        return HTML, html.encode(), [("Content-Security-Policy", _policy(nonce))]

    def _body(self) -> _Reply:
        version = self.data.version()
        html = self.templates.get_template("body.html.j2").render(
            prefix=PREFIX, **self._context(self.data.view())
        )
        return HTML, html.encode(), [(VERSION_HEADER, version)]

    def _version(self) -> _Reply:
        body = json.dumps({"version": self.data.version()}).encode()
        return "application/json", body, []

    def _chart(self, name: str) -> Callable[[], _Reply]:
        def chart() -> _Reply:
            view = self.data.view()
            svg = CHARTS[name](view.stats, view.days)
            return "image/svg+xml; charset=utf-8", str(svg).encode(), []

        return chart

    @staticmethod
    def _context(view: AdminView) -> dict[str, object]:
        return {"view": view, "charts": stats_charts(view.stats, view.days)}


def _policy(nonce: str) -> str:
    """Only this response's own script and style run; the script talks only to this server."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'self'"
    )


def _send(
    start_response: StartResponse,
    status: int,
    kind: str,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    start_response(
        f"{status} {_REASONS[status]}",
        [
            ("Content-Type", kind),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *(headers or []),
        ],
    )
    return [body]
