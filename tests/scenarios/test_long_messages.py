"""A very long article or report reaches Slack whole enough to use, and Slack never refuses it.

The `fake_slack` fixture checks every call against Slack's limits (3,000 characters a section,
50 blocks a message) when each test ends; these stories also check what a person gets to read.
"""

from __future__ import annotations

from dataclasses import replace

from tests.scenarios.world import Employee, Engineers, Jethro, buttons, shown_text, wait_until

STEP = "Hold the reset button on the flux router until the light blinks green, then wait. "


def test_a_20k_article_is_cut_with_a_pointer_to_the_rest(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    body = "\n\n".join(f"Step {n}. {STEP * 3}" for n in range(1, 81))
    assert len(body) > 20_000
    before = jethro.knowledge.current
    (jethro.kb / "network" / "flux-router.md").write_text(
        "---\ntitle: Flux router keeps rebooting\nid: flux-router\n"
        "examples:\n  - the flux router keeps rebooting\n  - flux router reboots by itself\n"
        f"keywords: [flux, router, reboot]\n---\n{body}\n"
    )
    wait_until(lambda: jethro.knowledge.current is not before, "the KB was not reloaded")

    answer = employee.dm("the flux router keeps rebooting").last_reply()

    shown = shown_text(answer)
    assert "Step 1. Hold the reset button" in shown and "Step 80." not in shown
    assert "the rest is in the full article" in shown
    assert [b["action_id"] for b in buttons(answer)] == ["kb_solved", "kb_not_solved"]
    employee.click("kb_not_solved", answer)
    engineers.tickets_posted()
    jethro.settle()
    closed = jethro.slack.message(answer["channel"], answer["ts"])
    assert buttons(closed) == [] and "Step 1. Hold the reset button" in shown_text(closed)


def test_a_5k_report_reaches_the_engineers_whole_and_quoted(
    jethro: Jethro, employee: Employee, engineers: Engineers
) -> None:
    words = [f"word{n}" for n in range(1000)]
    report = "the quantum flux capacitor hums " + " ".join(words)
    assert len(report) > 5_000

    employee.dm(report)

    [posted] = engineers.tickets_posted()
    sections = [
        b["text"]["text"] for b in posted["blocks"] if b["type"] == "section" and "text" in b
    ]
    pieces = [text for text in sections if "word" in text]
    assert all(piece.startswith("> ") for piece in pieces)
    assert len(pieces) >= 2, "a 5k report needs more than one 3,000-character section"
    assert " ".join(pieces).replace("> ", "").split()[-1000:] == words
    assert len(posted["text"]) < 300  # the notification is a summary
    assert jethro.tickets()[0].text == report


def test_a_cut_article_links_to_the_rest_when_the_kb_is_on_the_web(
    jethro: Jethro, employee: Employee
) -> None:
    jethro.settings = replace(jethro.settings, kb_url="https://git.example.com/kb/blob/main/")
    jethro.restart()
    body = "\n\n".join(f"Step {n}. {STEP * 3}" for n in range(1, 81))
    (jethro.kb / "network" / "flux-router.md").write_text(
        "---\ntitle: Flux router keeps rebooting\nid: flux-router\n"
        "examples:\n  - the flux router keeps rebooting\n  - flux router reboots by itself\n"
        f"keywords: [flux, router, reboot]\n---\n{body}\n"
    )
    wait_until(lambda: jethro.knowledge.current.kb.by_id("flux-router") is not None, "no reload")

    answer = employee.dm("the flux router keeps rebooting").last_reply()

    shown = shown_text(answer)
    assert (
        "<https://git.example.com/kb/blob/main/network/flux-router.md|read the full article>"
        in (shown)
    )
