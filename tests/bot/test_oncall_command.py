"""The words of `/oncall override`: who, for how long, and which team and layer."""

from __future__ import annotations

import pytest

from bot.oncall import OncallCommandError, OverrideRequest, parse_override


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U0SAM001|sam> 4h", OverrideRequest("U0SAM001", "4h", "it", "primary")),
        ("<@U0SAM001> 30m network", OverrideRequest("U0SAM001", "30m", "network", "primary")),
        ("<@U0SAM001> 2d Secondary sre", OverrideRequest("U0SAM001", "2d", "sre", "secondary")),
        ("U0SAM001 1h sre primary", OverrideRequest("U0SAM001", "1h", "sre", "primary")),
    ],
)
def test_an_override_is_read_in_any_order_with_defaults(
    text: str, expected: OverrideRequest
) -> None:
    assert parse_override(text.split(), default_team="it") == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "who and for how long"),
        ("<@U0SAM001|sam>", "who and for how long"),
        ("@sam 4h", "@mention"),
        ("<@U0SAM001> 4h network sre", "One team"),
        ("<@U0SAM001> 4h primary secondary", "One team and one layer"),
    ],
)
def test_a_malformed_override_says_how_to_write_it(text: str, says: str) -> None:
    with pytest.raises(OncallCommandError, match=says):
        parse_override(text.split(), default_team="it")
