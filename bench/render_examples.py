"""Render every message template with example data, for docs/messages.md.

    .venv/bin/python bench/render_examples.py --write docs/messages.md   # regenerate
    .venv/bin/python bench/render_examples.py --check docs/messages.md   # exit 1 if stale

The same function backs a test, so the documented messages are the ones the bot sends.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.blocks import Block, Message
from bot.mrkdwn import WORD_JOINER, unescape
from bot.render import render_message
from knowledge.article import Article, Severity
from knowledge.decision import Candidate

VPN = Article(
    id="vpn-reset",
    title="VPN keeps disconnecting",
    body=(
        "Most drops come from an expired certificate.\n\n"
        "1. Quit the VPN client.\n"
        "2. Run `vpnctl renew --user <you>` in a terminal.\n"
        "3. Connect again.\n\n"
        "Still dropping? See [the VPN guide](https://it.example.com/vpn) & tell us."
    ),
    team="network",
)
PRINTER = Article(id="printer-jam", title="Printer shows 'paper jam'", body="Open tray 2.")
WIFI = Article(id="wifi-guest", title="Guest Wi-Fi password", body="It changes monthly.")

REPORTER = "U2147483697"
REPORT = "VPN drops every 5 min since 9am & the <wiki> won't load @here"

EXAMPLES: Sequence[tuple[str, str, dict[str, Any]]] = (
    (
        "answer",
        "The reporter's problem matched one article: its resolution, and two buttons.",
        {"article": VPN, "ref": "c-1234"},
    ),
    (
        "suggest",
        "Several articles might fit: one button per article, and a way out.",
        {
            "candidates": [Candidate(VPN, 0.41), Candidate(WIFI, 0.33), Candidate(PRINTER, 0.2)],
            "ref": "c-1235",
        },
    ),
    (
        "closed",
        "Once the reporter chose, the answer or suggestion is updated: its buttons are replaced by "
        "this note, so nobody can press them twice. Shown for *Still broken*; *Solved* and "
        "*None of these* read alike.",
        {"verdict": "not_solved", "reporter": REPORTER, "ticket_number": 42},
    ),
    (
        "escalated",
        "Nothing fitted (or the article says to escalate): the reporter learns who has it.",
        {"ticket_number": 42, "team": "network"},
    ),
    (
        "ticket",
        "Posted in the engineers' channel. The reporter's words are quoted and escaped; people "
        "they named stay mentions, broadcasts do not.",
        {
            "ticket_number": 42,
            "reporter": REPORTER,
            "report": f"{REPORT} (@U0B2C3D4E5 has it too)",
            "severity": Severity.HIGH,
            "team": "network",
            "candidates": [Candidate(VPN, 0.41), Candidate(WIFI, 0.12)],
            "reason": "no article was a confident match",
        },
    ),
    (
        "detail",
        "Posted in the ticket's thread in the engineers' channel when the reporter adds more.",
        {
            "ticket_number": 42,
            "reporter": REPORTER,
            "detail": "It started after the 9am update; the log says error 0x42 <timeout>.",
        },
    ),
    (
        "noted",
        "The reply to more details in a report's thread, before it has a ticket (after, it "
        "names the ticket they were added to).",
        {"ticket_number": None},
    ),
    (
        "thanks",
        'The reply when the reporter says in the thread that the fix worked ("that worked").',
        {},
    ),
    (
        "welcome",
        'The reply to a bare "thanks" or "ok": polite words are never triaged as a problem.',
        {},
    ),
    (
        "on_it",
        "What only the asker sees at once after `/triage` or *Triage this*; the answer follows "
        "in their DM with the bot.",
        {"report": "printer on floor 3 says paper jam but the tray is empty"},
    ),
    (
        "help",
        "The reply to a greeting, to `help`, or to `/triage` with nothing after it.",
        {},
    ),
    (
        "refusal",
        "Shown only to someone who pressed a button they cannot use (here: on another person's "
        "report), or one that was already pressed.",
        {"why": "not_reporter", "reporter": REPORTER, "ticket_number": None},
    ),
    (
        "sorry",
        "When something broke on the bot's side: the operators get the details in the log.",
        {},
    ),
    (
        "home",
        "The App Home tab (a view: blocks only), as an admin sees it: their open tickets, how "
        "to ask, and the knowledge-base files that failed to load.",
        {
            "user": REPORTER,
            "tickets": [
                {
                    "number": 42,
                    "status": "acknowledged",
                    "summary": REPORT,
                    "opened": "06 Jan 2025 09:14 UTC",
                },
                {
                    "number": 40,
                    "status": "open",
                    "summary": "badge reader at the east door beeps red",
                    "opened": "03 Jan 2025 16:02 UTC",
                },
            ],
            "more_tickets": 0,
            "is_admin": True,
            "articles": 41,
            "problems": [
                "network/vpn-split.md:2: invalid YAML in front matter: while parsing a flow "
                "sequence: expected ',' or ']', but got '<stream end>'",
                "hardware/dock.md:1: missing required key 'title'",
            ],
            "more_problems": 0,
        },
    ),
)
VIEWS = frozenset({"home"})
"""Templates published as a view: their `text` is never shown."""

_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")
_BARE = re.compile(r"<([^<>|]+)>")


def readable(message: Message) -> str:
    """Roughly what a person sees in Slack: links and entities shown as text, buttons bracketed."""
    lines: list[str] = []
    for block in message["blocks"]:
        lines.extend(_block_lines(block))
    return "\n".join(lines)


def _block_lines(block: Block) -> list[str]:
    if block["type"] == "header":
        return [f"# {block['text']['text']}", ""]
    if block["type"] == "section":
        texts = [t["text"] for t in [block.get("text"), *block.get("fields", [])] if t]
        if "accessory" in block:
            texts[-1] += f"   [ {block['accessory']['text']['text']} ]"
        return [_shown(t) for t in texts] + [""]
    if block["type"] == "context":
        return ["  " + " | ".join(_shown(e["text"]) for e in block["elements"]), ""]
    if block["type"] == "actions":
        return ["  ".join(f"[ {b['text']['text']} ]" for b in block["elements"]), ""]
    return ["-" * 40, ""]


def _shown(mrkdwn: str) -> str:
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", mrkdwn)
    text = _BARE.sub(lambda m: m.group(1), text)
    return unescape(text).replace(WORD_JOINER, "")


def document() -> str:
    parts = [
        "# Messages people see",
        "",
        "Generated from `bot/templates/` by `.venv/bin/python bench/render_examples.py --write "
        "docs/messages.md`; a test fails when this file is out of date. Operators can override any "
        "template by putting a file of the same name in the folder named by `JETHRO_TEMPLATE_DIR`.",
        "",
        "Every template is JSON with holes; each hole ends in `| tojson`, which only accepts text "
        "that went through an escaping filter (`mrkdwn_escape`, `md_to_mrkdwn`, `plain`, `quote`, "
        "`fmt`, ...). Buttons carry explicit `action_id`s: `kb_solved`, `kb_not_solved`, "
        "`kb_pick` (value: the article id), `kb_none`.",
    ]
    for name, purpose, ctx in EXAMPLES:
        message = render_message(name, **ctx)
        parts += [
            "",
            f"## `{name}`",
            "",
            purpose,
            "",
            f"Context: {', '.join(f'`{key}`' for key in ctx) or 'none'}.",
            "",
            *_looks(name, message),
            "",
            "<details><summary>Block Kit JSON</summary>",
            "",
            "```json",
            json.dumps(message, indent=2, ensure_ascii=False),
            "```",
            "",
            "</details>",
        ]
    return "\n".join(parts) + "\n"


def _looks(name: str, message: Message) -> list[str]:
    if name in VIEWS:
        return ["What it looks like:", "", "```text", readable(message).rstrip(), "```"]
    shown = [_shown(message["text"]), "", readable(message).rstrip()]
    return ["What it looks like (notification text first):", "", "```text", *shown, "```"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, help="write the document to this file")
    group.add_argument("--check", type=Path, help="exit 1 if this file differs")
    args = parser.parse_args(argv)
    text = document()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    elif args.check:
        current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
        if current != text:
            print(f"{args.check}: out of date; run bench/render_examples.py --write {args.check}")
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
