"""Load: Jethro under a fixed rate of Slack events, next to a bare Bolt app on the same stack.

    .venv/bin/python bench/load.py                                  # all of it, ~4 minutes
    .venv/bin/python bench/load.py --targets sqlite --no-ramp       # one replica, 200/s, 20 s
    .venv/bin/python bench/load.py --write docs/performance.md      # regenerate the doc's table

Everything is a real process talking HTTP: the fake Slack Web API (`tests/fakes/slack_api.py`,
in a process of its own, stamping each call's arrival), the app under test (`jethro run --http`,
one or two replicas, or the bare echo app of `bench/load_servers.py` on the same waitress stack),
and this process sending signed `message.im` events open loop (`bench/load_traffic.py`), round
robin over the replicas as a load balancer would. Per target:

- ack: from sending the request to its HTTP response (Slack's 3-second acknowledgement);
- answer: from sending the event to the fake receiving the `chat.postMessage` to its channel;
- answered/s: answers over the time from the first send to the last answer; it falls below the
  offered rate when answers fall behind;
- errors: non-200 acknowledgements and failed requests; lost: acknowledged but unanswered after
  the drain period; duplicates: a second `chat.postMessage` to the same report's channel.

Each app first gets a few warm-up events (not counted): the first requests pay for lazy imports.
The sustainable rate (`--ramp`) steps the offered rate up by 40% from `--ramp-from` for
`--ramp-seconds` each, on one process, and is the last step with ack p99 <= 25 ms, no errors,
nothing lost and at least 95% of the offered rate answered. PostgreSQL targets get a schema of
their own on `--postgres` (default `JETHRO_TEST_DATABASE_URL`), dropped afterwards.

The generator, the fake and the app share the machine, so on 2 cores the app under test gets
less than both; the table says what else was running (load average).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load_servers import LISTENING
from bench.load_traffic import Shot, build_shots, send

ROOT = Path(__file__).resolve().parents[1]

BOT_TOKEN = "xoxb-bench-bot-token"
SIGNING_SECRET = "bench-signing-secret"
ENGINEERS = "C0BENCH001"
ACK_P99_LIMIT_MS = 25.0
KEEP_UP = 0.95
RAMP_FACTOR = 1.4
JETHRO_RUN = ["run", "--http", "--host", "127.0.0.1", "--port", "0"]
MARKERS = ("<!-- load -->", "<!-- /load -->")
CACHE = Path(tempfile.gettempdir()) / "jethro-bench-cache"
"""Embeddings of the sample base, kept between runs so a semantic start takes seconds."""


@dataclass(frozen=True)
class Target:
    """What is measured: the bare app or Jethro, on which database, with how many replicas."""

    name: str
    replicas: int
    database: str  # "sqlite", "postgresql" or "" (the bare app keeps nothing)

    @property
    def label(self) -> str:
        if self.name == "bare":
            return "bare Bolt app (echo)"
        return f"Jethro, {self.replicas} replica{'s' if self.replicas > 1 else ''}"


TARGETS = {
    "bare": Target("bare", 1, ""),
    "sqlite": Target("sqlite", 1, "sqlite"),
    "postgres": Target("postgres", 1, "postgresql"),
    "postgres-2": Target("postgres-2", 2, "postgresql"),
}


@dataclass(frozen=True)
class Figures:
    target: str
    rate: float
    seconds: float
    sent: int
    sent_rate: float
    errors: int
    ack_p50: float
    ack_p99: float
    answered: int
    answered_rate: float
    answer_p50: float
    answer_p99: float
    lost: int
    duplicates: int
    send_late_p99: float
    """How late the generator itself sent (ms past schedule): large means the machine, not the
    app, was the bottleneck."""
    cpu_ms: float
    """CPU time the app's processes used per event, from the first send until all answers
    arrived: what other work on the machine disturbs least."""

    @property
    def sustainable(self) -> bool:
        return (
            self.errors == 0
            and self.lost == 0
            and self.ack_p99 <= ACK_P99_LIMIT_MS
            and self.answered_rate >= KEEP_UP * self.rate
        )


# Processes.


class FakeSlackProcess:
    """`bench/load_servers.py fake-slack`; `take()` returns the calls since the last one."""

    def __init__(self, log: IO[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "load_servers.py"), "fake-slack"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert self.process.stdout is not None
        self.api_url = self.process.stdout.readline().strip()
        if not self.api_url:
            raise RuntimeError("the fake Slack server did not start; see its log")

    def take(self) -> list[list[Any]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("take\n")
        self.process.stdin.flush()
        rows: list[list[Any]] = json.loads(self.process.stdout.readline())
        return rows

    def close(self) -> None:
        _stop(self.process)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _environment(api_url: str, database_url: str, matcher: str, precision: str) -> dict[str, str]:
    """What `jethro run` reads, and nothing from the developer's environment or `.env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JETHRO_", "SLACK_"))}
    base.pop("DATABASE_URL", None)
    return base | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "JETHRO_ESCALATION_CHANNEL": ENGINEERS,
        "JETHRO_MATCHER": matcher,
        "JETHRO_ENCODER_PRECISION": precision,
        "JETHRO_CACHE_DIR": str(CACHE),
        "DATABASE_URL": database_url,
    }


