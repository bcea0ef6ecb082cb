"""`safe_text`: whatever arrives, what leaves can be stored, matched and shown as it was sent."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text_safety import MAX_CHARS, matchable, safe_text

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
"""Every code point, lone surrogates included, as a JSON body can carry them."""


def test_what_cannot_be_stored_or_shown_as_sent_becomes_a_visible_escape() -> None:
    assert safe_text("vpn broken \ud800 help") == "vpn broken \\ud800 help"
    assert safe_text("a\x00b\x1bc\x7f") == "a\\u0000b\\u001bc\\u007f"
    assert safe_text("invoice\u202efdp.exe") == "invoice\\u202efdp.exe"
    assert safe_text("x\ufffey") == "x\\ufffey"


def test_invisible_characters_go_but_joiners_that_build_emoji_and_words_stay() -> None:
    assert safe_text("v\u200bpn \ufeffdown @\u2060here") == "vpn down @here"
    assert safe_text("👩\u200d💻 on call") == "👩\u200d💻 on call"
    assert safe_text("vp\u200dn") == "vpn"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # needs its ZWNJ
    assert safe_text(persian) == persian
    scotland = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert safe_text(scotland) == scotland
    assert safe_text("ok\U000e0041\U000e0042") == "ok"  # hidden tag text


def test_pairs_are_joined_lines_unified_and_text_normalised() -> None:
    assert safe_text("\ud83d\ude00") == "😀"
    assert safe_text("a\r\nb\rc\u2028d") == "a\nb\nc\nd"
    assert safe_text("cafe\u0301") == "café"


def test_a_huge_text_is_cut_to_what_slack_would_have_delivered() -> None:
    cut = safe_text("word " * 20_000)
    assert len(cut) == MAX_CHARS and cut.endswith("…")


def test_the_matcher_reads_the_words_without_the_escapes() -> None:
    assert matchable(safe_text("vpn\x00down\ud800")).split() == ["vpn", "down"]


@settings(max_examples=150, deadline=None)
@given(ANY_TEXT)
def test_anything_comes_out_storable_visible_and_stable(text: str) -> None:
    safe = safe_text(text)
    safe.encode("utf-8")  # no surrogates: every driver can send it
    assert "\x00" not in safe  # PostgreSQL refuses NUL in text
    for char in safe:
        category = unicodedata.category(char)
        assert category != "Cc" or char in "\n\t", repr(char)
        assert category != "Cs"
        assert not 0x202A <= ord(char) <= 0x202E and not 0x2066 <= ord(char) <= 0x2069
    assert unicodedata.is_normalized("NFC", safe)
    assert safe_text(safe) == safe
    assert len(safe) <= MAX_CHARS
