from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from escalation.clock import FixedClock
from escalation.conversations import conversation, list_feedback, log_turn, record_feedback
from escalation.db import session
from escalation.models import Role
from escalation.tickets import open_ticket
from knowledge.article import Article
from knowledge.decision import Candidate, Decision, Outcome

PRINTER = Article(id="printer-jam", title="Clear a printer jam", body="Open tray 2.")
TONER = Article(id="toner", title="Replace the toner", body="Order from facilities.")


def test_a_conversation_reads_back_in_order_with_what_the_bot_decided(
    engine: Engine, clock: FixedClock
) -> None:
    suggestion = Decision(
        outcome=Outcome.SUGGEST,
        article=None,
        confidence=0.55,
        candidates=(Candidate(PRINTER, 0.6), Candidate(TONER, 0.5)),
        reason="two close matches",
    )
    with session(engine) as s:
        log_turn(
            s,
            conversation_key="D1:100.1",
            user_id="U_ALICE",
            role=Role.EMPLOYEE,
            text="printer says jam",
            clock=clock,
        )
        log_turn(
            s,
            conversation_key="D2:200.1",
            user_id="U_DAVE",
            role=Role.EMPLOYEE,
            text="someone else",
            clock=clock,
        )
        clock.advance(seconds=1)
        log_turn(
            s,
            conversation_key="D1:100.1",
            user_id="U_ALICE",
            role=Role.BOT,
            text="Is it one of these?",
            clock=clock,
            decision=suggestion,
        )

    with session(engine) as s:
        turns = conversation(s, "D1:100.1")
    assert [(t.role, t.text) for t in turns] == [
        (Role.EMPLOYEE, "printer says jam"),
        (Role.BOT, "Is it one of these?"),
    ]
    assert (turns[0].outcome, turns[0].article_id, turns[0].confidence) == (None, None, None)
    assert (turns[1].outcome, turns[1].article_id, turns[1].confidence) == (
        Outcome.SUGGEST,
        "printer-jam",
        0.55,
    )
    assert turns[1].at - turns[0].at == timedelta(seconds=1)


def test_a_bot_turn_points_at_the_ticket_it_opened(engine: Engine, clock: FixedClock) -> None:
    with session(engine) as s:
        ticket = open_ticket(
            s, reporter="U_ALICE", source="slack_dm", text="vpn down", decision=None, clock=clock
        )
        log_turn(
            s,
            conversation_key="D1:1",
            user_id="U_ALICE",
            role=Role.BOT,
            text="I opened ticket #1",
            clock=clock,
            ticket_id=ticket.id,
        )

    with session(engine) as s:
        assert [t.ticket_id for t in conversation(s, "D1:1")] == [ticket.id]


def test_a_turn_cannot_point_at_a_ticket_that_does_not_exist(
    engine: Engine, clock: FixedClock
) -> None:
    with pytest.raises(sa.exc.IntegrityError), session(engine) as s:
        log_turn(
            s,
            conversation_key="D1:1",
            user_id="U_ALICE",
            role=Role.BOT,
            text="ticket #404",
            clock=clock,
            ticket_id=404,
        )
    with session(engine) as s:
        assert conversation(s, "D1:1") == []


def test_times_from_any_zone_are_stored_as_the_same_instant_in_utc(engine: Engine) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    clock = FixedClock(datetime(2025, 1, 6, 9, 0, tzinfo=india))
    with session(engine) as s:
        log_turn(
            s,
            conversation_key="D1:1",
            user_id="U_ALICE",
            role=Role.EMPLOYEE,
            text="hi",
            clock=clock,
        )

    with session(engine) as s:
        (turn,) = conversation(s, "D1:1")
    assert turn.at == datetime(2025, 1, 6, 3, 30, tzinfo=UTC)
    assert turn.at.tzinfo == UTC


def test_feedback_is_kept_per_article_and_conversation(engine: Engine, clock: FixedClock) -> None:
    with session(engine) as s:
        record_feedback(
            s,
            conversation_key="D1:1",
            user_id="U_ALICE",
            article_id="printer-jam",
            solved=True,
            clock=clock,
        )
        record_feedback(
            s,
            conversation_key="D2:1",
            user_id="U_DAVE",
            article_id="printer-jam",
            solved=False,
            comment="tray 2 was empty",
            clock=clock,
        )
        record_feedback(
            s,
            conversation_key="D2:1",
            user_id="U_DAVE",
            article_id="toner",
            solved=True,
            clock=clock,
        )

    with session(engine) as s:
        jams = list_feedback(s, article_id="printer-jam")
        dave = list_feedback(s, conversation_key="D2:1")
    assert [(f.user_id, f.solved, f.comment) for f in jams] == [
        ("U_ALICE", True, ""),
        ("U_DAVE", False, "tray 2 was empty"),
    ]
    assert [f.article_id for f in dave] == ["printer-jam", "toner"]
