"""Where lessons are compared with reports: the semantic matcher's own embedding, or words.

A space turns texts into unit vectors, so the closeness of a report to a lesson is one cosine,
and says how that closeness maps onto the matcher's per-article values (cosines before the
semantic matcher's softmax, or the lexical matcher's 0..1 scores).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from knowledge.embedding import Vectors
from knowledge.index import LexicalMatcher, Matcher
from knowledge.semantic import SemanticMatcher
from knowledge.terms import terms, words


class Space(Protocol):
    close: float
    """Two reports this close (cosine) are the same problem: one corroborates the other."""
    offset: float
    """A report at cosine s to a learned example of an article scores it at least s - offset."""
    veto: float
    """The value a vetoed article gets: below anything the matcher would keep."""

    def embed(self, texts: Sequence[str]) -> Vectors: ...


@dataclass
class SemanticSpace:
    """The semantic matcher's own vectors (its tuned encoder, through its embedding cache)."""

    matcher: SemanticMatcher
    close: float = 0.8
    offset: float = 0.1
    veto: float = -1.0

    def embed(self, texts: Sequence[str]) -> Vectors:
        return _unit(self.matcher.embed(list(texts)))


@dataclass
class TermSpace:
    """Stemmed content words hashed into `dim` buckets: what the lexical matcher compares, and
    light enough to hold thousands of lessons (`dim` floats each)."""

    close: float = 0.6
    offset: float = 0.1
    veto: float = 0.0
    dim: int = 1024

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term, count in Counter(terms(words(text))).items():
                out[row, zlib.crc32(term.encode()) % self.dim] += 1.0 + np.log(count)
        return _unit(out)


def space_for(matcher: Matcher) -> Space | None:
    """The space a matcher's lessons live in; None for a matcher that cannot learn."""
    if isinstance(matcher, SemanticMatcher):
        return SemanticSpace(matcher)
    if isinstance(matcher, LexicalMatcher):
        return TermSpace()
    return None


def _unit(x: Vectors) -> Vectors:
    out: Vectors = (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(
        np.float32
    )
    return out
