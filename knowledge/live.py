"""The knowledge base as the running bot sees it: reloaded from its folder while requests go on.

`LiveKnowledge.current` is an immutable `KnowledgeSnapshot` (articles, matcher, problems). A
reload builds a whole new snapshot and then swaps one reference, so a reader never sees half an
index, and a request that took a snapshot keeps using it to the end. Only files whose size,
mtime or content changed are parsed again; a file whose new version has errors keeps its last
good version serving, and the errors are listed (`path:line: message`) and logged. Nothing here
talks to Slack or decides what an answer says.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from knowledge.article import Article
from knowledge.index import Matcher
from knowledge.loader import KnowledgeBase, assemble_kb, find_article_files, parse_file
from knowledge.polling import Poller
from knowledge.yaml_problems import Problem

log = logging.getLogger(__name__)

RACY_NS = 2_000_000_000
"""A file modified this close to when it was last read is hashed again even if its size and
mtime look unchanged: coarse filesystem clocks (FAT, some network filesystems) round mtimes,
so an edit right after a read can keep both."""


@dataclass(frozen=True)
class KnowledgeSnapshot:
    """One consistent view of the KB. `stale` lists files whose newest version has errors, so
    their last good version is what serves; `problems` says what is wrong with them."""

    kb: KnowledgeBase
    matcher: Matcher
    loaded_at: datetime
    problems: tuple[Problem, ...]
    stale: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReloadReport:
    """What one reload found, by path relative to the KB folder."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    """Changed files whose new version failed to parse: their last good version still serves."""
    problems: tuple[Problem, ...] = ()
    """Every problem in the KB after this reload, not only new ones."""

    @property
    def swapped(self) -> bool:
        """Whether the articles employees are answered from changed."""
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True)
class _File:
    """What was last read from one file, and the version of it that serves."""

    size: int
    mtime_ns: int
    read_ns: int
    digest: bytes
    problems: tuple[Problem, ...]
    serving: Article | None
    stale: bool = False


@dataclass
class _Scan:
    files: dict[str, _File] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


class LiveKnowledge:
    """The KB folder at `root`, loaded now and again on each `reload()`."""

    def __init__(
        self,
        root: Path,
        build_matcher: Callable[[KnowledgeBase], Matcher],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not root.is_dir():
            raise NotADirectoryError(f"{root}: no such knowledge-base folder")
        self.root = root
        self.build_matcher = build_matcher
        self._now = now
        self._reloading = threading.Lock()
        scan = self._scan({})
        self._files = scan.files
        self._current = self._snapshot(scan.files, None)
        self._log_problems(None, self._current)

    @property
    def current(self) -> KnowledgeSnapshot:
        """Take it once per request and use only it, so one request sees one version."""
        return self._current

    def reload(self) -> ReloadReport:
        """Read what changed on disk and swap in a new snapshot if anything did.

        If building the matcher raises, the old snapshot keeps serving and the next reload tries
        again. Safe to call from several threads; they take turns.
        """
        with self._reloading:
            if not self.root.is_dir():
                log.warning(
                    "%s: the knowledge-base folder is gone; still serving the last load", self.root
                )
                return ReloadReport(problems=self._current.problems)
            scan = self._scan(self._files)
            gone = set(self._files) - set(scan.files)
            removed = sorted(path for path in gone if self._files[path].serving is not None)
            old = self._current
            same = scan.files.keys() == self._files.keys() and all(
                scan.files[path] is self._files[path] for path in scan.files
            )
            snapshot = old if same else self._snapshot(scan.files, old)
            self._files = scan.files
            self._current = snapshot
        self._log_problems(old, snapshot)
        return ReloadReport(
            added=tuple(scan.added),
            changed=tuple(scan.changed),
            removed=tuple(removed),
            kept=tuple(scan.kept),
            problems=snapshot.problems,
        )

    def _scan(self, known: dict[str, _File]) -> _Scan:
        scan = _Scan()
        for path in find_article_files(self.root):
            relative = path.relative_to(self.root).as_posix()
            before = known.get(relative)
            now = self._read(path, before)
            if now is None:
                continue
            scan.files[relative] = now
            if before is None:
                if now.serving is not None:
                    scan.added.append(relative)
            elif now.serving != before.serving:
                scan.changed.append(relative)
            elif now.stale and now.digest != before.digest:
                scan.kept.append(relative)
        return scan

    def _read(self, path: Path, before: _File | None) -> _File | None:
        """The file as it is now: `before` itself when unchanged; None if it vanished."""
        read_ns = time.time_ns()
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        except OSError:
            stat = None
        size = stat.st_size if stat else -1
        mtime_ns = stat.st_mtime_ns if stat else -1
        unchanged = before and (size, mtime_ns) == (before.size, before.mtime_ns)
        if unchanged and before and before.read_ns - mtime_ns > RACY_NS:
            return before
        try:
            digest = hashlib.sha256(path.read_bytes()).digest()
        except FileNotFoundError:
            return None
        except OSError:
            digest = b""
        if before and digest == before.digest and digest:
            return _File(
                size, mtime_ns, read_ns, digest, before.problems, before.serving, before.stale
            )
        article, problems = parse_file(self.root, path)
        if article is None and before is not None and before.serving is not None:
            return _File(size, mtime_ns, read_ns, digest, tuple(problems), before.serving, True)
        return _File(size, mtime_ns, read_ns, digest, tuple(problems), article)

    def _snapshot(
        self, files: dict[str, _File], old: KnowledgeSnapshot | None
    ) -> KnowledgeSnapshot:
        """A new snapshot (`old` if nothing differs); the old matcher is reused when only the
        problems changed."""
        kb = assemble_kb(self.root, [(f.serving, f.problems) for f in files.values()])
        stale = tuple(sorted(path for path, f in files.items() if f.stale))
        if old is not None and kb.articles == old.kb.articles:
            if (kb.problems, stale) == (old.problems, old.stale):
                return old
            return KnowledgeSnapshot(kb, old.matcher, old.loaded_at, kb.problems, stale)
        return KnowledgeSnapshot(kb, self.build_matcher(kb), self._now(), kb.problems, stale)

    def _log_problems(self, old: KnowledgeSnapshot | None, new: KnowledgeSnapshot) -> None:
        """Each problem once, when it appears, so a poll every second does not flood the log."""
        before = old.problems if old else ()
        known = set(before)
        for problem in new.problems:
            if problem not in known:
                log.warning("%s", _located(self.root, problem))
        for path in sorted(set(new.stale) - set(old.stale if old else ())):
            log.warning("%s: has errors; its last good version keeps serving", self.root / path)
        fixed = {p.path for p in before} - {p.path for p in new.problems}
        for path in sorted(fixed):
            log.info("%s: no problems any more", self.root / path)


class KnowledgeWatcher(Poller):
    """Reloads a `LiveKnowledge` every `poll_seconds` on a daemon thread.

    Polling rather than inotify: inotify sees nothing on network filesystems (NFS, SMB), misses
    host edits through many container bind mounts (Docker Desktop, some Kubernetes volumes), and
    needs a watch per folder that a `git checkout` replacing folders can silently drop. Polling
    a few hundred files is a few `stat` calls a second and works the same everywhere.
    """

    thread_name = "jethro-kb-watcher"

    def __init__(self, live: LiveKnowledge, poll_seconds: float = 1.0) -> None:
        super().__init__(poll_seconds)
        self.live = live

    def failed(self) -> str:
        return f"reloading the knowledge base at {self.live.root} failed"

    def poll_once(self) -> None:
        report = self.live.reload()
        if report.swapped:
            log.info(
                "knowledge base reloaded: %d added, %d changed, %d removed",
                len(report.added),
                len(report.changed),
                len(report.removed),
            )


def _located(root: Path, problem: Problem) -> str:
    prefix = "" if problem.level == "error" else "warning: "
    return f"{root / problem.path}:{problem.line}: {prefix}{problem.message}"
