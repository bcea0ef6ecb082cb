"""Reading a knowledge-base folder: which files count as articles, and how they are put together.

One broken file never stops the rest from loading: its problems are collected and the others
still load. Files are parsed one by one (`parse_file`) and put together by `assemble_kb`, so a
hot-reloader can re-parse a changed file and keep the last good version when the new one fails.
Paths in articles and problems are relative to the KB folder, with posix slashes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.article import Article
from knowledge.parser import parse_article
from knowledge.yaml_problems import Problem

_SAMPLE_DIR = "sample_kb"


@dataclass(frozen=True)
class KnowledgeBase:
    """The loaded articles (sorted by id) and every problem met while loading them."""

    root: Path
    articles: tuple[Article, ...]
    problems: tuple[Problem, ...] = ()
    _by_id: dict[str, Article] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.id: a for a in self.articles})

    def by_id(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)


def load_kb(root: Path) -> KnowledgeBase:
    """Load every article under `root`; raises `NotADirectoryError` if there is no such folder."""
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: no such knowledge-base folder")
    return assemble_kb(root, [parse_file(root, path) for path in find_article_files(root)])


def find_article_files(root: Path) -> list[Path]:
    """Every `*.md` under `root`, sorted by relative path, except `README.md` and names starting
    with `.` or `_` (files and folders: `_drafts/` holds work in progress, `.git/` is not KB)."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if not _hidden(name)]
        found += [Path(folder, name) for name in files if _is_article_name(name)]
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def parse_file(root: Path, path: Path) -> tuple[Article | None, list[Problem]]:
    """Read and parse one file; `path` may be relative to `root` or include it."""
    full = path if path.is_relative_to(root) else root / path
    relative = full.relative_to(root).as_posix()
    try:
        data = full.read_bytes()
    except OSError as exc:
        return None, [Problem(relative, 1, f"cannot read the file: {exc.strerror}", "error")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [_encoding_problem(relative, data, exc)]
    return parse_article(text, relative, relative.removesuffix(".md"))


def assemble_kb(
    root: Path, parsed: Iterable[tuple[Article | None, Sequence[Problem]]]
) -> KnowledgeBase:
    """Put parsed files together; of articles sharing an id, the first by path is kept."""
    problems: list[Problem] = []
    kept: dict[str, Article] = {}
    results = sorted(parsed, key=lambda result: result[0].path if result[0] else "")
    for article, file_problems in results:
        problems += file_problems
        if article is None:
            continue
        first = kept.setdefault(article.id, article)
        if first is not article:
            problems.append(_duplicate_id(article, first))
    return KnowledgeBase(
        root=root,
        articles=tuple(sorted(kept.values(), key=lambda a: a.id)),
        problems=tuple(sorted(problems, key=lambda p: (p.path, p.line))),
    )


def sample_kb_path() -> Path:
    """The sample knowledge base shipped inside the package, for trying Jethro out."""
    return Path(__file__).with_name(_SAMPLE_DIR)


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _is_article_name(name: str) -> bool:
    return name.endswith(".md") and not _hidden(name) and name.lower() != "readme.md"


def _duplicate_id(article: Article, first: Article) -> Problem:
    return Problem(
        article.path,
        article.line,
        f"duplicate id '{article.id}': already used by {first.path}:{first.line}; "
        "this article is ignored until one of them changes its 'id:'",
        "error",
    )


def _encoding_problem(path: str, data: bytes, exc: UnicodeDecodeError) -> Problem:
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    return Problem(
        path,
        data.count(b"\n", 0, exc.start) + 1,
        f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at column {exc.start - line_start + 1}): "
        "save the file as UTF-8",
        "error",
    )
