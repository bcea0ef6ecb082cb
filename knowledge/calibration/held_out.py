"""Held-out reports of a base, judged by matchers built without them: what the thresholds are
chosen on.

The base is split in `FOLDS` folds by a hash of each article id (the same base, the same folds).
In fold f, the articles of that fold are left out whole: their examples are reports of problems
the base does not know, and since the split ignores topics, many of them have close neighbours
among the articles that stay. Each article that stays leaves out the examples of its own that
fall in fold f (keeping at least one): reports that must be answered with it. A matcher is
built on what is left, by the caller's `build`, and every left-out text is ranked through it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from knowledge.article import Action, Article
from knowledge.calibration.thresholds import Sample
from knowledge.index import Matcher
from knowledge.triage import TriagePolicy, shortlist_confidences

FOLDS = 5
MIN_ARTICLES = 8
"""Fewer articles than this leave too few neighbours to tell a known report from an unknown one."""
MAX_TEXTS = 5_000
"""Judging held-out reports builds the matcher five more times: past this many texts that
would slow every start and reload (as tuning is bounded by the same 5,000)."""
MIN_SAMPLES = 40
"""Of each kind (known and unknown reports): fewer make the precision estimate too noisy."""

Builder = Callable[[Sequence[Article]], Matcher]


def too_small(articles: Sequence[Article]) -> str | None:
    """Why this base cannot be calibrated (too small, or too large to do it at every load), or
    None."""
    with_examples = [a for a in articles if len(a.examples) >= 2]
    if len(articles) < MIN_ARTICLES:
        return f"base too small ({len(articles)} articles; calibrating needs {MIN_ARTICLES})"
    texts = sum(len(a.examples) + 1 for a in articles)
    if texts > MAX_TEXTS:
        return f"{texts} texts; calibrating at each load takes at most {MAX_TEXTS}"
    known = sum(len(a.examples) - 1 for a in with_examples)
    unknown = sum(max(len(a.examples), 1) for a in articles)
    if min(known, unknown) < MIN_SAMPLES:
        return f"base too small ({known} held-out examples; calibrating needs {MIN_SAMPLES})"
    return None


def held_out_samples(
    articles: Sequence[Article], build: Builder, policy: TriagePolicy
) -> list[Sample]:
    """Every left-out text of every fold, judged (see the module docstring)."""
    samples: list[Sample] = []
    for kept, queries in folds(articles):
        matcher = build(kept)
        samples += [_judged(matcher, policy, text, label) for text, label in queries]
    return samples


def folds(
    articles: Sequence[Article],
) -> Iterator[tuple[list[Article], list[tuple[str, str | None]]]]:
    """Each fold's kept articles and left-out reports, (text, its article's id, or None for a
    left-out article's), skipping a fold that keeps or leaves out nothing."""
    for fold in range(FOLDS):
        kept: list[Article] = []
        queries: list[tuple[str, str | None]] = []
        for article in articles:
            home = _fold(article.id)
            if home == fold:
                texts = article.examples or (article.title,)
                queries += [(text, None) for text in texts if text.strip()]
                continue
            out = [t for i, t in enumerate(article.examples) if (home + i) % FOLDS == fold]
            stay = [t for i, t in enumerate(article.examples) if (home + i) % FOLDS != fold]
            if not stay:
                out, stay = [], list(article.examples)
            kept.append(replace(article, examples=tuple(stay)))
            queries += [(text, article.id) for text in out if text.strip()]
        if kept and queries:
            yield kept, queries


def _fold(article_id: str) -> int:
    return int(hashlib.sha256(article_id.encode()).hexdigest()[:8], 16) % FOLDS


def _judged(matcher: Matcher, policy: TriagePolicy, text: str, label: str | None) -> Sample:
    ranked = matcher.rank(text, limit=policy.rank_limit)
    if not ranked:
        return Sample(0.0, False, label is not None)
    ids = [c.article.id for c in ranked]
    shortlists = tuple(
        (among, label in ids[:size])
        for size, among in enumerate(shortlist_confidences(ranked, matcher, policy), start=2)
    )
    return Sample(
        matcher.confidence(ranked),
        ids[0] == label,
        label is not None,
        ranked[0].article.action is Action.ANSWER,
        shortlists,
    )
