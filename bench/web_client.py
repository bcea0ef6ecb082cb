"""CPU per Web API call, slack_sdk's own client against the kept-alive one, on the fake Slack.

    .venv/bin/python bench/web_client.py      # the figures in docs/performance.md

Client and fake server run in this process, so the CPU time (`time.process_time`) is both
sides of each call: what a call costs the machine, as in the load benchmark where they share it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from slack_sdk import WebClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes, from a checkout

from bot.web_client import KeepAliveWebClient
from tests.fakes.slack_api import FakeSlack


def per_call(client: WebClient, calls: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per `chat.postMessage`, after one warm-up call."""
    client.chat_postMessage(channel="C1", text="warm-up")
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(calls):
        client.chat_postMessage(channel="C1", text=f"message {i}")
    return (
        (time.process_time() - cpu) * 1000 / calls,
        (time.perf_counter() - wall) * 1000 / calls,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    print("| client | CPU per call | wall per call | connections opened |")
    print("|---|---:|---:|---:|")
    for name, kind in (
        ("slack_sdk WebClient", WebClient),
        ("KeepAliveWebClient", KeepAliveWebClient),
    ):
        with FakeSlack() as fake:
            fake.check_contract = False
            client = kind(token="xoxb-bench", base_url=fake.api_url)
            cpu, wall = per_call(client, args.calls)
            if isinstance(client, KeepAliveWebClient):
                client.close()
            print(f"| {name} | {cpu:.2f} ms | {wall:.2f} ms | {fake.connections_opened:,} |")


if __name__ == "__main__":
    main()
