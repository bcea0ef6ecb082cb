"""The `jethro` command: a thin adapter that parses arguments, calls the core and prints.

`.env` is loaded here and only here, and never overrides the real environment.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import click
from dotenv import find_dotenv, load_dotenv

from bot.config import SETTINGS, Settings, load_settings, settings_markdown
from bot.flow import TriageFlow
from bot.learning import pull_learned
from bot.logs import configure_logging
from bot.preview import format_decision
from bot.runtime import KnowledgeRuntime, load_knowledge, open_database, served_database
from bot.text_safety import matchable, safe_text
from escalation.errors import JethroError
from escalation.schedule import OncallSchedule, Shift
from knowledge.learning import Lesson, LessonKind
from knowledge.triage import decide

EXIT_USAGE = 2


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _knowledge(settings: Settings, kb_dir: Path | None) -> KnowledgeRuntime:
    """The knowledge base and matcher, or a clear error (e.g. a missing embedding model)."""
    try:
        return load_knowledge(settings, kb_dir)
    except JethroError as exc:
        _fail(str(exc), EXIT_USAGE)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(os.environ, **overrides)
    except JethroError as exc:
        _fail(str(exc), EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jethro")
def main() -> None:
    """Jethro triages problem reports: it answers the simple ones from a markdown knowledge base
    and hands the hard ones to on-call engineers."""
    load_dotenv(find_dotenv(usecwd=True), override=False)
    # Read raw, before the settings are validated, so `--help` works whatever they say; a bad
    # value falls back here and is named by the command that loads the settings.
    level = os.environ.get("JETHRO_LOG_LEVEL", "WARNING").upper()
    fmt = os.environ.get("JETHRO_LOG_FORMAT", "text").strip()
    configure_logging(level if level in logging.getLevelNamesMapping() else "WARNING", fmt)


_kb_option = click.option(
    "--kb",
    "kb_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Knowledge-base folder (default: JETHRO_KB_DIR, else the bundled sample).",
)


@main.command()
@click.argument("text")
@_kb_option
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
def ask(text: str, kb_dir: Path | None, as_json: bool) -> None:
    """Show what Jethro would do with one report, without storing anything."""
    settings = _settings()
    knowledge = _knowledge(settings, kb_dir)
    decision = decide(
        matchable(safe_text(text)), knowledge.matcher, settings.policy(knowledge.matcher)
    )
    if as_json:
        click.echo(json.dumps(decision.to_json(), indent=2))
    else:
        click.echo(format_decision(decision))


@main.command()
@_kb_option
@click.option("--user", default=None, help="Who is reporting (default: your login name).")
def shell(kb_dir: Path | None, user: str | None) -> None:
    """Talk to Jethro as an employee would in Slack; escalations become real tickets."""
    settings = _settings()
    knowledge = _knowledge(settings, kb_dir)
    flow = TriageFlow(
        knowledge.matcher,
        open_database(settings),
        policy=settings.policy(knowledge.matcher),
        default_team=settings.default_team,
    )
    reporter = user or getpass.getuser()
    from bot.shell import run_shell

    run_shell(flow, reporter=reporter, articles=len(knowledge.kb.articles))


@main.command()
@click.option(
    "--http",
    "http_mode",
    is_flag=True,
    help="Serve Slack over HTTP even when SLACK_APP_TOKEN is set (which means Socket Mode).",
)
@click.option(
    "--local",
    "local_mode",
    is_flag=True,
    help="Serve the local workspace (a Slack stand-in in the browser) even when Slack is set up.",
)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help="HTTP port (default 3000; 0: any free port, printed at start).",
)
@click.option(
    "--host",
    default=None,
    help="HTTP address to listen on (default: 0.0.0.0 for Slack, 127.0.0.1 for the local one).",
)
@_kb_option
def run(
    http_mode: bool, local_mode: bool, port: int | None, host: str | None, kb_dir: Path | None
) -> None:
    """Run the bot: Socket Mode if SLACK_APP_TOKEN is set, else HTTP on /slack/events; with no
    Slack settings at all (or --local), the local workspace at http://127.0.0.1:3000."""
    settings = _settings()
    port = 3000 if port is None else port
    if local_mode or not settings.any_slack_setting():
        _run_local(settings, host or "127.0.0.1", port, kb_dir)
        return
    socket_mode = bool(settings.slack_app_token) and not http_mode
    missing = settings.missing_for_slack()
    if (
        not socket_mode
        and not settings.slack_signing_secret
        and "SLACK_SIGNING_SECRET" not in missing
    ):
        missing.append("SLACK_SIGNING_SECRET")
    if missing:
        _fail(
            f"cannot start: {', '.join(missing)} not set. Put them in the environment or a .env "
            "file; the README's Configuration section says where each comes from. (Unset every "
            "Slack setting, or pass --local, to try Jethro in the local workspace instead.)",
            EXIT_USAGE,
        )
    from bot.server import serve

    try:
        serve(settings, socket_mode=socket_mode, host=host or "0.0.0.0", port=port, kb_dir=kb_dir)
    except JethroError as exc:
        _fail(str(exc))


