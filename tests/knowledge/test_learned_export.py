"""Learned examples written into real article files: where they go, what is left out, and that
the base stays lint-clean and an export run twice writes nothing the second time."""

from __future__ import annotations

from pathlib import Path

from knowledge.learning.export import export_examples
from knowledge.lint import lint_kb
from knowledge.loader import load_kb

VPN = """---
title: VPN keeps disconnecting
id: vpn
examples:
  - vpn drops every few minutes
  - cant stay connected to globalprotect from home
keywords: [vpn, globalprotect]
---
Quit the VPN client and start it again.
"""

PRINTER = """---
title: Printer is jammed
id: printer
---
Open tray 2 and pull the sheet out gently.
"""

FLOW = """---
title: Wifi is slow
id: wifi
examples: [wifi is slow, the wifi keeps buffering]
---
Move closer to the access point.
"""
STOLEN = "cant stay connected to globalprotect from home vpn"


def base(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    for name, text in (("vpn.md", VPN), ("printer.md", PRINTER), ("wifi.md", FLOW)):
        (root / name).write_text(text)
    return root


def test_examples_join_their_articles_lists_and_a_second_export_writes_nothing(
    tmp_path: Path,
) -> None:
    root = base(tmp_path)
    learned = [
        ("vpn", "globalprotect: vpn drops since the update"),
        ("printer", "paper stuck in the printer on floor 3"),
        ("vpn", "vpn drops every few minutes"),  # already there
    ]

    done = export_examples(root, learned)

    assert done.written == {
        "vpn.md": ["globalprotect: vpn drops since the update"],
        "printer.md": ["paper stuck in the printer on floor 3"],
    }
    kb = load_kb(root)
    vpn, printer = kb.by_id("vpn"), kb.by_id("printer")
    assert vpn is not None and vpn.examples[-1] == "globalprotect: vpn drops since the update"
    assert printer is not None and printer.examples == ("paper stuck in the printer on floor 3",)
    assert (root / "vpn.md").read_text().endswith(VPN.split("---\n")[-1])  # the body untouched
    assert [p for p in lint_kb(root) if p.level == "error"] == []

    files = {p.name: p.read_text() for p in root.iterdir()}
    again = export_examples(root, learned)
    assert again.written == {} and {p.name: p.read_text() for p in root.iterdir()} == files


def test_what_the_linter_would_flag_or_cannot_be_written_is_left_out_with_the_reason(
    tmp_path: Path,
) -> None:
    root = base(tmp_path)
    before = lint_kb(root)

    done = export_examples(
        root,
        [
            ("printer", "vpn drops every few minutes"),  # another article's example
            ("printer", STOLEN),  # the VPN article matches it better
            ("wifi", "wifi is slow on floor 2"),  # a flow list
            ("gone", "anything"),
        ],
    )

    assert done.written == {}
    why = {(article, text): reason for article, text, reason in done.skipped}
    assert "already an example of 'vpn'" in why[("printer", "vpn drops every few minutes")]
    assert "kb lint" in why[("printer", STOLEN)]
    assert "not a block list" in why[("wifi", "wifi is slow on floor 2")]
    assert "no such article" in why[("gone", "anything")]
    assert lint_kb(root) == before
    assert (root / "printer.md").read_text() == PRINTER
