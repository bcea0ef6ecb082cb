"""Live reload of a knowledge-base folder of real files: what the bot answers from after admins
add, edit, break, fix and delete articles, and what a request already in flight keeps."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.index import LexicalMatcher, Matcher
from knowledge.live import KnowledgeSnapshot, KnowledgeWatcher, LiveKnowledge
from knowledge.loader import KnowledgeBase

BROKEN = "---\ntitle: [never closed\nexamples:\n  - vpn\n---\nDo this.\n"


def article(title: str, *examples: str, body: str = "Do this.") -> str:
    lines = "".join(f"  - {example}\n" for example in examples)
    return f"---\ntitle: {title}\nexamples:\n{lines}---\n{body}\n"


class Builds:
    """A matcher builder that counts its builds and can be told to fail."""

    def __init__(self) -> None:
        self.count = 0
        self.fail = False

    def __call__(self, kb: KnowledgeBase) -> Matcher:
        if self.fail:
            raise MemoryError("no room for the index")
        self.count += 1
        return LexicalMatcher(kb.articles)


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    (root / "network").mkdir(parents=True)
    (root / "network" / "vpn.md").write_text(
        article("VPN keeps disconnecting", "vpn drops every few minutes")
    )
    (root / "printer.md").write_text(article("Printer jam", "the printer is jammed"))
    return root


@pytest.fixture
def builds() -> Builds:
    return Builds()


@pytest.fixture
def live(kb_dir: Path, builds: Builds) -> LiveKnowledge:
    return LiveKnowledge(kb_dir, builds)


def best(snapshot: KnowledgeSnapshot, report: str) -> str | None:
    ranked = snapshot.matcher.rank(report, limit=1)
    return ranked[0].article.id if ranked else None


def ids(snapshot: KnowledgeSnapshot) -> list[str]:
    return [a.id for a in snapshot.kb.articles]


def test_the_folder_is_loaded_at_start(live: LiveKnowledge) -> None:
    assert ids(live.current) == ["network/vpn", "printer"]
    assert best(live.current, "my vpn drops all the time") == "network/vpn"
    assert live.current.problems == ()


def test_an_added_article_answers_after_a_reload(live: LiveKnowledge, kb_dir: Path) -> None:
    (kb_dir / "network" / "wifi.md").write_text(article("Wi-Fi is slow", "wifi is very slow"))

    report = live.reload()

    assert report.added == ("network/wifi.md",) and report.swapped
    assert best(live.current, "the wifi is so slow today") == "network/wifi"


def test_a_changed_article_answers_with_its_new_text(live: LiveKnowledge, kb_dir: Path) -> None:
    (kb_dir / "printer.md").write_text(
        article("Printer jam", "paper stuck in the printer", body="Open tray 2.")
    )

    report = live.reload()

    assert report.changed == ("printer.md",)
    assert live.current.kb.by_id("printer").body == "Open tray 2."  # type: ignore[union-attr]
    assert best(live.current, "paper is stuck") == "printer"


def test_an_edit_keeping_size_and_mtime_is_still_seen(live: LiveKnowledge, kb_dir: Path) -> None:
    path = kb_dir / "printer.md"
    stat = path.stat()
    path.write_text(article("Printer JAM", "the printer is jammed"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size

    live.reload()

    assert live.current.kb.by_id("printer").title == "Printer JAM"  # type: ignore[union-attr]


def test_a_deleted_article_stops_answering(live: LiveKnowledge, kb_dir: Path) -> None:
    (kb_dir / "printer.md").unlink()

    report = live.reload()

    assert report.removed == ("printer.md",)
    assert ids(live.current) == ["network/vpn"]
    assert best(live.current, "the printer is jammed") != "printer"


def test_a_broken_edit_keeps_the_last_good_version_and_lists_the_problem(
    live: LiveKnowledge, kb_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (kb_dir / "network" / "vpn.md").write_text(BROKEN)

    report = live.reload()

    assert report.kept == ("network/vpn.md",) and not report.swapped
    assert best(live.current, "vpn drops every few minutes") == "network/vpn"
    assert live.current.stale == ("network/vpn.md",)
    [problem] = live.current.problems
    assert str(problem).startswith("network/vpn.md:2: invalid YAML in front matter")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(w.startswith(f"{kb_dir / 'network' / 'vpn.md'}:2: invalid YAML") for w in warnings)


def test_fixing_a_broken_file_clears_its_problem(live: LiveKnowledge, kb_dir: Path) -> None:
    path = kb_dir / "network" / "vpn.md"
    path.write_text(BROKEN)
    live.reload()
    path.write_text(article("VPN keeps disconnecting", "vpn drops", "globalprotect disconnects"))

    report = live.reload()

    assert report.changed == ("network/vpn.md",)
    assert live.current.problems == () and live.current.stale == ()
    assert best(live.current, "globalprotect disconnects") == "network/vpn"


def test_a_new_file_that_is_broken_is_listed_but_not_served(
    live: LiveKnowledge, kb_dir: Path
) -> None:
    (kb_dir / "draft.md").write_text(BROKEN)

    report = live.reload()

    assert not report.swapped
    assert ids(live.current) == ["network/vpn", "printer"]
    assert [(p.path, p.line, p.level) for p in live.current.problems] == [("draft.md", 2, "error")]


def test_a_snapshot_held_by_a_request_stays_usable_after_a_swap(
    live: LiveKnowledge, kb_dir: Path
) -> None:
    held = live.current
    (kb_dir / "printer.md").unlink()
    (kb_dir / "network" / "vpn.md").write_text(article("VPN", "vpn asks for a code"))

    live.reload()

    assert live.current is not held
    assert best(held, "the printer is jammed") == "printer"
    assert held.kb.by_id("network/vpn").title == "VPN keeps disconnecting"  # type: ignore[union-attr]
    assert ids(live.current) == ["network/vpn"]


def test_nothing_is_rebuilt_when_nothing_changed(
    live: LiveKnowledge, kb_dir: Path, builds: Builds
) -> None:
    before = live.current
    (kb_dir / "printer.md").touch()

    report = live.reload()

    assert not report.swapped and live.current is before
    (kb_dir / "draft.md").write_text(BROKEN)
    live.reload()
    assert builds.count == 1, "a problem alone does not rebuild the index"


def test_a_failed_index_build_keeps_the_old_snapshot_and_is_retried(
    live: LiveKnowledge, kb_dir: Path, builds: Builds
) -> None:
    before = live.current
    (kb_dir / "new.md").write_text(article("New", "something new"))
    builds.fail = True

    with pytest.raises(MemoryError):
        live.reload()

    assert live.current is before
    builds.fail = False
    assert live.reload().added == ("new.md",)
    assert "new" in ids(live.current)


def test_a_vanished_folder_keeps_serving_the_last_load(tmp_path: Path, kb_dir: Path) -> None:
    live = LiveKnowledge(kb_dir, Builds())
    kb_dir.rename(tmp_path / "unmounted")

    live.reload()

    assert ids(live.current) == ["network/vpn", "printer"]


def test_a_missing_folder_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="no such knowledge-base folder"):
        LiveKnowledge(tmp_path / "nope", Builds())


def test_the_watcher_picks_up_an_edit_by_itself(live: LiveKnowledge, kb_dir: Path) -> None:
    watcher = KnowledgeWatcher(live, poll_seconds=0.05)
    watcher.start()
    try:
        (kb_dir / "network" / "wifi.md").write_text(article("Wi-Fi is slow", "wifi is slow"))
        assert wait_until(lambda: live.current.kb.by_id("network/wifi") is not None)
    finally:
        watcher.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Check `condition` every 20 ms until it holds or `timeout` seconds pass."""
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return True
        done.wait(0.02)
    return condition()


def test_requests_during_reloads_always_see_a_whole_snapshot(
    live: LiveKnowledge, kb_dir: Path
) -> None:
    """A reader answering while an admin edits over and over never fails or mixes versions."""
    failures: list[str] = []
    stop = threading.Event()

    def answer_reports() -> None:
        while not stop.is_set():
            snapshot = live.current
            found = best(snapshot, "the printer is jammed again")
            if found is None or snapshot.kb.by_id(found) is None:
                failures.append(f"{found} not in {ids(snapshot)}")

    reader = threading.Thread(target=answer_reports)
    reader.start()
    try:
        for n in range(30):
            (kb_dir / "printer.md").write_text(article(f"Printer jam {n}", "printer is jammed"))
            (kb_dir / f"extra{n}.md").write_text(article(f"Extra {n}", f"extra thing {n}"))
            live.reload()
    finally:
        stop.set()
        reader.join()

    assert failures == []
    assert live.current.kb.by_id("printer").title == "Printer jam 29"  # type: ignore[union-attr]
