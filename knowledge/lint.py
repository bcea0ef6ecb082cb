"""`jethro kb lint`: every problem in a knowledge base, including those between articles.

Loading already reports what one file (and duplicate ids) can show; this adds the checks that
need the whole base. It returns problems and prints nothing: the CLI decides the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from knowledge.article import Article
from knowledge.loader import load_kb
from knowledge.parser import Problem


def lint_kb(root: Path) -> list[Problem]:
    """All problems under `root`, sorted by path and line."""
    kb = load_kb(root)
    problems = [*kb.problems, *duplicate_examples(kb.articles)]
    return sorted(problems, key=lambda p: (p.path, p.line))


def duplicate_examples(articles: Iterable[Article]) -> list[Problem]:
    """An example in two articles makes the matcher choose between them by chance.

    Compared ignoring case and spacing; reported where it appears second (by path, then line).
    """
    seen: dict[str, tuple[Article, int]] = {}
    problems: list[Problem] = []
    for article in sorted(articles, key=lambda a: a.path):
        for example, line in zip(article.examples, _example_lines(article), strict=True):
            other, other_line = seen.setdefault(_folded(example), (article, line))
            if other is not article:
                problems.append(
                    Problem(
                        article.path,
                        line,
                        f"example '{example}' is also in {other.path}:{other_line} "
                        f"('{other.id}'): keep it in one article",
                        "error",
                    )
                )
    return problems


def _example_lines(article: Article) -> tuple[int, ...]:
    """Articles built in code may lack example lines; point those at the article's start."""
    if len(article.example_lines) == len(article.examples):
        return article.example_lines
    return (article.line,) * len(article.examples)


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())
