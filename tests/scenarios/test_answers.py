"""An employee asks and gets the article's fix wherever they ask: DM, mention, /triage, shortcut."""

from __future__ import annotations

from pathlib import Path

from tests.scenarios.world import Employee, Engineers, Jethro, buttons, shown_text, wait_until


def test_a_dm_about_a_known_problem_gets_the_fix_with_two_buttons(
    jethro: Jethro, employee: Employee
) -> None:
    thread = employee.dm("my vpn keeps dropping")

    answer = thread.last_reply()
    assert answer["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"
    article = (jethro.kb / "network" / "vpn-disconnects.md").read_text()
    first_step = article.split("---\n", 2)[2].strip().splitlines()[0][:30]
    assert first_step.lstrip("1. ")[:20] in shown_text(answer)
    assert [b["action_id"] for b in buttons(answer)] == ["kb_solved", "kb_not_solved"]
    assert [b["text"]["text"] for b in buttons(answer)] == ["Solved", "Still broken"]
    assert answer["thread_ts"] == thread.ts
    assert jethro.tickets() == []


def test_a_mention_is_answered_in_a_thread_under_it(jethro: Jethro, employee: Employee) -> None:
    thread = employee.mention("my vpn keeps dropping", channel="C0HELPDESK")

    answer = thread.last_reply()
    assert (answer["channel"], answer["thread_ts"]) == ("C0HELPDESK", thread.ts)
    assert answer["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"


def test_triage_says_on_it_to_the_asker_and_answers_in_their_dm(
    jethro: Jethro, employee: Employee
) -> None:
    ack = employee.triage("my vpn keeps dropping")

    assert "On it" in ack["text"] and ack.get("response_type", "ephemeral") == "ephemeral"
    answer = employee.new_dm_thread().last_reply()
    assert answer["channel"].startswith("D")
    assert [b["action_id"] for b in buttons(answer)] == ["kb_solved", "kb_not_solved"]


def test_triage_without_words_explains_itself_and_opens_nothing(
    jethro: Jethro, employee: Employee
) -> None:
    ack = employee.triage("")

    assert "/triage" in shown_text(ack) and "Triage this" in shown_text(ack)
    jethro.settle()
    assert jethro.slack.calls("chat.postMessage") == []
    assert jethro.conversations() == []


def test_the_shortcut_triages_someone_elses_message(jethro: Jethro, employee: Employee) -> None:
    employee.shortcut("my vpn keeps dropping", author="U0COLLEAGUE")

    assert "On it" in employee.only_i_see()["text"]
    answer = employee.new_dm_thread().last_reply()
    assert answer["blocks"][0]["text"]["text"] == "VPN keeps disconnecting"
    assert jethro.conversations()[0].reporter == employee.id


def test_a_greeting_gets_help_not_a_ticket(jethro: Jethro, employee: Employee) -> None:
    reply = employee.dm("hi!").last_reply()

    assert "Tell me what's broken" in shown_text(reply)
    assert jethro.tickets() == [] and jethro.conversations() == []


def test_an_edited_article_is_used_by_the_next_dm(jethro: Jethro, employee: Employee) -> None:
    path: Path = jethro.kb / "network" / "vpn-disconnects.md"
    before = jethro.knowledge.current
    text = path.read_text()
    path.write_text(text.rstrip() + "\n\nNew since today: restart the flux router first.\n")
    wait_until(lambda: jethro.knowledge.current is not before, "the KB was not reloaded")

    answer = employee.dm("my vpn keeps dropping").last_reply()

    assert "restart the flux router first" in shown_text(answer)


def test_a_suggestion_offers_articles_and_a_pick_shows_that_one(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    thread = employee.dm("wifi")
    suggestion = thread.last_reply()
    offered = [b["value"] for b in buttons(suggestion) if b["action_id"] == "kb_pick"]
    assert "office-wifi" in offered
    assert [b["action_id"] for b in buttons(suggestion)][-1] == "kb_none"

    employee.click("kb_pick", suggestion, value="office-wifi")
    jethro.settle()

    now = jethro.slack.message(suggestion["channel"], suggestion["ts"])
    picked = jethro.knowledge.current.kb.by_id("office-wifi")
    assert picked is not None and now["blocks"][0]["text"]["text"] == picked.title
    assert [b["action_id"] for b in buttons(now)] == ["kb_solved", "kb_not_solved"]
    assert jethro.tickets() == [] and not engineers.saw_anything()