def _run_local(settings: Settings, host: str, port: int, kb_dir: Path | None) -> None:
    from bot.local.run import CONNECT_REAL_SLACK, local_workspace

    try:
        with local_workspace(settings, host=host, port=port, kb_dir=kb_dir) as running:
            click.echo(f"Jethro's local workspace is at {running.url}", nl=True)
            click.echo(
                "No Slack app needed: open it in a browser and talk to Jethro as any of its "
                "people. Ctrl-C stops it."
            )
            click.echo(CONNECT_REAL_SLACK)
            sys.stdout.flush()
            running.wait()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    except OSError as exc:
        _fail(f"cannot serve the local workspace on {host}:{port}: {exc} (try --port 0)")
    except JethroError as exc:
        _fail(str(exc))


@main.command()
@_kb_option
def doctor(kb_dir: Path | None) -> None:
    """Check the settings, database, KB, matcher, on-call file and Slack, and the work stuck
    waiting; one line per check with the fix, exit 1 on any failure. Changes nothing."""
    from bot.doctor import Status, diagnose, report_lines
    from escalation.clock import SystemClock

    checks = diagnose(os.environ, SystemClock(), kb_dir=kb_dir)
    for line in report_lines(checks):
        click.echo(line)
    sys.exit(1 if any(check.status is Status.FAIL for check in checks) else 0)


@main.group()
def kb() -> None:
    """Check and measure a knowledge base."""


