"""`jethro kb gaps`: escalated reports grouped by similarity, the articles admins should write next.

Single-link clustering on word overlap (stemmed, stop words out, Jaccard), which needs no model
and is fast for the few thousand reports of a month. Largest group first. Pure: texts in, groups
out; the CLI fetches the reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.terms import terms, words

SIMILAR = 0.3
"""Jaccard overlap of two reports' terms at or above which they are the same problem."""


@dataclass(frozen=True)
class Gap:
    """Reports that look like one problem; `example` is the one most like the rest."""

    reports: tuple[str, ...]
    keywords: tuple[str, ...]
    positions: tuple[int, ...]
    """Where each of `reports` was in the input, in the same order."""

    @property
    def example(self) -> str:
        return self.reports[0]


def find_gaps(reports: Sequence[str], similar: float = SIMILAR) -> list[Gap]:
    """Group `reports`; largest group first, ties in order of first appearance."""
    bags = [frozenset(terms(words(report))) for report in reports]
    parent = list(range(len(reports)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(bags)):
        for j in range(i):
            if bags[i] and bags[j] and _jaccard(bags[i], bags[j]) >= similar:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(reports)):
        groups.setdefault(root(i), []).append(i)
    found = [_gap(reports, members) for members in groups.values()]
    return sorted(found, key=lambda gap: -len(gap.reports))


def _gap(everything: Sequence[str], members: list[int]) -> Gap:
    """The words (not stems: people read them) most of the group shares."""
    reports = [everything[i] for i in members]
    bags = [frozenset(terms(words(report), stemming=False)) for report in reports]
    counts: dict[str, int] = {}
    for bag in bags:
        for word in bag:
            counts[word] = counts.get(word, 0) + 1
    central = max(range(len(reports)), key=lambda i: sum(counts[w] for w in bags[i]))
    order = [central, *(i for i in range(len(reports)) if i != central)]
    shared = [w for w, n in counts.items() if n > 1 or len(bags) == 1]
    return Gap(
        tuple(reports[i] for i in order),
        tuple(sorted(shared, key=lambda w: -counts[w])[:5]),
        tuple(members[i] for i in order),
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b)
