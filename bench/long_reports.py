"""Make long reports out of short labelled ones: each query padded with pasted log lines and
a paragraph of the kind people write around a problem, to measure matching on long reports.

The same seed gives the same file. The label stays the query's own.

    .venv/bin/python bench/long_reports.py /tmp/cal/clinc/queries-test.jsonl \
        /tmp/cal/clinc/long-test.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

OPENERS = (
    "Hi team, sorry to bother you again.",
    "Hello, I hope someone can help me with this today.",
    "Good morning. I have been trying to sort this out myself for a while.",
    "Hey, quick question, though it has been going on since yesterday.",
)
CLOSERS = (
    "I already restarted everything twice and it did not change anything.",
    "Let me know if you need more details, I pasted what I could find.",
    "Thanks a lot in advance, this is blocking me a bit.",
    "My manager asked me to report it here. Thanks!",
)
LOGS = (
    "2024-03-14T09:12:{s:02d}Z INFO  worker[{n}] heartbeat ok queue=default lag_ms={n}",
    "2024-03-14T09:13:{s:02d}Z WARN  client retrying request id={n:x} attempt=2 timeout=30s",
    "[{n}] DEBUG session refreshed token ttl=3600 region=eu-west-1",
    "2024-03-14 09:14:{s:02d},{n} ERROR pool - connection reset by peer (errno=104)",
    'Traceback (most recent call last): File "/usr/lib/app/main.py", line {n}, in run',
    "GET /api/v2/status?id={n} 200 {s}ms",
)


def long_report(text: str, rng: random.Random) -> str:
    logs = [
        rng.choice(LOGS).format(s=rng.randrange(60), n=rng.randrange(100, 99999))
        for _ in range(rng.randint(3, 8))
    ]
    parts = [rng.choice(OPENERS), text, "Here is what I see:", *logs, rng.choice(CLOSERS)]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with args.queries.open(encoding="utf-8") as lines, args.out.open("w", encoding="utf-8") as out:
        for row in map(json.loads, filter(str.strip, lines)):
            row["text"] = long_report(row["text"], rng)
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
