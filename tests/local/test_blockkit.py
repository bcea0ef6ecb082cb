"""Block Kit and mrkdwn drawn as Slack's client draws them, and never as markup anyone typed."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from bot.local.page.blockkit import BlockKit, Place, view_state
from bot.local.page.mrkdwn_html import mrkdwn_html

NAMES = {"U0LOCAL003": "Chen Wu", "C0LOCALENGS": "engineers"}
PLACE = Place("U0LOCAL001", "/?as=U0LOCAL001", channel="D1", ts="1.000001")


def names(some_id: str) -> str:
    return NAMES.get(some_id, some_id)


def html(text: str) -> str:
    return str(mrkdwn_html(text, names))


class Tags(HTMLParser):
    """Every start tag with its attributes, to check what the page would really contain."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(source)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.found if name == tag]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("*bold*", "<b>bold</b>"),
        ("_italics_", "<i>italics</i>"),
        ("~strike~", "<s>strike</s>"),
        ("run `gp-diagnostics` now", "run <code>gp-diagnostics</code> now"),
        ("```a < b\n*not bold*```", '<pre class="code-block">a &lt; b\n*not bold*</pre>'),
        ("<https://it.example.com|IT portal>", ">IT portal</a>"),
        ("<@U0LOCAL003> has it", '<span class="mention">@Chen Wu</span> has it'),
        ("in <#C0LOCALENGS>", '<span class="mention">#engineers</span>'),
        ("&lt;b&gt; &amp; co", "&lt;b&gt; &amp; co"),
        ("2*3*4 and snake_case_name", "2*3*4 and snake_case_name"),
        (":rotating_light: paged", "🚨 paged"),
    ],
)
def test_mrkdwn_is_drawn_like_slacks_client(text: str, shown: str) -> None:
    assert shown in html(text)


def test_lists_and_quotes_are_lists_and_quotes() -> None:
    shown = html("Try this:\n1. *Quit* it\n2. Start it\n• one\n• two\n&gt; quoted")

    assert "<ol><li><b>Quit</b> it</li><li>Start it</li></ol>" in shown
    assert "<ul><li>one</li><li>two</li></ul>" in shown
    assert "<blockquote>quoted</blockquote>" in shown


@pytest.mark.parametrize(
    "text",
    [
        "<javascript:alert(1)|click me>",
        '<https://x.example/" onmouseover="alert(1)|x>',
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "*<img src=x onerror=alert(1)>*",
    ],
)
def test_no_text_becomes_a_script_a_handler_or_a_strange_link(text: str) -> None:
    tags = Tags(html(text))

    assert not tags.named("script") and not tags.named("img")
    assert all(not key.startswith("on") for _, attrs in tags.found for key in attrs)
    assert all(
        str(a.get("href")).startswith(("http://", "https://", "mailto:")) for a in tags.named("a")
    )


def test_a_section_shows_its_text_fields_and_accessory_button() -> None:
    block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Ticket #1*"},
        "fields": [
            {"type": "mrkdwn", "text": "*Team*\nnetwork"},
            {"type": "plain_text", "text": "<b>plain</b>"},
        ],
        "accessory": {
            "type": "button",
            "action_id": "ticket_ack",
            "value": "1",
            "style": "danger",
            "text": {"type": "plain_text", "text": "Acknowledge"},
        },
    }

    shown = str(BlockKit(names, []).blocks([block], PLACE))

    assert "<b>Ticket #1</b>" in shown and "<b>Team</b><br>network" in shown
    assert "&lt;b&gt;plain&lt;/b&gt;" in shown
    [button] = Tags(shown).named("button")
    assert button["class"] == "btn btn-danger" and button["data-action-id"] == "ticket_ack"
    hidden = {a["name"]: a["value"] for a in Tags(shown).named("input")}
    assert hidden["value"] == "1" and hidden["channel"] == "D1" and hidden["ts"] == "1.000001"


def test_actions_context_header_and_divider() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "VPN keeps disconnecting"}},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "_from the KB_"}]},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "kb_solved",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Solved"},
                },
                {
                    "type": "static_select",
                    "action_id": "pick",
                    "placeholder": {"type": "plain_text", "text": "Pick one"},
                    "options": [{"text": {"type": "plain_text", "text": "VPN"}, "value": "vpn"}],
                },
                {"type": "users_select", "action_id": "ticket_reassign"},
            ],
        },
    ]

    shown = str(BlockKit(names, [("U0LOCAL003", "Chen Wu")]).blocks(blocks, PLACE))

    assert "<h3>VPN keeps disconnecting</h3>" in shown and "<hr>" in shown
    assert "<i>from the KB</i>" in shown
    assert Tags(shown).named("button")[0]["class"] == "btn btn-primary"
    options = [a["value"] for a in Tags(shown).named("option")]
    assert options == ["", "vpn", "", "U0LOCAL003"]


def test_a_modals_inputs_become_its_state_on_submit() -> None:
    view = {
        "type": "modal",
        "blocks": [
            {
                "type": "input",
                "block_id": "resolution",
                "label": {"type": "plain_text", "text": "What fixed it?"},
                "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
            },
            {
                "type": "input",
                "block_id": "teach",
                "optional": True,
                "label": {"type": "plain_text", "text": "Teach the bot"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "draft",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Add to KB"}, "value": "draft"}
                    ],
                },
            },
        ],
    }
    place = Place("U0LOCAL003", "/", view_id="V1", modal=True, errors={"resolution": "Say it."})

    shown = str(BlockKit(names, []).blocks(view["blocks"], place))
    state = view_state(view, {"in.resolution.text": ["Reset it"], "in.teach.draft": ["draft"]})

    assert Tags(shown).named("textarea")[0]["name"] == "in.resolution.text"
    assert "(optional)" in shown and 'role="alert">Say it.' in shown
    assert state["resolution"]["text"] == {"type": "plain_text_input", "value": "Reset it"}
    assert state["teach"]["draft"]["selected_options"][0]["value"] == "draft"


def test_an_external_select_searches_and_sends_back_the_option_the_bot_served() -> None:
    picker = {
        "type": "input",
        "block_id": "solved_by",
        "label": {"type": "plain_text", "text": "Which article?"},
        "element": {
            "type": "external_select",
            "action_id": "ticket_solved_by",
            "placeholder": {"type": "plain_text", "text": "Type to search"},
        },
    }
    served = {"vpn": {"text": {"type": "plain_text", "text": "VPN <b>drops</b>"}, "value": "vpn"}}
    place = Place("U0LOCAL003", "/", view_id="V1", modal=True)
    kit = BlockKit(names, [])

    shown = str(kit.blocks([picker], place))
    options = str(kit.suggestions([("Articles", list(served.values()))], "Type to search"))
    chosen = view_state(
        {"blocks": [picker]},
        {"in.solved_by.ticket_solved_by": ["vpn"]},
        lambda block, action: served,
    )
    forged = view_state(
        {"blocks": [picker]},
        {"in.solved_by.ticket_solved_by": ["other"]},
        lambda block, action: served,
    )

    [box] = Tags(shown).named("span")
    assert "view_id=V1" in str(box["data-suggest"]) and "action_id=ticket_solved_by" in str(
        box["data-suggest"]
    )
    assert '<optgroup label="Articles">' in options and "<b>" not in options
    assert "VPN &lt;b&gt;drops&lt;/b&gt;" in options
    assert chosen["solved_by"]["ticket_solved_by"] == {
        "type": "external_select",
        "selected_option": served["vpn"],
    }
    assert forged["solved_by"]["ticket_solved_by"]["selected_option"] is None
