"""Typo tolerance for the lexical matcher: map an unknown word to a known word one edit away.

A word the knowledge base never uses cannot match anything, so "vpn keeps droping" would lose its
most telling word. Deletion neighbourhoods (the SymSpell idea) find every known word within one
insertion, deletion, substitution or swap without scanning the vocabulary, so a report costs a few
dictionary look-ups however large the base. Cheaper to build than character n-grams over every
article, and measured as good on misspelt reports (see `bench/matching_study.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_MIN_LENGTH = 4
"""Shorter words have too many neighbours one edit away to guess which was meant."""


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Spelling:
    """Known words, and a look-up of the known word an unknown one most likely meant."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self._counts = dict(counts)
        self._by_delete: dict[str, list[str]] = {}
        for word in self._counts:
            if len(word) >= _MIN_LENGTH:
                for deleted in _deletes(word):
                    self._by_delete.setdefault(deleted, []).append(word)

    def correct(self, word: str) -> str:
        """`word` itself if known or unfixable, else the most frequent known word one edit away."""
        if word in self._counts or len(word) < _MIN_LENGTH or word.isdigit():
            return word
        deletes = _deletes(word)
        near = set(self._by_delete.get(word, ()))
        near.update(d for d in deletes if d in self._counts)
        for deleted in deletes:
            near.update(w for w in self._by_delete.get(deleted, ()) if _one_edit(word, w))
        if not near:
            return word
        return max(sorted(near), key=lambda w: self._counts[w])

    def correct_all(self, words: Iterable[str]) -> list[str]:
        return [self.correct(word) for word in words]


def _one_edit(a: str, b: str) -> bool:
    """Same length, differing by one substitution or one swap of neighbours."""
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )
