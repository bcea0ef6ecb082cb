"""Slack events are handled once: a redelivery, a restart or another replica finds the key; and
a request acknowledged but not handled is kept until a replica handles it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from escalation.clock import FixedClock
from escalation.db import session
from escalation.inbox import (
    GIVE_UP_AFTER,
    RECEIPT_LEASE,
    Receipt,
    claim_event,
    claim_receipts,
    forget_events,
    pending_receipts,
    store_receipt,
)
from tests.dbfixtures import run_at_once


def test_an_event_is_claimed_once(engine: Engine, clock: FixedClock) -> None:
    with session(engine) as db:
        first = claim_event(db, "event:T1:Ev1", clock)
    with session(engine) as db:
        again = claim_event(db, "event:T1:Ev1", clock)
        other = claim_event(db, "event:T1:Ev2", clock)

    assert (first, again, other) == (True, False, True)


def test_a_claim_rolled_back_with_its_work_can_be_made_again(
    engine: Engine, clock: FixedClock
) -> None:
    try:
        with session(engine) as db:
            claim_event(db, "event:T1:Ev1", clock)
            raise RuntimeError("the work failed")
    except RuntimeError:
        pass
    with session(engine) as db:
        assert claim_event(db, "event:T1:Ev1", clock)


def test_two_replicas_claiming_at_once_get_it_once(engine: Engine, clock: FixedClock) -> None:
    def claim() -> bool:
        with session(engine) as db:
            return claim_event(db, "event:T1:Ev9", clock)

    results = run_at_once(claim, claim, claim)

    assert sorted(results) == [False, False, True]


def test_old_keys_are_forgotten(engine: Engine, clock: FixedClock) -> None:
    with session(engine) as db:
        claim_event(db, "event:old", clock)
    clock.advance(days=2)
    with session(engine) as db:
        claim_event(db, "event:new", clock)
        assert forget_events(db, clock.now() - timedelta(days=1)) == 1
    with session(engine) as db:
        assert claim_event(db, "event:old", clock) and not claim_event(db, "event:new", clock)


def receive(engine: Engine, key: str, clock: FixedClock, owner: str = "replica-a") -> bool:
    with engine.begin() as connection:
        return store_receipt(
            connection,
            key=key,
            body="{}",
            content_type="application/json",
            owner=owner,
            now=clock.now(),
        )


def replay(engine: Engine, clock: FixedClock, owner: str = "replica-b", **kw: object) -> list[str]:
    with session(engine) as db:
        if engine.dialect.name == "sqlite":
            db.connection().exec_driver_sql("BEGIN IMMEDIATE")
        claimed: list[Receipt] = claim_receipts(
            db,
            owner=owner,
            now=clock.now(),
            limit=10,
            **kw,  # type: ignore[arg-type]
        )
    return [r.key for r in claimed]


def test_a_receipt_is_kept_once_and_dropped_by_the_work_it_caused(
    engine: Engine, clock: FixedClock
) -> None:
    first, copy = receive(engine, "event:T1:Ev1", clock), receive(engine, "event:T1:Ev1", clock)
    with session(engine) as db:
        claim_event(db, "event:T1:Ev1", clock)
        left = [r.key for r in pending_receipts(db)]

    assert (first, copy, left) == (True, False, [])


def test_a_receipt_is_replayed_only_once_its_lease_ran_out_and_then_less_often(
    engine: Engine, clock: FixedClock
) -> None:
    receive(engine, "event:T1:Ev1", clock)
    clock.advance(RECEIPT_LEASE - timedelta(seconds=1))
    early = replay(engine, clock)
    clock.advance(seconds=1)
    due = replay(engine, clock)
    clock.advance(RECEIPT_LEASE)
    again_too_soon = replay(engine, clock)
    clock.advance(RECEIPT_LEASE)
    again = replay(engine, clock)

    assert (early, due, again_too_soon, again) == ([], ["event:T1:Ev1"], [], ["event:T1:Ev1"])


def test_a_new_process_takes_over_what_others_received_before_it_started(
    engine: Engine, clock: FixedClock
) -> None:
    receive(engine, "event:T1:old", clock, owner="killed")
    started = clock.now()
    clock.advance(seconds=1)
    receive(engine, "event:T1:new", clock, owner="killed")

    taken = replay(engine, clock, owner="restarted", taking_over=started)

    assert taken == ["event:T1:old"]


def test_two_replicas_replaying_at_once_share_the_receipts(
    engine: Engine, clock: FixedClock
) -> None:
    for n in range(6):
        receive(engine, f"event:T1:Ev{n}", clock)
    clock.advance(RECEIPT_LEASE)

    first, second = run_at_once(
        lambda: replay(engine, clock, "b"), lambda: replay(engine, clock, "c")
    )

    assert sorted(first + second) == [f"event:T1:Ev{n}" for n in range(6)]


def test_a_receipt_never_handled_is_given_up(engine: Engine, clock: FixedClock) -> None:
    receive(engine, "event:T1:Ev1", clock)
    clock.advance(GIVE_UP_AFTER + timedelta(seconds=1))

    assert replay(engine, clock) == []
    with session(engine) as db:
        assert pending_receipts(db) == []
