"""`jethro kb lint`: every problem in a knowledge base, including those between articles.

Loading already reports what one file (and duplicate ids) can show; this adds the checks that
need the whole base. It returns problems and prints nothing: the CLI decides the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from knowledge.article import Article
from knowledge.index import LexicalMatcher
from knowledge.loader import load_kb
from knowledge.yaml_problems import Problem


def lint_kb(root: Path) -> list[Problem]:
    """All problems under `root`, sorted by path and line."""
    kb = load_kb(root)
    return lint_loaded(kb.articles, kb.problems)


def lint_loaded(articles: Sequence[Article], loading: Iterable[Problem]) -> list[Problem]:
    """`loading`'s problems and those between `articles`, sorted: for a base already loaded
    (the admin view lints the snapshot that serves, not the files as they are now)."""
    problems = [*loading, *duplicate_examples(articles), *stolen_examples(articles)]
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


def stolen_examples(articles: Sequence[Article]) -> list[Problem]:
    """An example that the lexical matcher ranks under another article, although the example
    itself is in its own article's index: a report worded exactly like it goes elsewhere.

    Leave-one-out would be stricter (is the example covered by the rest of its article?), but
    it flags every example that is merely closer to a neighbour (22% of the sample base's, 11% of
    CLINC150's) and needs an index per example; this needs one, and each warning is a misroute.
    The lexical matcher works without the semantic extra and is fast enough for large bases.
    Exact duplicates are left to `duplicate_examples`.
    """
    matcher = LexicalMatcher(articles)
    problems: list[Problem] = []
    for own, article in enumerate(articles):
        for example, line in zip(article.examples, _example_lines(article), strict=True):
            scores = matcher.scores(example)
            mine = scores[own]
            scores[own] = -1.0
            best = int(np.argmax(scores))
            if scores[best] > mine and not _same_example(example, articles[best]):
                other = articles[best]
                message = (
                    f"example \"{example}\" matches '{other.title}' ({other.id}) better than "
                    "this article"
                )
                problems.append(Problem(article.path, line, message, "warning"))
    return problems


def _same_example(example: str, article: Article) -> bool:
    folded = _folded(example)
    return any(_folded(other) == folded for other in article.examples)


def _example_lines(article: Article) -> tuple[int, ...]:
    """Articles built in code may lack example lines; point those at the article's start."""
    if len(article.example_lines) == len(article.examples):
        return article.example_lines
    return (article.line,) * len(article.examples)


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())
