"""The small pieces of WSGI the page server needs: read a body or form, answer, redirect."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MAX_FORM_BYTES = 1_000_000


def safe_back(back: str) -> str:
    """Only back to this page: never an address elsewhere."""
    return back if back.startswith("/") and not back.startswith("//") else "/"


def read_body(environ: WSGIEnvironment) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(min(length, MAX_FORM_BYTES)) if length else b""


def read_form(environ: WSGIEnvironment) -> dict[str, list[str]]:
    return parse_qs(read_body(environ).decode("utf-8", "replace"), keep_blank_values=True)


def send(start_response: StartResponse, status: int, kind: str, text: str) -> list[bytes]:
    data = text.encode()
    phrase = HTTPStatus(status).phrase
    start_response(
        f"{status} {phrase}", [("Content-Type", kind), ("Content-Length", str(len(data)))]
    )
    return [data]


def json_reply(
    start_response: StartResponse,
    status: int,
    body: dict[str, Any],
    extra: Mapping[str, str] | None = None,
) -> list[bytes]:
    data = json.dumps(body).encode()
    headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(data))),
    ]
    headers += list((extra or {}).items())
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [data]


def redirect(start_response: StartResponse, where: str) -> list[bytes]:
    start_response("303 See Other", [("Location", where), ("Content-Length", "0")])
    return []
