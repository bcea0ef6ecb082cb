"""The bot learns from outcomes: Solved and picks (once someone else agrees), Still broken, and
the article an engineer names when resolving; and one person alone cannot teach it."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from escalation.db import session
from escalation.lessons import list_lessons, new_problem_tickets, verdict_pairs
from escalation.models import Ticket
from knowledge.learning import NEW_PROBLEM, LessonKind, LessonSource
from tests.scenarios.world import (
    ENGINEERS,
    Employee,
    Engineers,
    Jethro,
    buttons,
    shown_text,
    wait_until,
)

VPN = "vpn-disconnects"
WRONG = "vpn-cannot-connect"
# The sample base, with the thresholds calibrated on it (suggest at 0.95), suggests both VPN
# articles for the taught reports and hands LATER over: the unknown "kraken" words weaken every
# article. Learned, they are one problem.
TAUGHT = (
    "my vpn keeps disconnecting after the kraken update",
    "since the kraken update my globalprotect vpn keeps disconnecting",
    "the globalprotect vpn keeps disconnecting me after the kraken update",
)
LATER = "the kraken update broke my vpn, it keeps dropping"


def person(jethro: Jethro, number: int) -> Employee:
    return Employee(jethro, f"U0PERSON{number:02d}", f"D0PERSON{number:02d}")


def title(jethro: Jethro, article_id: str) -> str:
    article = jethro.knowledge.current.kb.by_id(article_id)
    assert article is not None
    return article.title


def pick_and_confirm(jethro: Jethro, who: Employee, text: str, article_id: str) -> None:
    """`who` reports `text`, picks `article_id` from the suggestions, then clicks Solved."""
    suggestion = who.dm(text).last_reply()
    offered = [b["value"] for b in buttons(suggestion) if b["action_id"] == "kb_pick"]
    assert article_id in offered, shown_text(suggestion)
    who.click("kb_pick", suggestion, value=article_id)
    jethro.settle()
    shown = jethro.slack.message(suggestion["channel"], suggestion["ts"])
    who.click("kb_solved", shown)
    jethro.settle()


def answered_with(jethro: Jethro, who: Employee, text: str) -> str | None:
    """The article `who` is answered with for `text`, or None (suggestions or a ticket)."""
    reply = who.dm(text).last_reply()
    jethro.settle()
    kinds = [b["action_id"] for b in buttons(reply)]
    if kinds != ["kb_solved", "kb_not_solved"]:
        return None
    shown = reply["blocks"][0]["text"]["text"]
    found = [a.id for a in jethro.knowledge.current.kb.articles if a.title == shown]
    return found[0] if found else None


def test_two_people_confirming_a_pick_teach_the_bot_to_answer_the_next(jethro: Jethro) -> None:
    assert answered_with(jethro, person(jethro, 9), LATER) is None

    for number, text in enumerate(TAUGHT[:2]):
        pick_and_confirm(jethro, person(jethro, number), text, VPN)

    assert answered_with(jethro, person(jethro, 3), LATER) == VPN
    with session(jethro.engine) as db:
        lessons = list_lessons(db)
        assert verdict_pairs(db) == []  # a Solved on a pick is no verdict on the answer threshold
    assert {(x.kind, x.source, x.article_id) for x in lessons if x.teaches} == {
        (LessonKind.EXAMPLE, LessonSource.PICK, VPN),
        (LessonKind.EXAMPLE, LessonSource.VERDICT, VPN),
    }
    # each pick is also a would-be verdict on the suggestion's top candidate, for the refit only
    outcomes = [x for x in lessons if not x.teaches]
    assert [x.source for x in outcomes] == [LessonSource.OUTCOME] * 2
    assert all(x.confidence is not None and x.ticket_id is None for x in outcomes)
    assert {x.teacher for x in lessons} == {"U0PERSON00", "U0PERSON01"}
    assert {x.text for x in lessons} == set(TAUGHT[:2])
    assert all(x.conversation for x in lessons)


def test_one_person_confirming_twenty_wrong_answers_teaches_nobody_else(jethro: Jethro) -> None:
    alone = person(jethro, 1)
    for n in range(20):
        pick_and_confirm(jethro, alone, TAUGHT[n % 3], WRONG)

    with session(jethro.engine) as db:
        # stored, with who taught them, for admins to see: a pick, its would-be verdict and the
        # Solved, twenty times
        assert len(list_lessons(db)) == 60
    # decided as before anyone taught: handed over, and suggested (not answered with WRONG)
    assert answered_with(jethro, person(jethro, 2), LATER) is None
    assert answered_with(jethro, person(jethro, 3), TAUGHT[0]) is None


def test_still_broken_stops_that_answer_for_the_report_and_close_ones(
    jethro: Jethro, engineers: Engineers
) -> None:
    first, second = person(jethro, 1), person(jethro, 2)
    text = "my vpn keeps dropping"
    answer = first.dm(text).last_reply()
    assert answer["blocks"][0]["text"]["text"] == title(jethro, VPN)

    first.click("kb_not_solved", answer)
    engineers.tickets_posted(1)

    assert answered_with(jethro, second, "my vpn keeps dropping") is None
    assert answered_with(jethro, person(jethro, 3), "my vpn keeps dropping again") is None
    # a report closer to the article's own examples than to the counter-example still gets it
    assert answered_with(jethro, person(jethro, 4), "vpn drops every few minutes") == VPN
    with session(jethro.engine) as db:
        [lesson] = list_lessons(db)
        pairs = verdict_pairs(db)
    assert (lesson.kind, lesson.article_id, lesson.text) == (LessonKind.COUNTER, VPN, text)
    assert lesson.ticket_id is not None
    assert len(pairs) == 1 and pairs[0][1] is False and pairs[0][0] >= 0.97


def test_solved_on_an_answer_is_a_right_verdict_with_its_confidence(jethro: Jethro) -> None:
    who = person(jethro, 1)
    answer = who.dm("my vpn keeps dropping").last_reply()
    who.click("kb_solved", answer)
    jethro.settle()

    with session(jethro.engine) as db:
        [(confidence, right)] = verdict_pairs(db)
        [lesson] = list_lessons(db)
    assert right is True and confidence >= 0.97
    assert (lesson.kind, lesson.source) == (LessonKind.EXAMPLE, LessonSource.VERDICT)


def escalate(jethro: Jethro, who: Employee, engineers: Engineers, count: int) -> dict[str, Any]:
    """`who` reports LATER (escalated: no article fits well enough); the ticket message."""
    reply = who.dm(LATER).last_reply()
    if buttons(reply) and buttons(reply)[-1]["action_id"] == "kb_none":
        who.click("kb_none", reply)
    return engineers.tickets_posted(count)[-1]


def test_an_engineer_naming_the_article_teaches_it_at_once(
    jethro: Jethro, engineers: Engineers
) -> None:
    [engineer] = engineers.on_duty("U0ENGINEER")
    ticket = escalate(jethro, person(jethro, 1), engineers, 1)

    engineer.resolve(ticket, "Reinstalled the VPN client after the update.", solved_by=VPN)
    jethro.settle()

    assert answered_with(jethro, person(jethro, 2), "kraken update broke my vpn") == VPN
    with session(jethro.engine) as db:
        [lesson, outcome] = sorted(list_lessons(db), key=lambda x: not x.teaches)
        [stored] = db.exec(select(Ticket)).all()
    assert (lesson.source, lesson.teacher, lesson.ticket_id) == (
        LessonSource.ENGINEER,
        "U0ENGINEER",
        stored.id,
    )
    assert stored.solved_by == VPN
    # and a would-be verdict on the report's top candidate, which the refit reads
    right = LessonKind.EXAMPLE if outcome.article_id == VPN else LessonKind.COUNTER
    assert (outcome.source, outcome.kind, outcome.teacher, outcome.ticket_id) == (
        LessonSource.OUTCOME,
        right,
        "U0ENGINEER",
        stored.id,
    )


def test_the_resolve_picker_offers_the_tickets_articles_first_and_a_new_problem(
    jethro: Jethro, engineers: Engineers
) -> None:
    [engineer] = engineers.on_duty("U0ENGINEER")
    ticket = escalate(jethro, person(jethro, 1), engineers, 1)
    view = engineer.open_resolve(ticket)
    picker = next(b for b in view["blocks"] if b.get("block_id") == "solved_by")
    assert picker["optional"] is True
    assert picker["element"]["type"] == "external_select"
    assert picker["element"]["action_id"] == "ticket_solved_by"

    everything = engineer.types_in_picker(view, "")
    typed = engineer.types_in_picker(view, "print")

    groups = everything["option_groups"]
    assert groups[0]["label"]["text"] == "Suggested for this ticket"
    assert groups[0]["options"][0]["value"] == VPN
    assert groups[-1]["options"] == [
        {"text": {"type": "plain_text", "text": "none: a new problem"}, "value": NEW_PROBLEM}
    ]
    total = sum(len(g["options"]) for g in groups)
    assert total <= 100 and total == len(jethro.knowledge.current.kb.articles) + 1
    assert all(len(o["text"]["text"]) <= 75 for g in groups for o in g["options"])
    found = [o["value"] for g in typed["option_groups"][:-1] for o in g["options"]]
    assert found and all("print" in o for o in found)

    engineer.submit(view, "A new kind of kraken failure; filed upstream.", solved_by=NEW_PROBLEM)
    jethro.settle()

    with session(jethro.engine) as db:
        assert [t.id for t in new_problem_tickets(db)] == [int(view["private_metadata"])]
        # no example; only a would-be verdict that the top candidate was wrong
        lessons = list_lessons(db)
    assert [(x.source, x.kind) for x in lessons] == [(LessonSource.OUTCOME, LessonKind.COUNTER)]


def test_what_one_replica_learns_another_uses(jethro: Jethro, engineers: Engineers) -> None:
    other = Jethro(jethro.slack, jethro.settings.database_url, jethro.kb, clock=jethro.clock)
    try:
        [engineer] = engineers.on_duty("U0ENGINEER")
        ticket = escalate(jethro, person(jethro, 1), engineers, 1)
        engineer.resolve(ticket, "Reinstalled the VPN client.", solved_by=VPN)
        jethro.settle()

        def learned() -> bool:
            matcher = other.knowledge.current.matcher
            return len(getattr(matcher, "lessons", ())) == 2  # the example, the outcome

        wait_until(learned, "the other replica did not pull the lesson")
        reply = person(other, 2).dm("kraken update broke my vpn").last_reply()
        assert reply["blocks"][0]["text"]["text"] == title(other, VPN)
        assert reply["channel"] != ENGINEERS
    finally:
        other.close()
