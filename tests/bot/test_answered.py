"""Answered reports stored in groups (`bot.answered`): what a group of them leaves behind.

The desk's own path through it (a report answered, a retried event ignored) is covered by the
scenarios; here the group itself: copies of one event inside a group, a bad row in a group, and
reports a concurrent burst stores together.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.answered import Answered, AnsweredWriter
from escalation.clock import FixedClock
from escalation.conversations import conversation, turn_values
from escalation.db import session
from escalation.inbox import pending_receipts, store_receipt
from escalation.models import Role, ThreadState
from escalation.outbox import message_values, pending
from escalation.threads import by_key, conversation_values
from knowledge.article import Article
from knowledge.decision import Candidate, Decision, Outcome

PRINTER = Article(id="printer-jam", title="Clear a printer jam", body="Open tray 2.")
ANSWER = Decision(
    outcome=Outcome.ANSWER,
    article=PRINTER,
    confidence=0.97,
    candidates=(Candidate(PRINTER, 0.9),),
    reason="matched 'Clear a printer jam'",
)


def answered(n: int, clock: FixedClock, *, event: str | None = None, key: str = "") -> Answered:
    key = key or f"c-{n:04d}"
    reporter = f"U{n:04d}"
    turns = [
        turn_values(
            conversation_key=key, user_id=reporter, role=Role.EMPLOYEE, text="jam", clock=clock
        ),
        turn_values(
            conversation_key=key,
            user_id=reporter,
            role=Role.BOT,
            text=ANSWER.reason,
            decision=ANSWER,
            clock=clock,
        ),
    ]
    row = conversation_values(
        key=key,
        reporter=reporter,
        source="dm",
        channel=reporter,
        thread_ts=None,
        text="the printer jams",
        decision=ANSWER,
        state=ThreadState.ANSWERED,
        clock=clock,
    )
    args = {"channel": reporter, "text": f"answer {n}"}
    message = message_values(method="chat.postMessage", args=args, now=clock.now())
    return Answered(event if event is not None else f"event-{n}", turns, row, message)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def test_a_group_is_stored_whole_with_receipts_dropped(engine: Engine, clock: FixedClock) -> None:
    writer = AnsweredWriter(engine, clock)
    group = [answered(n, clock) for n in range(3)]
    with engine.begin() as connection:
        for n in range(3):
            store_receipt(
                connection,
                key=f"event-{n}",
                body="{}",
                content_type="application/json",
                owner="here",
                now=clock.now(),
            )

    writer.write(group)

    assert [a.stored for a in group] == [True, True, True]
    with session(engine) as db:
        assert pending_receipts(db) == []
        assert sorted(m.args["text"] for m in pending(db)) == ["answer 0", "answer 1", "answer 2"]
        stored = by_key(db, "c-0001")
        assert stored is not None and stored.state is ThreadState.ANSWERED
        assert [t.role for t in conversation(db, "c-0001")] == [Role.EMPLOYEE, Role.BOT]


def test_copies_of_one_event_in_a_group_or_later_are_stored_once(
    engine: Engine, clock: FixedClock
) -> None:
    writer = AnsweredWriter(engine, clock)
    first, copy = answered(1, clock, event="event-x"), answered(2, clock, event="event-x")
    writer.write([first, copy])
    retried = answered(3, clock, event="event-x")
    assert writer.store(retried) is False

    assert (first.stored, copy.stored, retried.stored) == (True, False, False)
    with session(engine) as db:
        assert [m.args["text"] for m in pending(db)] == ["answer 1"]
        assert by_key(db, "c-0002") is None and by_key(db, "c-0003") is None


def test_a_bad_report_fails_alone_and_the_rest_of_its_group_is_stored(
    engine: Engine, clock: FixedClock
) -> None:
    writer = AnsweredWriter(engine, clock)
    writer.write([answered(0, clock, key="c-taken")])
    group = [answered(1, clock), answered(2, clock, key="c-taken"), answered(3, clock)]

    writer.write(group)

    assert [a.stored for a in group] == [True, False, True]
    assert isinstance(group[1].error, sa.exc.IntegrityError)
    with session(engine) as db:
        texts = sorted(m.args["text"] for m in pending(db))
        assert texts == ["answer 0", "answer 1", "answer 3"]
    # Its event was not claimed either: a replay of it can still be answered.
    assert writer.store(answered(4, clock, event="event-2")) is True


def test_a_burst_from_many_threads_stores_every_report_once(
    engine: Engine, clock: FixedClock
) -> None:
    writer = AnsweredWriter(engine, clock)
    results: dict[int, bool] = {}

    def report(n: int) -> None:
        results[n] = writer.store(answered(n % 20, clock, event=f"event-{n % 20}", key=f"c-{n}"))

    threads = [threading.Thread(target=report, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(results.values()) == 20  # each of the 20 events delivered twice, stored once
    with session(engine) as db:
        assert len(pending(db)) == 20
