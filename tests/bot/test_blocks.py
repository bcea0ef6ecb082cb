"""Block Kit builders: whatever goes in, what comes out is a message Slack accepts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks import (
    Block,
    actions,
    as_text,
    button,
    context,
    divider,
    fit_message,
    header,
    section,
    shorten,
    split_mrkdwn,
)
from bot.mrkdwn import WORD_JOINER
from tests.fakes.slack_spec import call_problems


def sendable(blocks: list[Block], text: str = "fallback") -> list[str]:
    """What the fake Slack's contract check would refuse about this message."""
    return call_problems("chat.postMessage", {"channel": "C1", **fit_message(blocks, text)})


def test_long_text_splits_at_paragraphs_into_sections_slack_accepts() -> None:
    paragraphs = [f"Step {n}: " + "restart the thing " * 20 + "done" for n in range(40)]
    text = "\n\n".join(paragraphs)

    blocks = section(text)

    assert len(blocks) > 1
    pieces = [b["text"]["text"] for b in blocks if "text" in b]
    assert all(len(p) <= 3000 for p in pieces)
    assert all(p.startswith("Step ") for p in pieces)  # cut between paragraphs, not inside
    assert "\n\n".join(pieces) == text
    assert sendable(list(blocks)) == []


def test_a_split_never_breaks_a_link_or_a_code_block() -> None:
    link = "<https://it.example/very/long/path|the reset portal>"
    code = "```\n" + "\n".join(f"line {n} &lt;ok&gt;" for n in range(400)) + "\n```"

    for piece in split_mrkdwn(f"{'word ' * 580}{link} and more\n\n{code}"):
        assert piece.count("<") == piece.count(">")
        assert piece.count("```") % 2 == 0
        assert piece.count("&") == piece.count(";")


def test_a_long_quoted_line_stays_quoted_in_every_piece() -> None:
    report = "> " + "the printer on floor three eats every page " * 200 + "\n> last line"

    pieces = split_mrkdwn(report)

    assert len(pieces) > 1 and all(p.startswith("> ") for p in pieces)
    assert all(len(p) <= 3000 for p in pieces)
    assert " ".join(pieces).replace("> ", "").split() == report.replace("> ", "").split()


def test_a_very_long_article_is_cut_with_a_pointer_to_the_rest() -> None:
    article = "\n\n".join(f"Paragraph {n}. " + "More detail here. " * 30 for n in range(60))

    short = shorten(article, 6000, full_url="https://kb.example/vpn")
    hinted = shorten(article, 6000)

    assert len(short) <= 6000 and short.endswith("<https://kb.example/vpn|read the full article>")
    assert len(hinted) <= 6000 and "full article in the knowledge base" in hinted
    assert shorten("short", 6000) == "short"


def test_buttons_headers_and_context_stay_inside_their_limits() -> None:
    long_button = button("x" * 200, "kb_pick", "vpn-reset")
    long_header = header("Title " * 60)

    assert len(long_button["text"]["text"]) == 75 and long_button["text"]["text"].endswith("…")
    assert len(long_header["text"]["text"]) == 150
    assert header("ping @here")["text"]["text"] == f"ping @{WORD_JOINER}here"
    assert button("Solved", "kb_solved", "r1", style="primary")["style"] == "primary"
    blocks: list[Block] = [long_header, actions(long_button), context("a", "b"), divider()]
    assert sendable(blocks) == []


def test_builders_refuse_what_slack_would_reject_as_a_whole() -> None:
    with pytest.raises(ValueError, match="action_id"):
        button("Go", "a" * 256, "v")
    with pytest.raises(ValueError, match="value"):
        button("Go", "go", "v" * 2001)
    with pytest.raises(ValueError, match="1-25"):
        actions(*[button(str(n), f"b{n}", "v") for n in range(26)])
    with pytest.raises(ValueError, match="1-10"):
        context(*["c"] * 11)


def test_fit_message_keeps_buttons_and_says_what_was_left_out() -> None:
    blocks: list[Block] = [header("Answer"), *section("\n\n".join(["para " * 500] * 80))]
    blocks.append(actions(button("Solved", "kb_solved", "r1")))

    message = fit_message(blocks, "")

    assert len(message["blocks"]) == 50
    assert message["blocks"][-1]["type"] == "actions"
    notes = [b for b in message["blocks"] if b["type"] == "context"]
    assert len(notes) == 1 and "left out" in as_text(notes)
    assert message["text"].startswith("*Answer*")
    assert sendable(message["blocks"]) == []


def test_fit_message_repairs_blocks_built_elsewhere() -> None:
    raw: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "H" * 300}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "long " * 2000}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "  "}},
        {"type": "actions", "elements": [button(str(n), f"b{n}", "v") for n in range(30)]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 12},
    ]

    assert sendable(raw) == []


def test_the_fallback_text_never_lets_plain_text_ping() -> None:
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "<!channel> & co"}}
    ]

    assert fit_message(blocks, "")["text"] == "*&lt;!channel&gt; &amp; co*"
    assert fit_message([], "  ")["text"] == "(no text)"


def prose(text: str) -> list[Block]:
    return [*section(text)] or [divider()]


@given(
    st.lists(
        st.one_of(
            st.text(min_size=1, max_size=9000).map(prose),
            st.text(max_size=400).map(lambda t: [header(t or "h")]),
            st.integers(1, 40).map(
                lambda n: [actions(*[button("b", f"a{i}", "v") for i in range(min(n, 25))])]
            ),
        ),
        max_size=70,
    ),
    st.text(max_size=50000),
)
def test_any_mix_of_blocks_fits_in_one_message(groups: list[list[Block]], text: str) -> None:
    blocks = [block for group in groups for block in group]

    assert sendable(blocks, text) == []
