"""Loading a knowledge-base folder from real files: which files count, ids, and broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.article import Action
from knowledge.loader import (
    assemble_kb,
    find_article_files,
    load_kb,
    parse_file,
    sample_kb_path,
)


def article(title: str, *examples: str, extra: str = "", body: str = "Do this.") -> str:
    lines = "".join(f"  - {example}\n" for example in examples or (title.lower(),))
    return f"---\ntitle: {title}\nexamples:\n{lines}{extra}---\n{body}\n"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def test_every_markdown_file_counts_except_readmes_and_hidden_or_draft_names(
    tmp_path: Path,
) -> None:
    names = [
        "vpn.md",
        "network/wifi.md",
        "network/deep/er/dns.md",
        "README.md",
        "network/Readme.md",
        "_template.md",
        ".hidden.md",
        "_drafts/new.md",
        ".git/notes.md",
        "network/_old/wifi.md",
        "notes.txt",
        "vpn.md.bak",
    ]
    write(tmp_path, {name: article(name) for name in names})

    found = find_article_files(tmp_path)

    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "network/deep/er/dns.md",
        "network/wifi.md",
        "vpn.md",
    ]


def test_the_default_id_is_the_path_without_md_with_forward_slashes(tmp_path: Path) -> None:
    write(tmp_path, {"network/vpn.md": article("VPN"), "printer.md": article("Printer")})

    kb = load_kb(tmp_path)

    assert [(a.id, a.path) for a in kb.articles] == [
        ("network/vpn", "network/vpn.md"),
        ("printer", "printer.md"),
    ]
    assert kb.problems == ()


def test_an_explicit_id_wins_and_articles_are_sorted_by_id(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.md": article("Zoom", extra="id: zoom-audio\n"),
            "b.md": article("Badge", extra="id: badge\n"),
        },
    )

    kb = load_kb(tmp_path)

    assert [a.id for a in kb.articles] == ["badge", "zoom-audio"]
    found = kb.by_id("zoom-audio")
    assert found is not None
    assert found.title == "Zoom"
    assert kb.by_id("a") is None


def test_a_broken_file_does_not_stop_the_good_ones_from_loading(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a-good.md": article("Printer"),
            "b-broken.md": "---\ntitle: [unclosed\n---\nbody\n",
            "c-good.md": article("Phishing", extra="action: escalate\n", body=""),
        },
    )

    kb = load_kb(tmp_path)

    assert [a.id for a in kb.articles] == ["a-good", "c-good"]
    assert kb.by_id("c-good") is not None
    assert kb.by_id("c-good").action is Action.ESCALATE  # type: ignore[union-attr]
    assert [str(p) for p in kb.problems] == [
        "b-broken.md:2: invalid YAML in front matter: while parsing a flow sequence: "
        "expected ',' or ']', but got '<stream end>'"
    ]


def test_invalid_utf8_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    text = "---\ntitle: Café\nexamples: [café]\n---\nRedémarrez\n".encode("latin-1")
    write(tmp_path, {"cafe.md": text, "ok.md": article("Ok")})

    kb = load_kb(tmp_path)

    assert [a.id for a in kb.articles] == ["ok"]
    assert [str(p) for p in kb.problems] == [
        "cafe.md:2: invalid UTF-8 (byte 0xe9 at column 11): save the file as UTF-8"
    ]


def test_duplicate_ids_keep_the_first_file_by_path_and_report_the_others(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "b/vpn.md": article("VPN B", extra="id: vpn\n"),
            "a/vpn.md": article("VPN A", extra="id: vpn\n"),
            "c/vpn.md": article("VPN C", extra="id: vpn\n"),
        },
    )

    kb = load_kb(tmp_path)

    assert [a.title for a in kb.articles] == ["VPN A"]
    assert [str(p) for p in kb.problems] == [
        "b/vpn.md:1: duplicate id 'vpn': already used by a/vpn.md:1; this article is ignored "
        "until one of them changes its 'id:'",
        "c/vpn.md:1: duplicate id 'vpn': already used by a/vpn.md:1; this article is ignored "
        "until one of them changes its 'id:'",
    ]


def test_parse_file_takes_a_path_relative_to_the_root_or_including_it(tmp_path: Path) -> None:
    write(tmp_path, {"network/vpn.md": article("VPN")})

    relative, _ = parse_file(tmp_path, Path("network/vpn.md"))
    joined, _ = parse_file(tmp_path, tmp_path / "network" / "vpn.md")

    assert relative == joined
    assert relative is not None
    assert (relative.id, relative.path) == ("network/vpn", "network/vpn.md")


def test_a_reloader_can_keep_the_last_good_version_of_a_file_that_broke(tmp_path: Path) -> None:
    write(tmp_path, {"vpn.md": article("VPN"), "wifi.md": article("Wifi")})
    good_vpn, _ = parse_file(tmp_path, Path("vpn.md"))
    write(tmp_path, {"vpn.md": "---\ntitle: VPN\nexamples: one\n---\nx\n"})

    broken_vpn, problems = parse_file(tmp_path, Path("vpn.md"))
    kb = assemble_kb(tmp_path, [(good_vpn, problems), parse_file(tmp_path, Path("wifi.md"))])

    assert broken_vpn is None
    assert [a.title for a in kb.articles] == ["VPN", "Wifi"]
    assert [p.line for p in kb.problems] == [3]


def test_a_missing_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="no such knowledge-base folder"):
        load_kb(tmp_path / "nope")


def test_the_sample_knowledge_base_ships_inside_the_package() -> None:
    root = sample_kb_path()

    assert (root / "README.md").is_file()
    assert len(find_article_files(root)) >= 30
