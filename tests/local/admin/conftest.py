"""The admin view as an admin meets it: a real `LiveKnowledge` on a copy of the sample base,
watched for edits, a migrated database (SQLite and PostgreSQL), reports made through the bot's
`TriageFlow` and tickets through `escalation.tickets`, and `AdminPage` served by waitress."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings, load_settings
from bot.flow import ReportResult, TriageFlow
from bot.local.admin import AdminPage
from bot.runtime import matcher_builder
from bot.server import HttpServer
from escalation.clock import FixedClock
from escalation.db import session
from escalation.tickets import acknowledge
from knowledge.live import KnowledgeWatcher, LiveKnowledge
from knowledge.loader import sample_kb_path
from tests.dbfixtures import database_url, engine

__all__ = ["admin", "clock", "database_url", "engine"]

WAIT = 10.0
"""Seconds a test waits for something that should come at once; never what it asserts."""
SVG = "{http://www.w3.org/2000/svg}"


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    content: list[Element | str] = field(default_factory=list)
    """Text and elements, in document order."""

    @property
    def children(self) -> list[Element]:
        return [part for part in self.content if isinstance(part, Element)]

    @property
    def text(self) -> str:
        """All text inside, as a person reads it (whitespace folded)."""
        return " ".join("".join(self._texts()).split())

    def _texts(self) -> Iterator[str]:
        for part in self.content:
            if isinstance(part, str):
                yield part
            else:
                yield from part._texts()

    def find_all(self, tag: str | None = None, **attrs: str | None) -> list[Element]:
        """Descendants by tag and attributes (`data_article` is data-article; `class_` is one
        of the classes; a value of None only asks that the attribute be there)."""
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(
                child._has(name, value) for name, value in attrs.items()
            ):
                found.append(child)
            found += child.find_all(tag, **attrs)
        return found

    def _has(self, name: str, value: str | None) -> bool:
        if name == "class_":
            return value in self.attrs.get("class", "").split()
        name = name.replace("_", "-")
        return name in self.attrs if value is None else self.attrs.get(name) == value

    def one(self, tag: str | None = None, **attrs: str | None) -> Element:
        [found] = self.find_all(tag, **attrs)
        return found


class _Tree(HTMLParser):
    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "col", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.root = Element("#root", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.open[-1].content.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].content.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].content.append(data)


def parse_html(text: str) -> Element:
    tree = _Tree()
    tree.feed(text)
    tree.close()
    return tree.root


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    text: str


class Admin:
    """The admin view of one deployment, and the ways the world changes under it."""

    def __init__(
        self, engine: Engine, clock: FixedClock, kb: Path, cache: Path, **overrides: Any
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.kb = kb
        self.settings: Settings = load_settings(
            {},
            database_url=engine.url.render_as_string(hide_password=False),
            kb_dir=kb,
            matcher="lexical",
            cache_dir=cache,
            **overrides,
        )
        self.knowledge = LiveKnowledge(kb, matcher_builder(self.settings))
        self.watcher = KnowledgeWatcher(self.knowledge, poll_seconds=0.05)
        self.page = AdminPage(self.knowledge, engine, clock, self.settings)
        self.server = HttpServer(self.page, host="127.0.0.1", port=0)  # type: ignore[arg-type]
        self._conversations = 0

    def start(self) -> Admin:
        self.server.start()
        self.watcher.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.watcher.stop()

    def get(self, path: str, method: str = "GET", server: HttpServer | None = None) -> Response:
        """From this deployment's server, or from `server` (another way of mounting the page)."""
        request = urllib.request.Request((server or self.server).url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return Response(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers), error.read().decode())

    def html(self, path: str = "/admin", server: HttpServer | None = None) -> Element:
        response = self.get(path, server=server)
        assert response.status == 200, response.text
        return parse_html(response.text)

    def svg(self, name: str) -> ElementTree.Element:
        response = self.get(f"/admin/charts/{name}.svg")
        assert response.status == 200 and response.headers["Content-Type"].startswith(
            "image/svg+xml"
        )
        return ElementTree.fromstring(response.text)

    def version(self) -> str:
        return str(json.loads(self.get("/admin/version").text)["version"])

    def flow(self) -> TriageFlow:
        matcher = self.knowledge.current.matcher
        return TriageFlow(
            matcher,
            self.engine,
            policy=self.settings.policy(matcher),
            default_team=self.settings.default_team,
            clock=self.clock,
        )

    def report(self, text: str, reporter: str = "U0EMPLOYEE") -> ReportResult:
        self._conversations += 1
        return self.flow().report(
            reporter=reporter, source="dm", text=text, conversation=f"c{self._conversations}"
        )

    def solved(self, result: ReportResult, reporter: str = "U0EMPLOYEE") -> None:
        """The employee clicks Solved on the answer `result` gave."""
        assert result.decision.article is not None, "only an answer can be solved"
        self.flow().solved(
            reporter=reporter,
            conversation=f"c{self._conversations}",
            article=result.decision.article,
        )

    def still_broken(self, result: ReportResult, text: str) -> int:
        """The employee clicks Still broken: a ticket for the answer's article's team."""
        ticket = self.flow().not_solved(
            reporter="U0EMPLOYEE",
            source="dm",
            conversation=f"c{self._conversations}",
            text=text,
            decision=result.decision,
            article=result.decision.article,
        )
        assert ticket.id is not None
        return ticket.id

    def acknowledge_after(self, ticket: int, minutes: float) -> None:
        self.clock.advance(minutes=minutes)
        with session(self.engine) as db:
            acknowledge(db, ticket, "U0ENGINEER", self.clock)

    def write(self, relative: str, text: str) -> None:
        path = self.kb / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="session")
def calibration_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared, so the sample base's held-out reports are judged once per run, not per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def make_admin(
    engine: Engine, clock: FixedClock, tmp_path: Path, calibration_cache: Path
) -> Iterator[Callable[..., Admin]]:
    started: list[Admin] = []

    def make(**overrides: Any) -> Admin:
        kb = tmp_path / f"kb{len(started)}"
        shutil.copytree(sample_kb_path(), kb)
        admin = Admin(engine, clock, kb, calibration_cache, **overrides).start()
        started.append(admin)
        return admin

    yield make
    for admin in started:
        admin.stop()


@pytest.fixture
def admin(make_admin: Callable[..., Admin]) -> Admin:
    return make_admin()


def bars(svg: ElementTree.Element, series: str) -> dict[str, float]:
    """A chart's bars of one series, by label, as the SVG draws them."""
    return {
        rect.attrib["data-label"]: float(rect.attrib["data-value"])
        for rect in svg.iter(f"{SVG}rect")
        if rect.attrib.get("data-series") == series
    }


def titles(svg: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}title")]


def day_label(clock: FixedClock, days_ago: int = 0) -> str:
    return (clock.now() - timedelta(days=days_ago)).date().isoformat()
