"""Slack events are handled once: a redelivery, a restart or another replica finds the key."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from escalation.clock import FixedClock
from escalation.db import session
from escalation.inbox import claim_event, forget_events
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
