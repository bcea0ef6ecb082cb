"""Templates: hostile KB and user text renders inert, every message fits, operators can override."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.blocks import Message, api_args
from bot.render import Renderer, RenderError, render_blocks, render_message
from knowledge.article import Article, Severity
from knowledge.decision import Candidate
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_spec import assert_calls_valid, call_problems

ROOT = Path(__file__).parents[2]
HOSTILE = '<!channel> @here <!subteam^S1|@oncall> "}] {{ 7*7 }} {% raw %} <https://evil|bank> &amp;'
HOSTILE_ARTICLE = Article(
    id='vpn"}]',
    title=HOSTILE,
    body=f"# {HOSTILE}\n\n[{HOSTILE}](javascript:alert(1))\n\n" + "word " * 2000,
)
OTHER = Article(id="printer", title="Printer jam", body="Open tray 2.")
LIVE_MARKUP = re.compile(r"<(?!https?://|mailto:|@U)")


def every_context(article: Article) -> dict[str, dict[str, Any]]:
    candidates = [Candidate(article, 0.8, confidence=0.3), Candidate(OTHER, 0.3)]
    return {
        "answer": {"article": article, "ref": HOSTILE},
        "suggest": {"candidates": candidates, "ref": "r1"},
        "escalated": {"ticket_number": 7, "team": HOSTILE},
        "ticket": {
            "ticket_number": 7,
            "reporter": "U0ABC123",
            "report": HOSTILE + "\nsecond line",
            "severity": Severity.HIGH,
            "team": HOSTILE,
            "candidates": candidates,
            "reason": HOSTILE,
        },
        "detail": {"ticket_number": 7, "reporter": HOSTILE, "detail": HOSTILE},
        "on_it": {"report": HOSTILE},
        "closed": {"verdict": "solved", "reporter": HOSTILE, "ticket_number": None},
        "refusal": {"why": "not_reporter", "reporter": HOSTILE, "ticket_number": None},
        "ticket_news": {"event": "reply", "ticket_number": 7, "engineer": HOSTILE, "text": HOSTILE},
        "ticket_note": {
            "event": "drafted",
            "ticket_number": 7,
            "engineer": HOSTILE,
            "to": HOSTILE,
            "path": HOSTILE,
        },
        "engineer_refusal": {
            "why": "not_member",
            "members": [HOSTILE, "U0ABC123"],
            "ticket_number": 7,
            "who": HOSTILE,
        },
        "home": {
            "user": "U0ABC123",
            "tickets": [{"number": 7, "status": "open", "summary": HOSTILE, "opened": HOSTILE}],
            "more_tickets": 3,
            "is_admin": True,
            "articles": 2,
            "problems": [HOSTILE],
            "more_problems": 0,
        },
    }


def mrkdwn_texts(message: Message) -> list[str]:
    found = [message["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message["blocks"])
    return found


@pytest.mark.parametrize(
    "name",
    [
        "answer",
        "suggest",
        "escalated",
        "ticket",
        "detail",
        "on_it",
        "closed",
        "refusal",
        "ticket_news",
        "ticket_note",
    ],
)
def test_hostile_text_renders_inert_and_within_limits(name: str) -> None:
    message = render_message(name, **every_context(HOSTILE_ARTICLE)[name])

    assert call_problems("chat.postMessage", {"channel": "C1", **message}) == []
    for text in mrkdwn_texts(message):
        assert not LIVE_MARKUP.search(text), text
        assert "|bank>" not in text  # Slack's link syntax from the text stays literal
    assert "{{ 7*7 }}" in json.dumps(message, ensure_ascii=False)
    assert "49" not in json.dumps(message)


def test_hostile_text_on_the_app_home_renders_inert_and_within_limits() -> None:
    view = {"type": "home", "blocks": render_blocks("home", **every_context(OTHER)["home"])}

    assert call_problems("views.publish", {"user_id": "U0ABC123", "view": view}) == []
    for text in mrkdwn_texts({"text": "", "blocks": view["blocks"]}):  # type: ignore[typeddict-item]
        assert not LIVE_MARKUP.search(text), text


def test_plain_text_shows_the_title_exactly_and_cannot_ping() -> None:
    header = render_blocks("answer", article=HOSTILE_ARTICLE, ref="r")[0]

    assert header["type"] == "header"
    shown = header["text"]["text"]
    assert shown.startswith('<!channel> @\u2060here <!subteam^S1|@oncall> "}] {{ 7*7 }}')


def test_the_answer_carries_the_reference_and_cuts_a_long_article() -> None:
    message = render_message(
        "answer", article=HOSTILE_ARTICLE, ref="conv-9", full_url="https://kb.example/vpn"
    )

    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("kb_solved", "conv-9"),
        ("kb_not_solved", "conv-9"),
    ]
    body = "\n".join(t for t in mrkdwn_texts(message)[1:])
    assert "<https://kb.example/vpn|read the full article>" in body
    assert len(body) < 6500


def test_suggestions_offer_each_article_once_and_a_way_out() -> None:
    many = [Candidate(Article(id=f"a{n}", title=f"Article {n}", body="b"), 0.5) for n in range(6)]

    blocks = render_blocks("suggest", candidates=many, ref="conv-3", limit=4)

    picks = [b["accessory"] for b in blocks if b["type"] == "section" and "accessory" in b]
    assert [(p["action_id"], p["value"]) for p in picks] == [("kb_pick", f"a{n}") for n in range(4)]
    last = blocks[-1]
    assert last["type"] == "actions"
    assert [(e["action_id"], e["value"]) for e in last["elements"]] == [("kb_none", "conv-3")]


def test_the_engineers_see_who_reported_what() -> None:
    message = render_message("ticket", **every_context(OTHER)["ticket"])

    texts = mrkdwn_texts(message)
    assert "<@U0ABC123> reported:" in texts
    assert any(t.startswith("> &lt;!channel&gt;") and "\n> second line" in t for t in texts)
    assert "Printer jam · confidence 30%" in texts  # the best article, with the reason's number
    assert "Ticket #7 · high" in json.dumps(message, ensure_ascii=False)


def test_a_bad_user_id_is_not_turned_into_a_mention() -> None:
    context = every_context(OTHER)["ticket"] | {"reporter": "!channel"}

    texts = mrkdwn_texts(render_message("ticket", **context))

    assert "@!channel reported:" in texts


def test_rendered_messages_are_accepted_by_the_fake_slack() -> None:
    with FakeSlack() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        messages = {n: c for n, c in every_context(HOSTILE_ARTICLE).items() if n != "home"}
        for name, context in messages.items():
            client.chat_postMessage(channel="C1", **api_args(render_message(name, **context)))

    assert_calls_valid(fake.calls())
    assert len(fake.posted("C1")) == len(messages)


def test_an_override_folder_wins_and_the_rest_fall_back(tmp_path: Path) -> None:
    (tmp_path / "escalated.j2").write_text(
        '[{"type": "section", "text": {"type": "mrkdwn", '
        '"text": {{ "Ticket %s: hang tight" | fmt(ticket_number) | tojson }}}}]\n'
    )
    renderer = Renderer(tmp_path)

    escalated = renderer.message("escalated", ticket_number=5, team="it")
    answer = renderer.blocks("answer", article=OTHER, ref="r")

    assert escalated["blocks"][0]["text"]["text"] == "Ticket 5: hang tight"  # type: ignore[typeddict-item]
    assert escalated["text"] == "Ticket 5: hang tight"  # derived from the blocks
    assert answer[0]["text"]["text"] == "Printer jam"  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ('[{"type": "section",\n "text": {{ article.title }}}]', r"answer\.j2:2: .*\| tojson"),
        (
            '[{"text": {{ article.title | tojson }}}]',
            r"answer\.j2:1: .*unescaped text.*mrkdwn_escape",
        ),
        (
            '[\n{"text": {{ nothing | mrkdwn_escape | tojson }}}]',
            r"answer\.j2:2: 'nothing' is undefined",
        ),
        ('[{"type": "section",}]', r"answer\.j2: output is not JSON"),
        ('[{"type": {{ "x" | plain | tojson }} {% if %}]', r"answer\.j2:1: "),
        ('{"blocks": [{"text": "no type"}]}', r"answer\.j2: block 1 has no type"),
        (
            '[{"type": "section", "text": {"type": "mrkdwn", "text": "<!here>"}}]',
            "unescaped markup",
        ),
    ],
)
def test_a_broken_override_names_the_file_and_line(
    tmp_path: Path, template: str, error: str
) -> None:
    (tmp_path / "answer.j2").write_text(template)

    with pytest.raises(RenderError, match=error) as raised:
        Renderer(tmp_path).message("answer", article=OTHER, ref="r")
    assert str(raised.value).startswith(str(tmp_path / "answer.j2"))


def test_a_missing_override_folder_or_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"JETHRO_TEMPLATE_DIR=.*is not a folder"):
        Renderer(tmp_path / "nope")
    with pytest.raises(RenderError, match=r"nope\.j2: no such template"):
        Renderer(tmp_path).message("nope")


def render_examples() -> Any:
    spec = importlib.util.spec_from_file_location(
        "render_examples", ROOT / "bench" / "render_examples.py"
    )
    assert spec is not None and spec.loader is not None
    examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(examples)
    return examples


def test_the_messages_document_is_current() -> None:
    current = (ROOT / "docs" / "messages.md").read_text(encoding="utf-8")

    assert current == render_examples().document(), (
        "run: .venv/bin/python bench/render_examples.py --write docs/messages.md"
    )


def test_the_messages_document_shows_every_template() -> None:
    shown = [name for name, _, _ in render_examples().EXAMPLES]
    templates = {path.stem for path in (ROOT / "bot" / "templates").glob("*.j2")}

    assert sorted(shown) == sorted(templates)
