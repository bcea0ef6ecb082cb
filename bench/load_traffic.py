"""Open-loop Slack traffic for `bench/load.py`: signed `message.im` events sent on a fixed
schedule whatever the server does, and what came back when.

Open loop means event i leaves at `start + i / rate` even if earlier ones are still waiting for
their acknowledgement (a closed loop would slow down with the server and hide its queueing). Each
event is a new DM from a new user in a new channel, so its answer is the first `chat.postMessage`
to that channel, and a second one is a duplicate. Requests are built and signed before the clock
starts (Slack's signature, `tests/fakes/signing.py`); sending is plain HTTP/1.1 on asyncio with
keep-alive connections, opening another one whenever all are busy. Events are dealt round robin
over the targets, as a load balancer would. All times are `time.time()`, the clock the fake Slack
server stamps its calls with in its own process.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.local.signing import signed_headers
from tests.fakes.slack_events import message_im

ACK_TIMEOUT_S = 3.0
"""Slack gives up on an acknowledgement after 3 seconds (and retries the event)."""
REPORTS = (
    "my vpn keeps dropping every few minutes",
    "I forgot my password and cannot log in",
    "the printer on floor 3 is jammed again",
    "outlook wont sync my email since this morning",
    "my laptop will not turn on",
    "I need access to the finance shared drive",
    "zoom audio is not working in meetings",
    "my account is locked after too many attempts",
)
"""Reports the bundled sample knowledge base answers: the common case, one reply each."""
OUTAGE = (
    "the internal wiki shows error 502",
    "wiki is down, 502 bad gateway",
    "cannot open the wiki, it says 502 bad gateway",
    "the company wiki returns 502 errors since 9am",
)
"""One problem the sample base does not know, said four ways: `--outage` mixes these in, so
reports escalate and join a storm (one ticket, updated in place) as on the morning it breaks."""

_numbers = itertools.count(1)


@dataclass
class Shot:
    """One event: where it went, when it was due and sent, and its acknowledgement."""

    channel: str
    target: int
    request: bytes
    scheduled: float = 0.0
    sent: float = 0.0
    acked: float = 0.0
    status: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error


def build_shots(
    count: int, targets: Sequence[str], secret: str, tag: str, outage: float = 0.0
) -> list[Shot]:
    """`count` signed requests, dealt round robin over `targets` (event URLs); a share `outage`
    of them, spread evenly, report the `OUTAGE`."""
    shots = []
    for i in range(count):
        number = next(_numbers)
        channel, user = f"D{tag}{number:07d}", f"U{tag}{number:07d}"
        breaks = int((i + 1) * outage) > int(i * outage)
        text = OUTAGE[i % len(OUTAGE)] if breaks else REPORTS[i % len(REPORTS)]
        payload = message_im(text, user=user, channel=channel)
        target = i % len(targets)
        shots.append(Shot(channel, target, _request(targets[target], payload.body, secret)))
    return shots


def _request(url: str, body: bytes, secret: str) -> bytes:
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        **signed_headers(secret, body),
    }
    head = f"POST {parts.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


def send(shots: Sequence[Shot], targets: Sequence[str], rate: float) -> None:
    """Send every shot at its time (`rate` a second from now); returns when all are answered."""
    asyncio.run(_send_all(shots, targets, rate))


async def _send_all(shots: Sequence[Shot], targets: Sequence[str], rate: float) -> None:
    pools = [_Pool(url) for url in targets]
    start = time.time() + 0.05
    tasks = []
    for i, shot in enumerate(shots):
        shot.scheduled = start + i / rate
        delay = shot.scheduled - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(pools[shot.target].fire(shot)))
    await asyncio.gather(*tasks)
    for pool in pools:
        pool.close()


class _Pool:
    """Idle keep-alive connections to one server; a busy moment opens more, never waits."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def fire(self, shot: Shot) -> None:
        shot.sent = time.time()
        connection: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            shot.status, reusable = await asyncio.wait_for(
                self._exchange(shot, connection), ACK_TIMEOUT_S
            )
            shot.acked = time.time()
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            shot.error = type(exc).__name__
            reusable = False
        for reader_writer in connection:
            if reusable:
                self.idle.append(reader_writer)
            else:
                reader_writer[1].close()

    async def _exchange(
        self, shot: Shot, connection: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    ) -> tuple[int, bool]:
        """Connect (or reuse), send, read the response: all of it within Slack's 3 seconds."""
        connection.append(self.idle.pop() if self.idle else await self._open())
        reader, writer = connection[0]
        writer.write(shot.request)
        return await _response(reader)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of one HTTP/1.1 response, read whole; and whether the connection stays open."""
    status = int((await reader.readuntil(b"\r\n")).split()[1])
    length, keep = 0, True
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value == "close":
            keep = False
        elif name == "transfer-encoding":
            raise ValueError(f"unexpected Transfer-Encoding: {value}")
    if length:
        await reader.readexactly(length)
    return status, keep
