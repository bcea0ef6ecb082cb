"""`jethro kb replay`: a stream of labelled reports through the bot's real decision and real
learning, on scratch copies, with simulated people; measured per window of reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bot.replay.people import People
from bot.replay.scores import Judged, report_json, report_text
from bot.replay.world import scratch_world
from knowledge.evaluate import Query

__all__ = ["Judged", "replay", "report_json", "report_text"]


def replay(
    kb_dir: Path,
    queries: Sequence[Query],
    *,
    environ: Mapping[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Judged]:
    """Replay `queries` in order on a scratch copy of `kb_dir`; `progress` hears each count."""
    with scratch_world(kb_dir, environ) as world:
        people = People(world)
        judged = []
        for number, query in enumerate(queries, start=1):
            judged.append(people.report(number, query))
            if progress is not None:
                progress(number)
        return judged
