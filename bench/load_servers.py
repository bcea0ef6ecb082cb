"""The two stand-ins `bench/load.py` runs in processes of their own, so they do not share the
measured app's or the load generator's interpreter lock:

    python bench/load_servers.py fake-slack      # the fake Slack Web API; see `serve_fake_slack`
    python bench/load_servers.py bare --port 0   # the bare Bolt app that only echoes

The bare app is what Bolt does with nothing of Jethro's: it verifies the signature, acknowledges,
and posts the text back with `chat.postMessage`. It is served by the SAME stack as `jethro run
--http` (`bot.server.HttpServer` around `bot.server.Routes`: waitress, the same threads, the same
listener pool size), so the ratio of the two sustainable rates is what Jethro's own work costs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt import App

from bot.app import LISTENER_THREADS
from bot.server import EVENTS_PATH, Health, HttpServer, Routes
from bot.web_client import KeepAliveWebClient
from tests.fakes.slack_api import Call, FakeSlack, _State

LISTENING = "Jethro is serving Slack on "
"""The line `jethro run` prints when it listens; the bare app prints the same."""


def bare_app(token: str, api_url: str, signing_secret: str) -> App:
    """Bolt with one listener: a DM's text goes back to its channel, straight from the listener."""
    client = KeepAliveWebClient(token=token, base_url=api_url, timeout=20)  # as Jethro's
    app = App(
        name="bare-echo",
        client=client,
        signing_secret=signing_secret,
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, "bare-listener"),
        ignoring_self_events_enabled=True,
    )

    @app.event("message")
    def echo(event: dict[str, Any]) -> None:
        client.chat_postMessage(channel=event["channel"], text=event.get("text") or "?")

    return app


def serve_bare(port: int) -> None:
    """Serve the bare app until killed; Slack settings come from the environment as for Jethro."""
    app = bare_app(
        os.environ["SLACK_BOT_TOKEN"],
        os.environ["SLACK_API_URL"],
        os.environ["SLACK_SIGNING_SECRET"],
    )
    routes = Routes(app, lambda: Health(ok=True, articles=0, database=True))
    server = HttpServer(routes, host="127.0.0.1", port=port)
    print(f"{LISTENING}http://127.0.0.1:{server.port}{EVENTS_PATH}", flush=True)
    server.serve_forever()


def serve_fake_slack() -> None:
    """The fake Web API, driven over stdin/stdout: its URL is the first line out; each `take` line
    in is answered with one JSON line listing the calls since the last `take`, as
    `[method, channel, at, ok]` (`at`: `time.time()` when the call arrived)."""
    with FakeSlack() as fake:
        print(fake.api_url, flush=True)
        for line in sys.stdin:
            if line.strip() != "take":
                continue
            calls = take_calls(fake)
            rows = [[c.method, str(c.args.get("channel", "")), c.at, c.ok] for c in calls]
            print(json.dumps(rows), flush=True)


def take_calls(fake: FakeSlack) -> list[Call]:
    """Every call so far, forgetting them (and the messages posted to reporters' DMs) in the same
    instant, so a long run neither loses a call that arrives meanwhile nor keeps every message in
    memory. Messages elsewhere (the engineers' channel) are kept: a storm's ticket message is
    updated in place long after it was posted."""
    with fake._changed:
        state = fake._state
        messages = fake.store.messages
        fake.store.messages = {key: m for key, m in messages.items() if not key[0].startswith("D")}
        fake._state = _State()
    return state.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["fake-slack", "bare"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.what == "fake-slack":
        serve_fake_slack()
    else:
        serve_bare(args.port)


if __name__ == "__main__":
    main()
