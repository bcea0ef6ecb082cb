"""Escaping and KB markdown conversion: what people and KB authors write can never ping or link."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.mrkdwn import WORD_JOINER, escape, markdown_to_mrkdwn, unescape

OUR_LINK = re.compile(r"<(?:https?|mailto):[^<>|\s]*(?:\|[^<>]*)?>", re.IGNORECASE)
LIVE_BROADCAST = re.compile(r"(?<!\w)@(?:channel|here|everyone)\b", re.IGNORECASE)
BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")

# Text that leans on everything Slack and markdown treat specially.
PIECES = [
    *"<>&@!|*_~`[]()#-+.:/\\\n ^",
    *["here", "channel", "everyone", "<!", "<@U12>", "subteam^", "&amp;", "&#60;", "&lt;"],
    *["](", "https://a.example/", "mailto:x@y.z", "javascript:", "```", "\n\n", "> ", "- "],
]
HOSTILE = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("<!channel> now", "&lt;!channel&gt; now"),
        ("<!here|here> <!everyone>", "&lt;!here|here&gt; &lt;!everyone&gt;"),
        ("<!subteam^S123|@oncall>", "&lt;!subteam^S123|@oncall&gt;"),
        ("ping @here and @Channel", f"ping @{WORD_JOINER}here and @{WORD_JOINER}Channel"),
        ("mail me at ops@everyone.example", "mail me at ops@everyone.example"),
        ("<@U123> said", "&lt;@U123&gt; said"),
        ("<https://evil.example|your bank>", "&lt;https://evil.example|your bank&gt;"),
        ("R&D > ops & it", "R&amp;D &gt; ops &amp; it"),
        ("*bold* stays mrkdwn", "*bold* stays mrkdwn"),
    ],
)
def test_escape_shows_text_literally(written: str, shown: str) -> None:
    assert escape(written) == shown


def test_unescape_undoes_slacks_escaping_of_incoming_text() -> None:
    assert unescape("a &lt;b&gt; &amp;amp; c") == "a <b> &amp; c"


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("# Reset the VPN", "*Reset the VPN*"),
        ("**bold** *em* _em_ ~~gone~~", "*bold* _em_ _em_ ~gone~"),
        (
            "[the portal](https://it.example/reset?a=1&b=2)",
            "<https://it.example/reset?a=1&amp;b=2|the portal>",
        ),
        ("[write us](mailto:it@example.com)", "<mailto:it@example.com|write us>"),
        ("<https://it.example>", "<https://it.example>"),
        ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
        ("[app](slack://open)", "app"),
        ("- one\n- two\n  - nested", "• one\n• two\n    • nested"),
        ("3. three\n4. four", "3. three\n4. four"),
        ("use `rm -rf <dir>` carefully", "use `rm -rf &lt;dir&gt;` carefully"),
        ("```sh\nx < 1 && y\n```", "```\nx &lt; 1 &amp;&amp; y\n```"),
        ("> it broke\n> again", "> it broke again"),
        ("| a | bb |\n|---|---|\n| 1 | 2 |", "```\na | bb\n--+---\n1 | 2\n```"),
        ("one\ntwo  \nthree", "one two\nthree"),
        ("<b>html</b> stays text", "&lt;b&gt;html&lt;/b&gt; stays text"),
        ("---", "────────────"),
        ("tell @here", f"tell @{WORD_JOINER}here"),
        ("@&#104;ere split by an entity", f"@{WORD_JOINER}here split by an entity"),
    ],
)
def test_markdown_becomes_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert markdown_to_mrkdwn(markdown) == mrkdwn


def test_a_code_fence_inside_code_cannot_end_the_block() -> None:
    converted = markdown_to_mrkdwn("````\n```\nstill code\n````")

    assert converted.count("```") == 2


@given(st.text() | HOSTILE)
def test_escaped_text_is_inert_and_round_trips(text: str) -> None:
    escaped = escape(text)

    assert "<" not in escaped and ">" not in escaped
    assert not BARE_AMPERSAND.search(escaped)
    assert not LIVE_BROADCAST.search(escaped)
    assert unescape(escaped).replace(WORD_JOINER, "") == text.replace(WORD_JOINER, "")


@given(st.text() | HOSTILE)
def test_converted_markdown_only_has_links_we_built(markdown: str) -> None:
    converted = markdown_to_mrkdwn(markdown)

    outside_links = OUR_LINK.sub("", converted)
    assert "<" not in outside_links
    assert "<!" not in converted
    assert not BARE_AMPERSAND.search(converted)
    assert not LIVE_BROADCAST.search(converted)


WORDS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789',?", min_size=1, max_size=12),
    min_size=1,
    max_size=20,
)


@given(WORDS)
def test_plain_prose_comes_through_unchanged(words: list[str]) -> None:
    text = " ".join(words)

    assert markdown_to_mrkdwn(text) == text
