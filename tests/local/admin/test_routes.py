"""The admin view's addresses as a page server mounting it meets them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from wsgiref.util import shift_path_info

from bot.local.admin import AdminPage
from bot.server import HttpServer
from escalation.db import make_engine
from tests.local.admin.conftest import Admin, parse_html


def test_the_page_and_its_parts_are_served_and_nothing_else(admin: Admin) -> None:
    page = admin.get("/admin")
    assert page.status == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-store"
    assert parse_html(page.text).one("main", id="admin-body").attrs["data-version"]
    assert admin.get("/admin/").status == 200
    assert not parse_html(page.text).find_all("a", id="back-to-workspace")  # standalone
    assert admin.get("/admin/version").headers["Content-Type"] == "application/json"
    assert admin.get("/admin/body").status == 200
    for missing in ("/admin/nope", "/admin/charts/nope.svg", "/", "/administrator", "/slack"):
        assert admin.get(missing).status == 404, missing
    refused = admin.get("/admin", method="POST")
    assert refused.status == 405 and refused.headers["Allow"] == "GET, HEAD"


def test_head_says_what_get_would_send_without_the_body(admin: Admin) -> None:
    head = admin.get("/admin/charts/reports.svg", method="HEAD")
    got = admin.get("/admin/charts/reports.svg")

    assert head.status == 200 and head.text == ""
    assert head.headers["Content-Length"] == str(len(got.text.encode()))


def test_it_works_mounted_under_a_prefix_as_well(admin: Admin) -> None:
    """A server that moves `/admin` into SCRIPT_NAME when it routes (as WSGI dispatchers do)."""

    def mounted(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if shift_path_info(environ) != "admin":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"elsewhere"]
        return admin.page(environ, start_response)

    server = HttpServer(mounted, host="127.0.0.1", port=0).start()  # type: ignore[arg-type]
    try:
        assert admin.get("/admin/version", server=server).status == 200
        page = admin.html("/admin", server=server)
        assert page.find_all("tr", data_article="vpn-disconnects")
        assert admin.get("/admin/nope", server=server).status == 404
        assert admin.get("/elsewhere", server=server).text == "elsewhere"
    finally:
        server.stop()


def test_a_database_that_does_not_answer_is_a_clear_503(admin: Admin) -> None:
    """Nothing listens on port 1: the connection is refused, as when PostgreSQL is down."""
    gone = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/jethro?connect_timeout=2")
    away = AdminPage(admin.knowledge, gone, admin.clock, admin.settings)
    server = HttpServer(away, host="127.0.0.1", port=0).start()  # type: ignore[arg-type]
    try:
        for path in ("/admin", "/admin/version", "/admin/body", "/admin/charts/teams.svg"):
            response = admin.get(path, server=server)
            assert response.status == 503, path
            assert "The database is not answering (OperationalError)" in response.text
            assert "postgres@" not in response.text
    finally:
        server.stop()
        gone.dispose()
