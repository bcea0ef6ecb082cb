"""Slack's message text back to the words the person typed, before anything is stored."""

from __future__ import annotations

from bot.incoming import words


def test_markup_becomes_readable_words_and_entities_are_decoded() -> None:
    slack_text = (
        "<@W0BOT> vpn &amp; mail down &lt;again&gt; <!here> <@U123|ann> <#C1|it-help> "
        "<!subteam^S1|@oncall> <https://wiki.example/vpn|the wiki> <https://x.example> "
        "<mailto:a@b.example|a@b.example>"
    )

    assert words(slack_text, bot_user="W0BOT") == (
        "vpn & mail down <again> @here @ann #it-help @oncall the wiki (https://wiki.example/vpn) "
        "https://x.example a@b.example"
    )


def test_only_the_bots_own_mention_is_dropped_and_lines_are_kept() -> None:
    assert words("<@W0BOT>  printer\n<@U9> says   jam", bot_user="W0BOT") == "printer\n@U9 says jam"


def test_a_bare_mention_of_the_bot_leaves_nothing() -> None:
    assert words("<@W0BOT>", bot_user="W0BOT") == ""
