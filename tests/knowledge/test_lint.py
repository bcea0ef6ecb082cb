"""`lint_kb` on real folders: every rule as the admin sees it, and the bundled sample is clean."""

from __future__ import annotations

from pathlib import Path

from knowledge.article import Action
from knowledge.lint import lint_kb
from knowledge.loader import load_kb, sample_kb_path

TEAMS = {"it", "network", "security", "sre", "facilities", "finance"}


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def lint(root: Path) -> list[str]:
    return [str(problem) for problem in lint_kb(root)]


def test_a_base_with_one_of_each_mistake_reports_them_all_in_path_and_line_order(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "network/vpn.md": (
                "---\n"
                "title: VPN keeps disconnecting\n"
                "id: vpn\n"
                "examples:\n"
                "  - vpn drops every few minutes\n"
                "  - globalprotect keeps disconnecting\n"
                "tittle: typo\n"
                "---\n"
                "1. Quit the VPN client.\n"
            ),
            "network/vpn-copy.md": (
                "---\ntitle: VPN again\nid: vpn\nexamples: [vpn is down]\n---\nRestart it.\n"
            ),
            "network/wifi.md": (
                "---\ntitle: Wifi\nexamples:\n  - wifi is down\n  - VPN  is DOWN\n---\nReconnect.\n"
            ),
            "accounts/locked.md": "---\nexamples: [locked out]\naction: escalte\n---\nx\n",
            "accounts/reset.md": "---\ntitle: Reset\nexamples: [forgot pw]\nseverity: hgh\n---\n",
            "accounts/mfa.md": '---\ntitle: MFA\nexamples: "lost phone"\nid: lost phone\n---\nx\n',
            "apps/outlook.md": "---\ntitle: Outlook: not syncing\nexamples: [outlook]\n---\nx\n",
            "apps/slack.md": "# Slack notifications\n\nCheck your settings.\n",
            "apps/zoom.md": b"---\ntitle: Zoom\nexamples: [no sound]\n---\nRed\xe9marrez\n",
            "apps/empty.md": "---\ntitle: Empty\nexamples: [nothing here]\n---\n\n",
        },
    )

    assert lint(tmp_path) == [
        "accounts/locked.md:1: missing required key 'title'",
        "accounts/locked.md:3: unknown action 'escalte': expected one of answer, escalate "
        "(did you mean 'escalate'?)",
        "accounts/mfa.md:3: 'examples' must be a list, not a single text: write one '- item' "
        "per line, or [a, b]",
        "accounts/mfa.md:4: id 'lost phone' contains spaces: use '-' instead, like 'lost-phone'",
        "accounts/reset.md:4: unknown severity 'hgh': expected one of low, normal, high, "
        "critical (did you mean 'high'?)",
        "accounts/reset.md:5: empty body: an 'answer' article needs a resolution below the "
        "front matter (or set 'action: escalate')",
        "apps/empty.md:4: empty body: an 'answer' article needs a resolution below the front "
        "matter (or set 'action: escalate')",
        "apps/outlook.md:2: invalid YAML in front matter: mapping values are not allowed here",
        "apps/slack.md:1: missing front matter: start the file with a '---' line, then "
        "'title: ...', then another '---' line before the resolution",
        "apps/zoom.md:5: invalid UTF-8 (byte 0xe9 at column 4): save the file as UTF-8",
        "network/vpn.md:1: duplicate id 'vpn': already used by network/vpn-copy.md:1; this "
        "article is ignored until one of them changes its 'id:'",
        "network/vpn.md:7: warning: unknown key 'tittle' (did you mean 'title'?)",
        "network/wifi.md:5: example 'VPN is DOWN' is also in network/vpn-copy.md:4 ('vpn'): "
        "keep it in one article",
    ]


def test_the_same_example_in_two_articles_names_the_other_article_and_line(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "vpn.md": "---\ntitle: VPN\nexamples:\n  - cant connect\n  - vpn is down\n---\nx\n",
            "wifi.md": "---\ntitle: Wifi\nexamples:\n  - wifi down\n  - Cant   CONNECT\n---\nx\n",
        },
    )

    assert lint(tmp_path) == [
        "wifi.md:5: example 'Cant CONNECT' is also in vpn.md:4 ('vpn'): keep it in one article",
    ]


def test_warnings_are_marked_and_leave_the_article_loaded(tmp_path: Path) -> None:
    write(tmp_path, {"vpn.md": "---\ntitle: VPN\nowner: network\n---\nRestart it.\n"})

    problems = lint_kb(tmp_path)

    assert [(p.level, str(p)) for p in problems] == [
        (
            "warning",
            "vpn.md:1: warning: no examples: add a few ways people describe this problem, "
            "to match on",
        ),
        ("warning", "vpn.md:3: warning: unknown key 'owner' (did you mean 'team'?)"),
    ]
    assert [a.id for a in load_kb(tmp_path).articles] == ["vpn"]


def test_a_clean_base_has_no_problems(tmp_path: Path) -> None:
    write(tmp_path, {"vpn.md": "---\ntitle: VPN\nexamples: [vpn down]\n---\nRestart it.\n"})

    assert lint(tmp_path) == []


def test_the_bundled_sample_lints_clean() -> None:
    assert lint(sample_kb_path()) == []


def test_the_bundled_sample_covers_everyday_problems_and_escalates_the_dangerous_ones() -> None:
    kb = load_kb(sample_kb_path())
    escalated = {a.id for a in kb.articles if a.action is Action.ESCALATE}

    assert len(kb.articles) >= 30
    assert {"phishing", "lost-stolen-device", "production-outage"} <= escalated
    assert len(escalated) >= 5
    assert all(4 <= len(a.examples) <= 8 and a.keywords and a.tags for a in kb.articles)
    assert {a.team for a in kb.articles} <= TEAMS
    assert len({a.path.split("/")[0] for a in kb.articles}) >= 5


BADGE = """---
title: Badge not working
examples:
  - my badge doesnt open the door
  - {example}
  - badge stopped working at the entrance
---
Reception gives you a day badge.
"""

NEIGHBOURS = {
    "card.md": (
        "---\ntitle: Corporate card lost or declined\nid: corporate-card\n"
        "examples: [my card was declined, lost my corporate card]\nkeywords: [card]\n---\n"
        "Call the bank.\n"
    ),
    "vpn.md": "---\ntitle: VPN keeps disconnecting\nexamples: [vpn drops]\n---\nRestart it.\n",
    "printer.md": "---\ntitle: Printer is jammed\nexamples: [paper stuck]\n---\nOpen tray 2.\n",
}


def test_an_example_another_article_matches_better_warns_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, {"badge.md": BADGE.format(example="lost my access card"), **NEIGHBOURS})

    assert lint(tmp_path) == [
        'badge.md:5: warning: example "lost my access card" matches \'Corporate card lost or '
        "declined' (corporate-card) better than this article",
    ]


def test_rewording_the_stolen_example_clears_the_warning(tmp_path: Path) -> None:
    write(tmp_path, {"badge.md": BADGE.format(example="lost my badge"), **NEIGHBOURS})

    assert lint(tmp_path) == []