@kb.command("lint")
@click.argument(
    "directory",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def kb_lint(directory: Path | None, strict: bool) -> None:
    """Report every problem in the knowledge base as path:line: message."""
    from knowledge.lint import lint_kb
    from knowledge.loader import find_article_files

    root = directory or load_knowledge_root()
    problems = [replace(p, path=_shown_path(root / p.path)) for p in lint_kb(root)]
    for problem in problems:
        click.echo(str(problem))
    if not find_article_files(root):
        click.echo(f"{root}: no articles found (looked for *.md files)", err=True)
        sys.exit(1)
    errors = sum(1 for p in problems if p.level == "error")
    warnings = len(problems) - errors
    click.echo(f"{root}: {errors} error(s), {warnings} warning(s)", err=True)
    sys.exit(1 if errors or (strict and warnings) else 0)


def _shown_path(path: Path) -> str:
    """Relative to the working directory where possible, so editors can jump to it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_knowledge_root() -> Path:
    from bot.runtime import kb_root

    return kb_root(_settings())


@kb.command("eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kb",
    "kb_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Knowledge-base folder to evaluate.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as one JSON object.")
def kb_eval(queries: Path, kb_dir: Path, as_json: bool) -> None:
    """Measure matching on labelled queries (JSONL lines {"text": ..., "label": ...})."""
    from knowledge.evaluate import evaluate, read_queries

    settings = _settings()
    try:
        labelled = read_queries(queries)
    except JethroError as exc:
        _fail(str(exc))
    knowledge = _knowledge(settings, kb_dir)
    matcher = knowledge.matcher
    engine = served_database(settings)
    if engine is not None:  # decide as the bots serve: with what they learned, refit thresholds
        pull_learned(matcher, engine)
    report = evaluate(
        knowledge.kb.articles,
        labelled,
        matcher,
        settings.policy(matcher),
        settings.thresholds(matcher),
    )
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.to_text())


@kb.command("replay")
@click.argument("stream", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kb",
    "kb_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Knowledge-base folder to start from (copied; the copy learns, never this one).",
)
@click.option(
    "--window",
    default=500,
    show_default=True,
    type=click.IntRange(1),
    help="Reports per window of the learning curve.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as one JSON object.")
def kb_replay(stream: Path, kb_dir: Path, window: int, as_json: bool) -> None:
    """Replay labelled reports (JSONL lines {"text": ..., "label": ...}) through the real
    decision and learning, with simulated employees, engineers and an admin, on a scratch
    database and a scratch copy of the base; print the learning curve per window."""
    from bot.replay import replay, report_json, report_text
    from knowledge.evaluate import read_queries

    _settings()
    try:
        labelled = read_queries(stream)
    except JethroError as exc:
        _fail(str(exc))
    try:
        judged = replay(kb_dir, labelled)
    except JethroError as exc:
        _fail(str(exc), EXIT_USAGE)
    report = report_json(judged, window)
    click.echo(json.dumps(report, indent=2) if as_json else report_text(report))


@main.group()
def tickets() -> None:
    """List and inspect tickets."""


@tickets.command("list")
@click.option(
    "--status", type=click.Choice(["open", "acknowledged", "resolved"]), help="Only these."
)
@click.option("--limit", default=50, show_default=True, help="At most this many, newest first.")
def tickets_list(status: str | None, limit: int) -> None:
    """List tickets, newest first."""
    from bot.preview import ticket_line
    from escalation.db import session
    from escalation.models import TicketStatus
    from escalation.tickets import list_tickets

    engine = open_database(_settings())
    with session(engine) as db:
        rows = list_tickets(db, status=TicketStatus(status) if status else None, limit=limit)
        if not rows:
            click.echo("No tickets.")
        for ticket in rows:
            click.echo(ticket_line(ticket))


@tickets.command("show")
@click.argument("ticket_id", type=int)
def tickets_show(ticket_id: int) -> None:
    """Show one ticket with its history."""
    from bot.preview import ticket_details
    from escalation.db import session
    from escalation.tickets import get_ticket, ticket_events

    engine = open_database(_settings())
    with session(engine) as db:
        try:
            ticket = get_ticket(db, ticket_id)
        except JethroError as exc:
            _fail(f"{exc} `jethro tickets list` shows the ones there are.")
        click.echo(ticket_details(ticket, ticket_events(db, ticket_id)))


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (start-up does this too)."""
    settings = _settings()
    open_database(settings)
    click.echo(f"Database at {_redact_url(settings.database_url)} is up to date.")


@main.command("config")
@click.option("--markdown", is_flag=True, help="Print the settings table for the README instead.")
def show_config(markdown: bool) -> None:
    """Show the effective settings (secrets hidden)."""
    if markdown:
        click.echo(settings_markdown())
        return
    _settings()
    for setting in SETTINGS:
        raw = os.environ.get(setting.name)
        shown = raw if raw is not None else f"{setting.default} (default)"
        if setting.secret and raw:
            shown = "*** (set)"
        if setting.name == "DATABASE_URL":
            shown = _redact_url(shown)
        click.echo(f"{setting.name}={shown}")


def _redact_url(url: str) -> str:
    """Hide a password in a database URL, keeping the rest for diagnosis."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


@main.group()
def oncall() -> None:
    """Who is on call (JETHRO_ONCALL_FILE), overrides, and checking the file."""


_oncall_file_option = click.option(
    "--file",
    "oncall_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="On-call YAML file (default: JETHRO_ONCALL_FILE, else the bundled sample).",
)


@oncall.command("show")
@click.option("--team", "teams", multiple=True, help="Only this team (repeatable).")
@click.option("--at", "at_text", default="now", show_default=True, help="'now' or ISO 8601.")
@_oncall_file_option
def oncall_show(teams: tuple[str, ...], at_text: str, oncall_file: Path | None) -> None:
    """Who is on call now, until when (team's local time), and who is next."""
    from escalation.clock import SystemClock
    from escalation.db import session
    from escalation.oncall import active_overrides, parse_when
    from escalation.schedule import oncall_summary

    settings = _settings()
    schedule = _oncall_schedule(settings, oncall_file)
    unknown = [team for team in teams if schedule.team(team) is None]
    if unknown:
        known = ", ".join(team.name for team in schedule.teams)
        _fail(f"no team {', '.join(unknown)} in {schedule.path}: teams are {known}")
    try:
        at = parse_when(at_text, ZoneInfo(schedule.timezone), SystemClock().now())
    except JethroError as exc:
        _fail(str(exc), EXIT_USAGE)
    try:
        with session(open_database(settings)) as db:
            overrides = active_overrides(db, None, at)
    except JethroError as exc:
        _fail(str(exc))
    for team in oncall_summary(schedule, overrides, at, teams):
        click.echo(f"{team.team} ({team.timezone}) at {_local(at, team.timezone)}")
        for layer in team.layers:
            now = _shift_text(layer.now, team.timezone, first=True)
            click.echo(f"  {layer.layer:<10} now   {now}")
            click.echo(f"  {'':<10} next  {_shift_text(layer.next, team.timezone, first=False)}")


@oncall.command("override")
@click.argument("team")
@click.argument("user")
@click.option("--for", "length", required=True, help="How long: 4h, 30m, 2d, 1h30m.")
@click.option("--layer", default="primary", show_default=True, help="primary or secondary.")
@click.option("--start", "start_text", default="now", show_default=True, help="'now' or ISO 8601.")
@click.option("--by", "created_by", default=None, help="Who asks (default: your login name).")
@_oncall_file_option
def oncall_override(
    team: str,
    user: str,
    length: str,
    layer: str,
    start_text: str,
    created_by: str | None,
    oncall_file: Path | None,
) -> None:
    """Put USER (a Slack user id) on call for TEAM's layer for a while, over the rotation."""
    from escalation.clock import SystemClock
    from escalation.db import session
    from escalation.oncall import add_override, parse_duration, parse_when

    settings = _settings()
    schedule = _oncall_schedule(settings, oncall_file)
    clock = SystemClock()
    found = schedule.team(team)
    zone = ZoneInfo(found.timezone if found else schedule.timezone)
    try:
        start = parse_when(start_text, zone, clock.now())
        end = start + parse_duration(length)
        with session(open_database(settings)) as db:
            by = created_by or getpass.getuser()
            added = add_override(db, team, layer, user, start, end, by, clock, schedule=schedule)
    except JethroError as exc:
        _fail(str(exc))
    click.echo(
        f"{added.user} is on call for {team} {layer} from {_local(added.start, zone.key)} "
        f"until {_local(added.end, zone.key)} (override #{added.id})."
    )


@oncall.command("lint")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def oncall_lint(file: Path | None, strict: bool) -> None:
    """Report every problem in the on-call file as path:line: message."""
    from escalation.oncall import lint_oncall, oncall_path

    path = file or oncall_path(_settings().oncall_file)
    problems = lint_oncall(path)
    for problem in problems:
        click.echo(str(problem))
    errors = sum(1 for p in problems if p.level == "error")
    warnings = len(problems) - errors
    click.echo(f"{path}: {errors} error(s), {warnings} warning(s)", err=True)
    sys.exit(1 if errors or (strict and warnings) else 0)


def _oncall_schedule(settings: Settings, override: Path | None) -> OncallSchedule:
    from escalation.oncall import load_oncall, oncall_path

    path = override or oncall_path(settings.oncall_file)
    try:
        return load_oncall(path)
    except JethroError as exc:
        _fail(f"{exc}\n`jethro oncall lint {path}` lists every problem.")


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %Z")


def _shift_text(shift: Shift | None, zone: str, *, first: bool) -> str:
    if shift is None:
        return "nobody (the rotation has not started)" if first else "nobody"
    who = f"{shift.user} (override)" if shift.override else shift.user
    span = f"until {_local(shift.end, zone)}"
    return f"{who:<20} {span if first else f'from {_local(shift.start, zone)} {span}'}"


def _window(text: str) -> timedelta:
    from escalation.oncall import parse_duration

    try:
        return parse_duration(text)
    except JethroError as exc:
        _fail(str(exc), EXIT_USAGE)


@kb.group("learned")
def kb_learned() -> None:
    """See, remove and export what the bots learned from outcomes (docs/learning.md)."""


def _lessons_counting(kb_dir: Path | None) -> tuple[list[Lesson], frozenset[int]]:
    """Every stored lesson, and the ids of those that count on the base in `kb_dir` (the served
    one by default): its matcher is built and given them as a bot's would be."""
    from escalation.db import session
    from escalation.lessons import list_lessons
    from knowledge.learning import LearningMatcher

    settings = _settings()
    engine = open_database(settings)
    knowledge = _knowledge(settings, kb_dir)
    pull_learned(knowledge.matcher, engine)
    matcher = knowledge.matcher
    with session(engine) as db:
        lessons = list_lessons(db)
    if not isinstance(matcher, LearningMatcher):
        return lessons, frozenset()
    articles = {a.id for a in knowledge.kb.articles}
    counters = {
        x.id
        for x in lessons
        if x.kind is LessonKind.COUNTER and x.teaches and x.article_id in articles
    }
    return lessons, matcher.in_force() | counters


@kb_learned.command("list")
@_kb_option
@click.option("--article", "article_id", default=None, help="Only this article's lessons.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
def kb_learned_list(kb_dir: Path | None, article_id: str | None, as_json: bool) -> None:
    """Every learned example and counter-example, oldest first, with who taught it, when, from
    which conversation and ticket, and whether it counts (an employee's example waits for a
    second person)."""
    from escalation.lessons import lesson_json

    lessons, counting = _lessons_counting(kb_dir)
    lessons = [x for x in lessons if article_id is None or x.article_id == article_id]
    for lesson in lessons:
        counts = lesson.id in counting
        if as_json:
            click.echo(json.dumps({**lesson_json(lesson), "counts": counts}))
            continue
        ticket = f" ticket #{lesson.ticket_id}" if lesson.ticket_id is not None else ""
        state = "counts" if counts else "waits for a second person"
        if not lesson.teaches:
            state = "a would-be verdict, for the threshold refit only"
        click.echo(
            f"#{lesson.id} {lesson.kind.value} of {lesson.article_id} · {lesson.source.value} "
            f"by {lesson.teacher} at {lesson.created_at:%Y-%m-%d %H:%M}{ticket} · {state} · "
            f"{' '.join(lesson.text.split())[:100]}"
        )
    if not lessons and not as_json:
        click.echo("Nothing learned yet.")


@kb_learned.command("remove")
@click.argument("lesson_id", type=int)
def kb_learned_remove(lesson_id: int) -> None:
    """Remove one lesson: every bot stops using it at its next sync (within seconds)."""
    from escalation.db import session
    from escalation.lessons import remove_lesson

    with session(open_database(_settings())) as db:
        removed = remove_lesson(db, lesson_id)
    if not removed:
        _fail(f"no learned lesson #{lesson_id}; `jethro kb learned list` shows them.")
    click.echo(f"Removed lesson #{lesson_id}; the bots stop using it at their next sync.")


@kb_learned.command("export")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def kb_learned_export(directory: Path) -> None:
    """Write the learned examples that count (taught by an engineer, or by two people) into
    their articles' markdown in DIRECTORY, for review in git. Running it again adds nothing."""
    from knowledge.learning.export import export_examples

    everything, counting = _lessons_counting(directory)
    lessons = [x for x in everything if x.kind is LessonKind.EXAMPLE and x.teaches]
    examples = [(x.article_id, x.text) for x in lessons if x.id in counting]
    done = export_examples(directory, examples)
    for path, texts in sorted(done.written.items()):
        click.echo(f"{_shown_path(directory / path)}: {len(texts)} example(s) added")
    for article_id, text, why in done.skipped:
        click.echo(f"skipped for {article_id}: {text[:80]!r} ({why})")
    waiting = len(lessons) - len(examples)
    total = sum(len(t) for t in done.written.values())
    click.echo(
        f"{total} example(s) written to {len(done.written)} file(s); {waiting} learned "
        "example(s) not counting yet (they need a second person) left out.",
        err=True,
    )


@kb.command("gaps")
@click.option("--since", "since_text", default="30d", show_default=True, help="e.g. 7d, 2w.")
@click.option("--limit", default=20, show_default=True, help="At most this many groups.")
def kb_gaps(since_text: str, limit: int) -> None:
    """Escalated reports grouped by similarity, largest group first: the articles to write next."""
    from escalation.clock import SystemClock
    from escalation.db import session
    from escalation.stats import escalated_reports
    from knowledge.gaps import find_gaps

    since = SystemClock().now() - _window(since_text)
    with session(open_database(_settings())) as db:
        tickets = escalated_reports(db, since=since)
    if not tickets:
        click.echo(f"No escalated reports in the last {since_text}.")
        return
    gaps = find_gaps([text for _, text in tickets])
    for gap in gaps[:limit]:
        words = ", ".join(gap.keywords) or "-"
        click.echo(f"{len(gap.reports)} report(s) · {words}")
        for position in gap.positions[:5]:
            number, text = tickets[position]
            click.echo(f"  #{number} {' '.join(text.split())[:100]}")
        if len(gap.reports) > 5:
            click.echo(f"  …and {len(gap.reports) - 5} more")
    if len(gaps) > limit:
        click.echo(f"…and {len(gaps) - limit} smaller group(s): --limit shows more.")


@kb.command("proposals")
@click.option("--json", "as_json", is_flag=True, help="Print the proposals as one JSON object.")
def kb_proposals(as_json: bool) -> None:
    """Proposed articles: tickets resolved as the same new problem, largest group first."""
    from bot.learning.proposals import proposals

    found = proposals(open_database(_settings()))
    if as_json:
        click.echo(json.dumps({"proposals": [p.to_json() for p in found]}, indent=2))
        return
    if not found:
        click.echo('No proposals: no resolved ticket waits as "none: a new problem".')
    for proposal in found:
        click.echo(f"{proposal.id}  {proposal.title!r} · {proposal.count} ticket(s)")
        for ticket in proposal.tickets[:5]:
            click.echo(f"  #{ticket.ticket} {' '.join(ticket.report.split())[:100]}")
        if proposal.count > 5:
            click.echo(f"  …and {proposal.count - 5} more")
    if found:
        click.echo("`jethro kb publish ID --kb DIR` writes one as an article.", err=True)


@kb.command("publish")
@click.argument("proposal_id", metavar="ID", type=int)
@click.option(
    "--kb",
    "kb_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Knowledge-base folder to write the article into.",
)
@click.option("--title", default=None, help="The article's title (default: the suggested one).")
@click.option(
    "--id", "article_id", default=None, help="Its id and file name (default: from the title)."
)
def kb_publish(proposal_id: int, kb_dir: Path, title: str | None, article_id: str | None) -> None:
    """Write proposal ID as a markdown article with its reports as examples; the bot matches
    it from its next reload. Review and commit it: the folder stays the source of truth."""
    from bot.learning.proposals import publish
    from knowledge.loader import load_kb

    settings = _settings()
    try:
        done = publish(
            open_database(settings),
            proposal_id,
            kb_dir,
            load_kb(kb_dir).articles,
            title=title,
            article_id=article_id,
        )
    except JethroError as exc:
        _fail(str(exc))
    click.echo(
        f"{_shown_path(done.path)}: article {done.article_id!r} from "
        f"{done.proposal.count} ticket(s); `jethro kb lint {_shown_path(kb_dir)}` checks it."
    )


@main.command("stats")
@click.option("--since", "since_text", default="7d", show_default=True, help="e.g. 24h, 7d, 4w.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def stats(since_text: str, as_json: bool) -> None:
    """Reports, answered, deflected, suggested, escalated; time to acknowledge and resolve."""
    from bot.figures import stats_text
    from escalation.clock import SystemClock
    from escalation.db import session
    from escalation.stats import collect_stats

    settings = _settings()
    now = SystemClock().now()
    with session(open_database(settings)) as db:
        figures = collect_stats(
            db, since=now - _window(since_text), until=now, default_team=settings.default_team
        )
    click.echo(
        json.dumps(figures.to_json(), indent=2) if as_json else stats_text(figures, since_text)
    )