def _start(command: list[str], env: dict[str, str], cwd: Path, log: IO[str]) -> tuple[Any, str]:
    """Start a server and wait for the line saying where it listens."""
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=log, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(LISTENING):
        _stop(process)
        raise RuntimeError(f"{command[0]} did not start (said {line!r}); see {log.name}")
    return process, line.removeprefix(LISTENING).strip()


@dataclass(frozen=True)
class Running:
    """The replicas of a target: where each listens, and its process id (for its CPU time)."""

    urls: list[str]
    pids: list[int]

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by all replicas (Linux `/proc`; 0 elsewhere)."""
        total = 0.0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                return 0.0
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


@contextmanager
def serving(
    target: Target, fake: FakeSlackProcess, args: argparse.Namespace, work: Path
) -> Iterator[Running]:
    """The target's processes, running."""
    with ExitStack() as stack:
        database = stack.enter_context(_database(target, args.postgres, work))
        env = _environment(fake.api_url, database, args.matcher, args.precision)
        if target.name == "bare":
            command = [sys.executable, str(ROOT / "bench" / "load_servers.py"), "bare"]
        elif args.source:  # another checkout's code, e.g. `git archive HEAD` for a baseline
            env["PYTHONPATH"] = str(args.source.resolve())
            command = [sys.executable, "-c", "from bot.cli import main; main()", *JETHRO_RUN]
        else:
            command = [str(Path(sys.executable).parent / "jethro"), *JETHRO_RUN]
        running = Running([], [])
        for replica in range(target.replicas):
            log = stack.enter_context(open(work / f"{target.name}-{replica}.log", "a"))
            process, url = _start(command, env, work, log)
            stack.callback(_stop, process)
            running.urls.append(url)
            running.pids.append(process.pid)
        yield running


@contextmanager
def _database(target: Target, postgres: str, work: Path) -> Iterator[str]:
    if target.database != "postgresql":
        path = work / f"{target.name}-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        return
    from tests.dbfixtures import postgres_schema

    with postgres_schema(postgres) as url:
        yield url


# One run at one rate.


def measure(
    target: Target,
    running: Running,
    fake: FakeSlackProcess,
    rate: float,
    seconds: float,
    drain: float,
    settle: float = 1.0,
    outage: float = 0.0,
) -> Figures:
    """Send `rate * seconds` events, then wait up to `drain` seconds for the answers."""
    fake.take()  # forget what came before
    count = max(1, round(rate * seconds))
    shots = build_shots(count, running.urls, SIGNING_SECRET, "B", outage)
    cpu = running.cpu_seconds()
    send(shots, running.urls, rate)
    answers = _answers(shots, fake, drain)
    cpu_ms = 1000 * (running.cpu_seconds() - cpu) / len(shots)
    answers = _answers(shots, fake, settle, answers, until_all=False)  # a late duplicate shows
    return _figures(target.name, rate, seconds, shots, answers, cpu_ms)


