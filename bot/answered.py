"""New reports the knowledge base answers, stored in groups: the hot path of a busy morning.

A report answered or given suggestions writes the same rows every time (its event's key, its two
turns, its conversation, its answer in the outbox) and reads nothing back. Written one transaction
a report, at 200 reports a second on SQLite those transactions held the one write lock 2.9 ms a
report, mostly waiting for the interpreter between their seven statements, and every report
queued for that lock (`bench/load.py`; the figures are in `docs/performance.md`). Reports ready at
the same moment are now written together (`GroupCommit`): one statement a table and one commit
for the group, so the busier the desk the cheaper each report. A group that fails for anything
but the database being away is written again one report at a time, so a bad row fails only its
own report. Escalations, replies and clicks keep their own transaction: they read and lock what
they change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from escalation.clock import Clock
from escalation.conversations import INSERT_TURN
from escalation.db import database_away
from escalation.group_commit import GroupCommit
from escalation.inbox import claim_events, dropped_here
from escalation.outbox import INSERT_MESSAGE
from escalation.threads import INSERT_CONVERSATION


@dataclass(eq=False)
class Answered:
    """The rows of one answered report; `event_key` None for a request Slack never resends."""

    event_key: str | None
    turns: list[dict[str, Any]]
    conversation: dict[str, Any]
    message: dict[str, Any]
    stored: bool = field(default=False, init=False)
    error: BaseException | None = field(default=None, init=False)


class AnsweredWriter:
    """`store` returns once the report's group has committed."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._group = GroupCommit[Answered](self.write)

    def store(self, answered: Answered) -> bool:
        """Store the rows; False (and nothing stored) when the event was handled before, here
        or on another replica. Raises what writing it raised."""
        self._group.submit(answered)
        if answered.error is not None:
            raise answered.error
        if answered.event_key is not None:
            dropped_here(answered.event_key)
        return answered.stored

    def write(self, group: list[Answered]) -> None:
        """Store a group in one transaction (what `store` has `GroupCommit` call); each
        report gets `stored`, or `error` when the group was written again one by one."""
        try:
            self._write_together(group)
        except sa.exc.SQLAlchemyError as exc:
            if len(group) == 1 or database_away(exc):
                raise
            for answered in group:
                try:
                    self._write_together([answered])
                except sa.exc.SQLAlchemyError as own:
                    answered.error = own

    def _write_together(self, group: list[Answered]) -> None:
        keys = [answered.event_key for answered in group if answered.event_key is not None]
        with self.engine.begin() as connection:
            claimed = claim_events(connection, keys, self.clock.now()) if keys else set()
            fresh = [answered for answered in group if _first_claim(answered, claimed)]
            if fresh:
                connection.execute(INSERT_TURN, [turn for a in fresh for turn in a.turns])
                connection.execute(INSERT_CONVERSATION, [a.conversation for a in fresh])
                connection.execute(INSERT_MESSAGE, [a.message for a in fresh])
        for answered in fresh:
            answered.stored = True


def _first_claim(answered: Answered, claimed: set[str]) -> bool:
    """Whether the report's key was claimed now, by it: two copies of one event in the same
    group (a retry on its way while the first is written) share one claim, and the first wins."""
    if answered.event_key is None:
        return True
    if answered.event_key not in claimed:
        return False
    claimed.discard(answered.event_key)
    return True
