"""CPU per report through `Desk.take`, in one thread and one process, with cProfile on demand.

    .venv/bin/python bench/desk.py --matcher auto --outage 0.5       # the figure in performance.md
    .venv/bin/python bench/desk.py --matcher lexical --profile 30    # where the time goes

What `jethro run` builds (`bot.runtime.open_slack_services`: SQLite in a temporary folder, the
bundled sample base, the shipped matcher) with the fake Slack Web API in this process; reports go
straight to the desk, without HTTP, acknowledgement or sending (the outbox worker is not
started), so the figure is the desk's own work: matching, rendering, the transaction, storms.
`--outage` is the share of reports about one outage the base does not know (they escalate and,
after the first, join its ticket), as in `bench/load.py --outage`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes, from a checkout

from bench.load_traffic import OUTAGE, REPORTS
from bot.app import desk_for
from bot.config import load_settings
from bot.desk import Report, Source
from bot.runtime import open_slack_services
from tests.fakes.slack_api import FakeSlack


def reports(count: int, outage: float, start: int) -> list[Report]:
    out = []
    for i in range(start, start + count):
        breaks = int((i + 1) * outage) > int(i * outage)
        text = OUTAGE[i % len(OUTAGE)] if breaks else REPORTS[i % len(REPORTS)]
        out.append(Report(f"U{i:07d}", text, Source.DM, f"D{i:07d}", None, f"Ev{i}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matcher", default="auto", choices=["auto", "semantic", "lexical"])
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--outage", type=float, default=0.0)
    parser.add_argument("--profile", type=int, metavar="ROWS", help="print cProfile's top ROWS")
    args = parser.parse_args()
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as folder:
        fake.check_contract = False
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": "bench",
                "SLACK_API_URL": fake.api_url,
                "JETHRO_ESCALATION_CHANNEL": "C0ENGINEERS",
                "DATABASE_URL": f"sqlite:///{folder}/bench.db",
                "JETHRO_MATCHER": args.matcher,
                "JETHRO_CACHE_DIR": str(Path(tempfile.gettempdir()) / "jethro-bench-cache"),
            }
        )
        services = open_slack_services(settings)
        desk = desk_for(services)  # its outbox worker is never started: nothing is sent
        for report in reports(20, args.outage, 0):  # warm-up: lazy imports, the first session
            desk.take(report)
        timed = reports(args.reports, args.outage, 1000)
        profile = cProfile.Profile() if args.profile else None
        start = time.process_time()
        if profile is not None:
            profile.enable()
        for report in timed:
            desk.take(report)
        if profile is not None:
            profile.disable()
        cpu_ms = (time.process_time() - start) * 1000 / len(timed)
        print(f"matcher {args.matcher}, outage {args.outage:.0%}: {cpu_ms:.2f} ms CPU a report")
        if profile is not None:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