def _answers(
    shots: Sequence[Shot],
    fake: FakeSlackProcess,
    seconds: float,
    seen: dict[str, list[float]] | None = None,
    *,
    until_all: bool = True,
) -> dict[str, list[float]]:
    """Arrival times of `chat.postMessage` per report channel, collected for `seconds`, or
    (`until_all`) until every acknowledged report has one."""
    wanted = {shot.channel for shot in shots if shot.ok}
    seen = {} if seen is None else seen
    deadline = time.time() + seconds
    while True:
        for method, channel, at, ok in fake.take():
            if method == "chat.postMessage" and ok:
                seen.setdefault(channel, []).append(at)
        if (until_all and wanted <= seen.keys()) or time.time() >= deadline:
            return seen
        time.sleep(0.1)


def _figures(
    name: str,
    rate: float,
    seconds: float,
    shots: Sequence[Shot],
    answers: dict[str, list[float]],
    cpu_ms: float,
) -> Figures:
    acked = [s for s in shots if s.ok]
    ack_ms = [1000 * (s.acked - s.sent) for s in acked]
    first = [(s, min(answers[s.channel])) for s in shots if s.channel in answers]
    answer_ms = [1000 * (at - s.sent) for s, at in first]
    start = min(s.sent for s in shots)
    last_sent = max(s.sent for s in shots)
    last_answer = max((at for _, at in first), default=last_sent)
    return Figures(
        target=name,
        rate=rate,
        seconds=seconds,
        sent=len(shots),
        sent_rate=(len(shots) - 1) / (last_sent - start) if last_sent > start else rate,
        errors=len(shots) - len(acked),
        ack_p50=percentile(ack_ms, 50),
        ack_p99=percentile(ack_ms, 99),
        answered=len(first),
        answered_rate=len(first) / max(last_answer - start, len(shots) / rate),
        answer_p50=percentile(answer_ms, 50),
        answer_p99=percentile(answer_ms, 99),
        lost=sum(1 for s in acked if s.channel not in answers),
        duplicates=sum(len(answers[s.channel]) - 1 for s in shots if s.channel in answers),
        send_late_p99=percentile([1000 * (s.sent - s.scheduled) for s in shots], 99),
        cpu_ms=cpu_ms,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def ramp(
    target: Target,
    running: Running,
    fake: FakeSlackProcess,
    args: argparse.Namespace,
) -> tuple[Figures | None, Figures | None]:
    """The last sustainable step and the first one that was not (None when none was / all were)."""
    rate, best = float(args.ramp_from), None
    while rate <= args.ramp_max:
        step = measure(
            target, running, fake, rate, args.ramp_seconds, args.drain, outage=args.outage
        )
        _progress(step, "ramp")
        if not step.sustainable:
            return best, step
        best, rate = step, round(rate * RAMP_FACTOR)
        time.sleep(1)  # let the last step's stragglers (outbox, WAL checkpoint) finish
    return best, None


# Reporting.


def _progress(f: Figures, phase: str) -> None:
    print(
        f"[{phase}] {f.target} {f.rate:.0f}/s: ack p50/p99 {f.ack_p50:.1f}/{f.ack_p99:.1f} ms, "
        f"answer p50/p99 {f.answer_p50:.0f}/{f.answer_p99:.0f} ms, CPU {f.cpu_ms:.1f} ms/event, "
        f"answered {f.answered_rate:.0f}"
        f"/s, errors {f.errors}, lost {f.lost}, dup {f.duplicates}, "
        f"generator late p99 {f.send_late_p99:.1f} ms",
        file=sys.stderr,
        flush=True,
    )


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def table(
    fixed: Sequence[tuple[Target, Figures | None]],
    ramps: Sequence[tuple[Target, Figures | None, Figures | None]],
    args: argparse.Namespace,
    loads: Sequence[float],
) -> str:
    lines = [
        f"At {args.rate:g} events/s for {args.seconds:g} s (matcher: `{args.matcher}`, "
        f"encoder precision `{args.precision}`"
        + (f", {args.outage:.0%} of reports about an outage" if args.outage else "")
        + "; lost: "
        f"acknowledged but not answered within {args.drain:g} s after the last send):",
        "",
        "| app | database | offered | answered/s | ack p50 | ack p99 | answer p50 | answer p99 "
        "| CPU/event | errors | lost | duplicates |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target, f in fixed:
        database = target.database or "-"
        if f is None:
            lines.append(f"| {target.label} | {database} | skipped: no PostgreSQL ||||||||||")
            continue
        lines.append(
            f"| {target.label} | {database} | {f.rate:.0f}/s | {f.answered_rate:.0f} | "
            f"{_ms(f.ack_p50)} | {_ms(f.ack_p99)} | {_ms(f.answer_p50)} | {_ms(f.answer_p99)} | "
            f"{_ms(f.cpu_ms)} | {f.errors} | {f.lost} | {f.duplicates} |"
        )
    if ramps:
        lines += [
            "",
            f"Sustainable rate: the highest step (x{RAMP_FACTOR} from {args.ramp_from}/s, "
            f"{args.ramp_seconds:g} s each) with ack p99 <= {ACK_P99_LIMIT_MS:g} ms, no errors, "
            f"nothing lost, and at least {KEEP_UP:.0%} answered per second:",
            "",
            "| app | database | sustainable | ack p99 there | answer p99 there | next step "
            "| why it failed |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for target, best, failed in ramps:
            lines.append(_ramp_row(target, best, failed))
        rates = {t.name: b.rate for t, b, _ in ramps if b is not None}
        bot = next((r for n, r in rates.items() if n != "bare"), None)
        if "bare" in rates and bot is not None:
            lines += ["", f"Ratio Jethro / bare app: **{bot / rates['bare']:.2f}**."]
    lines += [
        "",
        f"Machine: {os.cpu_count()} cores shared by the generator, the fake Slack server and the "
        f"app; 1-minute load average {min(loads):.1f}-{max(loads):.1f} during the run (other work "
        "shared it; an idle machine is faster).",
    ]
    return "\n".join(lines)


def _ramp_row(target: Target, best: Figures | None, failed: Figures | None) -> str:
    database = target.database or "-"
    rate = f"{best.rate:.0f}/s" if best else "below the first step"
    ack = _ms(best.ack_p99) if best else "-"
    answer = _ms(best.answer_p99) if best else "-"
    if failed is None:
        return f"| {target.label} | {database} | {rate} | {ack} | {answer} | - | none failed |"
    reasons = []
    if failed.ack_p99 > ACK_P99_LIMIT_MS:
        reasons.append(f"ack p99 {_ms(failed.ack_p99)}")
    if failed.answered_rate < KEEP_UP * failed.rate:
        reasons.append(f"answered {failed.answered_rate:.0f}/s")
    if failed.errors or failed.lost:
        reasons.append(f"{failed.errors} errors, {failed.lost} lost")
    return (
        f"| {target.label} | {database} | {rate} | {ack} | {answer} | {failed.rate:.0f}/s "
        f"| {', '.join(reasons)} |"
    )


def write_section(path: Path, text: str, command: str) -> None:
    """Replace what is between this benchmark's markers in `path`, or append the section."""
    start, end = MARKERS
    section = f"{start}\n<!-- generated by `{command}`; do not edit by hand -->\n\n{text}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    if start not in old:
        path.write_text(f"{old.rstrip()}\n\n{section}\n", encoding="utf-8")
        return
    pattern = re.escape(start) + ".*?" + re.escape(end)
    path.write_text(re.sub(pattern, lambda _: section, old, flags=re.S), encoding="utf-8")


# The whole run.


def _postgres_reachable(url: str) -> bool:
    from escalation.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect():
            return True
    except Exception as exc:
        print(f"PostgreSQL at {url} unreachable ({type(exc).__name__}): skipped", file=sys.stderr)
        return False
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    targets = [TARGETS[name] for name in args.targets]
    ramped = set(args.ramp_targets) if args.ramp else set()
    postgres = any(t.database == "postgresql" for t in targets) and _postgres_reachable(
        args.postgres
    )
    work = Path(tempfile.mkdtemp(prefix="jethro-load-"))
    fixed: list[tuple[Target, Figures | None]] = []
    ramps: list[tuple[Target, Figures | None, Figures | None]] = []
    loads = [os.getloadavg()[0]]
    try:
        with open(work / "fake-slack.log", "a") as log:
            fake = FakeSlackProcess(log)
            try:
                for target in targets:
                    if target.database == "postgresql" and not postgres:
                        fixed.append((target, None))
                        continue
                    with serving(target, fake, args, work) as running:
                        if args.warmup:
                            measure(target, running, fake, 20, args.warmup / 20, args.drain)
                        figures = measure(
                            target,
                            running,
                            fake,
                            args.rate,
                            args.seconds,
                            args.drain,
                            outage=args.outage,
                        )
                        _progress(figures, "fixed")
                        fixed.append((target, figures))
                        loads.append(os.getloadavg()[0])
                    if target.name in ramped:  # a fresh process: no backlog from the above
                        with serving(target, fake, args, work) as running:
                            if args.warmup:
                                measure(target, running, fake, 20, args.warmup / 20, args.drain)
                            ramps.append((target, *ramp(target, running, fake, args)))
                        loads.append(os.getloadavg()[0])
            finally:
                fake.close()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs and databases kept in {work}", file=sys.stderr)
    return {
        "table": table(fixed, ramps, args, loads),
        "fixed": [asdict(f) for _, f in fixed if f is not None],
        "ramps": [
            {"target": t.name, "sustainable": b and b.rate, "failed_at": f and f.rate}
            for t, b, f in ramps
        ],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200, help="events per second (200)")
    parser.add_argument("--seconds", type=float, default=20, help="how long to send (20)")
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=list(TARGETS),
        default=list(TARGETS),
        help="what to measure at --rate (all)",
    )
    parser.add_argument(
        "--matcher",
        default="auto",
        choices=["auto", "semantic", "lexical"],
        help="JETHRO_MATCHER (auto, what ships)",
    )
    parser.add_argument(
        "--outage",
        type=float,
        default=0.0,
        help="share of reports about one outage the sample base does not know, which escalate "
        "and join a storm (0: every report is answered)",
    )
    parser.add_argument(
        "--precision",
        default="int8",
        choices=["int8", "float32"],
        help="JETHRO_ENCODER_PRECISION (int8, what ships)",
    )
    parser.add_argument("--ramp", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--ramp-targets", nargs="+", choices=list(TARGETS), default=["bare", "sqlite"]
    )
    parser.add_argument("--ramp-from", type=int, default=20)
    parser.add_argument("--ramp-max", type=int, default=3000)
    parser.add_argument("--ramp-seconds", type=float, default=5)
    parser.add_argument(
        "--warmup", type=int, default=30, help="events sent (at 20/s) and not counted first"
    )
    parser.add_argument("--drain", type=float, default=15, help="seconds to wait for answers")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("JETHRO_TEST_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL server; each target gets a schema of its own there, dropped after",
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="run Jethro from this checkout instead of the installed one (before/after runs)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the logs and databases")
    parser.add_argument("--write", type=Path, help="regenerate this file's load section")
    args = parser.parse_args(argv)
    CACHE.mkdir(exist_ok=True)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else result["table"])
    if args.write:
        command = " ".join(["bench/load.py", *(argv if argv is not None else sys.argv[1:])])
        write_section(args.write, result["table"], command)


if __name__ == "__main__":
    main()
