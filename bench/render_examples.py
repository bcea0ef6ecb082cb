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
ENGINEER = "U0E1N2G3R4"
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
        "private_note",
        "Asked with a mention in a channel about something a `visibility: private` article covers "
        "(a payslip, a hacked account): the answer, its buttons and the rest of the conversation "
        "go to the reporter's DM, and the channel gets only this.",
        {"reporter": REPORTER},
    ),
    (
        "joined",
        "A storm: someone reports what an open ticket already covers, so their report joins it "
        "instead of paging again; they learn it is known and who has it, and hear its news.",
        {"ticket_number": 42, "team": "network", "owner": ENGINEER, "reported_by": 14},
    ),
    (
        "ticket",
        "Posted in the engineers' channel. The reporter's words are quoted and escaped; people "
        "they named stay mentions, broadcasts do not. Updated in place as the ticket changes "
        "(status, who has it, when it was acknowledged, the resolution, everyone whose report "
        "joined it in a storm; the controls that no longer apply go). Shown as it is 25 minutes "
        "after opening, unacknowledged, with a 30-minute acknowledgement SLA, after 13 more "
        "people reported the same problem.",
        {
            "ticket_number": 42,
            "reporter": REPORTER,
            "report": f"{REPORT} (@U0B2C3D4E5 has it too)",
            "severity": Severity.HIGH,
            "team": "network",
            "candidates": [Candidate(VPN, 0.41, confidence=0.62), Candidate(WIFI, 0.12)],
            "reason": (
                "no article fits well enough (the closest, 'VPN keeps disconnecting', "
                "has confidence 62%; answering needs 97%)"
            ),
            "status": "open",
            "owner": None,
            "acknowledged_by": None,
            "reporters": [REPORTER, "U0B2C3D4E5", "U0C3D4E5F6"],
            "reported_by": 14,
            "sla": {
                "state": "near",
                "what": "acknowledge",
                "elapsed": "25 min",
                "target": "30 min",
            },
        },
    ),
    (
        "ticket_news",
        "Tells the reporter, in their thread, what the engineers did: acknowledged (by whom), "
        "resolved (with the resolution, shown here), or an engineer's reply in the ticket's "
        "thread.",
        {
            "event": "resolved",
            "ticket_number": 42,
            "engineer": ENGINEER,
            "text": "Your VPN certificate had expired; I renewed it. Reconnect once.",
        },
    ),
    (
        "ticket_note",
        "A note in the ticket's thread in the engineers' channel: a reassignment, or (shown) "
        "the draft article *Add to knowledge base* wrote for an admin.",
        {
            "event": "drafted",
            "ticket_number": 42,
            "engineer": ENGINEER,
            "to": "",
            "path": "_drafts/ticket-42-vpn-drops-every-5-min.md",
        },
    ),
    (
        "engineer_refusal",
        "Shown only to someone who pressed a ticket's control without being in the engineers' "
        "channel (shown), or after someone else was quicker.",
        {
            "why": "not_member",
            "members": [ENGINEER, "U0B2C3D4E5"],
            "ticket_number": 42,
            "who": "",
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
        "oncall",
        "`/oncall network`, shown only to the person who typed it: now and next for each layer, "
        "in the team's own time zone. The same template says what `/oncall override` did, or "
        "why it did nothing.",
        {
            "teams": [
                {
                    "name": "network",
                    "timezone": "Europe/Berlin",
                    "layers": [
                        {
                            "layer": "primary",
                            "now": {
                                "user": ENGINEER,
                                "start": "Wed 04 Feb 12:00 CET",
                                "end": "Wed 04 Feb 17:00 CET",
                                "override": True,
                            },
                            "next": {
                                "user": "U0NET002",
                                "start": "Wed 04 Feb 17:00 CET",
                                "end": "Mon 09 Feb 09:00 CET",
                                "override": False,
                            },
                        },
                        {
                            "layer": "secondary",
                            "now": {
                                "user": "U0NET003",
                                "start": "Mon 02 Feb 09:00 CET",
                                "end": "Mon 09 Feb 09:00 CET",
                                "override": False,
                            },
                            "next": None,
                        },
                    ],
                }
            ],
            "problem": None,
            "added": None,
            "usage": "/oncall override @someone 4h [team] [primary|secondary]",
        },
    ),
    (
        "home",
        "The App Home tab (a view: blocks only), as an admin sees it: their open tickets, how "
        "to ask, the knowledge-base files that failed to load, and the figures of "
        "`jethro stats --since 7d`.",
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
            "stats": {
                "window": "7 days",
                "reports": 214,
                "answered": 131,
                "deflected": 97,
                "suggested": 38,
                "escalated": 45,
                "acknowledge": "median 9 min, p90 27 min (41 tickets)",
                "resolve": "median 2 h 10 min, p90 19 h 05 min (37 tickets)",
                "teams": [
                    {
                        "team": "network",
                        "escalated": 20,
                        "unresolved": 3,
                        "acknowledge": "median 7 min, p90 22 min (19 tickets)",
                        "resolve": "median 1 h 40 min, p90 9 h 30 min (17 tickets)",
                    }
                ],
            },
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
        return ["  ".join(f"[ {_label(b)} ]" for b in block["elements"]), ""]
    return ["-" * 40, ""]


def _label(element: Any) -> str:
    """A button's text, or a select's placeholder."""
    text = element.get("text") or element.get("placeholder") or {"text": element["type"]}
    return str(text["text"])


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
        "`kb_pick` (value: the article id), `kb_none`; on tickets `ticket_ack`, `ticket_resolve` "
        "(value: the ticket number; opens the `ticket_resolve_modal` modal) and the "
        "`ticket_reassign` user select.",
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
