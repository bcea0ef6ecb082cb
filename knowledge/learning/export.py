"""Writing learned examples into the articles' markdown, for an admin to review in git.

The KB in git stays the source of truth: `jethro kb learned export DIR` adds each learned example
to its article's `examples:` list (a new block item after the last one, or a new `examples:` key),
skips what the file already holds (so running it again writes nothing), and drops any example the
linter would flag there (in another article, or matched better by another one), so the files stay
lint-clean. Writes files only; knows nothing of the database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.article import Article
from knowledge.lint import lint_kb
from knowledge.loader import load_kb

_ITEM = re.compile(r"^(\s*)- ")


@dataclass
class Exported:
    """What an export wrote, per article file, and what it left out and why."""

    written: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    """(article id, example, why)."""


def export_examples(root: Path, examples: Sequence[tuple[str, str]]) -> Exported:
    """Add `examples` ((article id, text), in order) to the articles under `root`."""
    kb = load_kb(root)
    by_id = {a.id: a for a in kb.articles}
    held = {_folded(t): a.id for a in kb.articles for t in (*a.examples, a.title)}
    done = Exported()
    wanted: dict[str, list[str]] = defaultdict(list)
    for article_id, text in examples:
        text = " ".join(text.split())
        owner = held.get(_folded(text))
        if article_id not in by_id:
            done.skipped.append((article_id, text, "no such article in this base"))
        elif owner == article_id:
            continue  # already there: exported before, or written by hand
        elif owner is not None:
            done.skipped.append((article_id, text, f"already an example of '{owner}'"))
        else:
            held[_folded(text)] = article_id
            wanted[article_id].append(text)
    before = {(p.path, p.message) for p in lint_kb(root)}
    originals = {by_id[a].path: (root / by_id[a].path).read_text("utf-8") for a in wanted}
    for article_id, texts in list(wanted.items()):
        article = by_id[article_id]
        changed = _with_examples(originals[article.path], article, texts)
        if changed is None:
            done.skipped += [(article_id, t, "its examples are not a block list") for t in texts]
            del wanted[article_id]
        else:
            _write(root / article.path, changed)
    flagged = _flagged(root, before, {by_id[a].path: texts for a, texts in wanted.items()})
    for article_id, texts in wanted.items():
        article = by_id[article_id]
        keep = [t for t in texts if t not in flagged]
        done.skipped += [(article_id, t, flagged[t]) for t in texts if t not in keep]
        original = originals[article.path]
        _write(
            root / article.path,
            (_with_examples(original, article, keep) if keep else None) or original,
        )
        if keep:
            done.written[article.path] = keep
    return done


def _flagged(
    root: Path, before: set[tuple[str, str]], added: dict[str, list[str]]
) -> dict[str, str]:
    """The added examples the linter now reports a problem about, with the problem."""
    flagged: dict[str, str] = {}
    for problem in lint_kb(root):
        if (problem.path, problem.message) not in before and problem.path in added:
            for text in added[problem.path]:
                if text in problem.message:
                    flagged[text] = f"kb lint: {problem.message}"
    return flagged


def _with_examples(text: str, article: Article, examples: Sequence[str]) -> str | None:
    """`text` (the article's file) with `examples` added to its front matter's list; None when
    its examples are written some other way (a flow list) that a line cannot be added to."""
    lines = text.split("\n")
    items = [_item(e) for e in examples]
    start = article.line - 1
    close = next(i for i in range(start + 1, len(lines)) if lines[i].rstrip() in ("---", "..."))
    last = article.example_lines[-1] - 1 if article.example_lines else None
    found = _ITEM.match(lines[last]) if last is not None and article.examples else None
    if found is not None and last is not None:
        indent, end = found.group(1), last + 1
        while end < close and lines[end].startswith(indent + "  ") and lines[end].strip():
            end += 1  # a folded item's continuation lines
        return "\n".join([*lines[:end], *(indent + i for i in items), *lines[end:]])
    if any(line.startswith("examples:") for line in lines[start:close]):
        return None
    return "\n".join([*lines[:close], "examples:", *("  " + i for i in items), *lines[close:]])


def _item(example: str) -> str:
    dumped = yaml.safe_dump([example], allow_unicode=True, width=10_000, default_flow_style=False)
    return dumped.strip()


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())
