"""Logging set-up: text or JSON lines, ids of the ticket and event in hand, and no tokens ever.

`configure_logging` (called by the CLI) installs one handler on the root logger with two filters:
`LogContext` adds the fields of the work in hand (`log_context(event_id=..., channel=...)`) to
every record that lacks them, and `RedactTokens` masks anything shaped like a Slack token in the
message, its arguments, extra fields and tracebacks. `quiet_rejected_requests` stops Bolt from
logging the whole body of a request whose signature is wrong. Library code only logs, with
`extra={"ticket_id": ...}`; it never configures logging.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

TOKEN = re.compile(r"\b(xox[abposre]|xapp)-[A-Za-z0-9-]+")
"""Bot (`xoxb-`), user, app-level (`xapp-`), refresh and legacy Slack tokens."""
FIELDS = ("ticket_id", "event_id", "channel")
"""Always present on a record (None when unknown), so JSON lines have one shape."""
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_context: contextvars.ContextVar[tuple[tuple[str, Any], ...]] = contextvars.ContextVar(
    "jethro_log", default=()
)
BOLT_VERIFIER = "slack_bolt.RequestVerification"
_REJECTED = re.compile(
    r"^Invalid request signature detected \(signature: .*?, timestamp: (.*?), body: (.*)\)$", re.S
)


def redact(text: str) -> str:
    """`xoxb-123-abc` -> `xoxb-***`: the kind of token stays visible for diagnosis."""
    return TOKEN.sub(lambda match: f"{match.group(1)}-***", text)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every record logged inside the block (on this thread) carries `fields`."""
    token = _context.set(tuple({**dict(_context.get()), **fields}.items()))
    try:
        yield
    finally:
        _context.reset(token)


class LogContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in {**dict.fromkeys(FIELDS), **dict(_context.get())}.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class RedactTokens(logging.Filter):
    """Masks tokens in the formatted message, extra fields, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class TextFormatter(logging.Formatter):
    """`time level logger: message [ticket_id=12 event_id=Ev1 channel=C1]`, extras that are set."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        shown = " ".join(f"{k}={v}" for k, v in _extras(record).items() if v is not None)
        if not shown:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [{shown}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{k: _jsonable(v) for k, v in _extras(record).items()},
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "text", stream: TextIO | None = None) -> None:
    """One handler on the root logger (replacing any), to stderr unless `stream` is given."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(LogContext())
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def quiet_rejected_requests() -> None:
    """Bolt logs the whole body of a request with a bad signature at INFO: a forged request's
    body fills the log with whatever an attacker sent, and a replayed one holds people's words and
    its `response_url`. Log the timestamp and the size instead. Call after each `App(...)`, which
    resets that logger from its base logger."""
    logger = logging.getLogger(BOLT_VERIFIER)
    if not any(isinstance(f, _WithoutBody) for f in logger.filters):
        logger.addFilter(_WithoutBody())


class _WithoutBody(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        found = _REJECTED.match(record.getMessage())
        if found is not None:
            timestamp, body = found.groups()
            record.msg = (
                "refused a request with a bad or stale signature "
                "(timestamp %r, %d characters of body not logged)"
            )
            record.args = (timestamp[:32], len(body))
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
