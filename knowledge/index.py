"""Matchers: rank the knowledge base's articles for a report, and say how sure the ranking is.

Holds the `Matcher` protocol that every matcher implements and `LexicalMatcher`, the word-overlap
matcher that needs nothing beyond numpy. No I/O here: articles arrive already parsed. The method
and its constants were chosen by measurement on the CLINC150 few-shot task; the comparison is
`bench/matching_study.py`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import IntEnum
from itertools import chain, pairwise
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from knowledge.article import Article
from knowledge.decision import Candidate
from knowledge.spelling import Spelling
from knowledge.terms import char_ngrams, terms, words

if TYPE_CHECKING:
    from knowledge.calibration.thresholds import Thresholds

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Matcher(Protocol):
    """Ranks articles for a report; `confidence` is the calibrated P(the best one is right)."""

    name: str

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        """Up to `limit` articles scoring above zero, best first, scores in 0..1."""
        ...

    def confidence(self, ranked: Sequence[Candidate]) -> float:
        """P(the first of `ranked` is the right article and the report is in scope)."""
        ...


@runtime_checkable
class ShortlistMatcher(Matcher, Protocol):
    """A matcher with its own estimate for a shortlist (see `SemanticMatcher`)."""

    def shortlist_confidence(self, ranked: Sequence[Candidate], size: int) -> float:
        """P(the right article is among the first `size` of `ranked`, and the report in scope)."""
        ...


@dataclass(frozen=True)
class LexicalConfig:
    """How `LexicalMatcher` weighs words. The defaults are the measured winner; the other values
    exist so that `bench/matching_study.py` can compare them.

    Each field weight is that field's share of an article's score, where a field scores its best
    unit (its best example, say) and `pooled` is the title, examples and keywords read as one
    text. `information_floor`: a report needs at least this many rare words' worth of IDF to
    score fully, so "the the the" or "help" never look like a match. `calibration` is (bias,
    weight of the top score, weight of the gap to the next article) of the logistic confidence,
    printed for these defaults by `bench/matching_study.py /tmp/clinc --fit` (fitted on CLINC150
    val, with the full base and with a fifth of the intents held out, oos reweighted to 20%).
    """

    scheme: Literal["bm25", "tfidf"] = "bm25"
    k1: float = 1.5
    b: float = 0.75
    stemming: bool = True
    stopwords: bool = False
    spelling: bool = True
    spelling_weight: float = 0.5
    bigrams: bool = False
    char_ngrams: tuple[int, int] | None = None
    char_weight: float = 0.0
    title: float = 0.3
    examples: float = 0.0
    keywords: float = 0.0
    body: float = 0.1
    pooled: float = 1.0
    information_floor: float = 1.0
    calibration: tuple[float, float, float] = (-2.248, 5.515, 18.703)


class _Field(IntEnum):
    TITLE = 0
    EXAMPLES = 1
    KEYWORDS = 2
    BODY = 3
    POOLED = 4


def _field_weights(config: LexicalConfig) -> FloatArray:
    weights = (config.title, config.examples, config.keywords, config.body, config.pooled)
    return np.array(weights, dtype=np.float64)


def _units(article: Article) -> list[tuple[_Field, str]]:
    """The texts of an article that are scored on their own."""
    units = [(_Field.TITLE, article.title)]
    units += [(_Field.EXAMPLES, text) for text in article.examples]
    units += [(_Field.KEYWORDS, text) for text in article.keywords]
    if article.body.strip():
        units.append((_Field.BODY, article.body))
    pooled = " ".join([article.title, *article.examples, *article.keywords])
    units.append((_Field.POOLED, pooled))
    return units


@dataclass(frozen=True)
class _Units:
    """Which field and article each scored text belongs to."""

    fields: IntArray
    owners: IntArray
    n_articles: int


def _count_pairs(a: IntArray, b: IntArray, width: int) -> tuple[IntArray, IntArray, FloatArray]:
    """The distinct (a, b) pairs and how often each occurs (sorting beats hashing here)."""
    keys = np.sort(a * width + b)
    if len(keys) == 0:
        return keys, keys, np.zeros(0, dtype=np.float64)
    starts = np.flatnonzero(np.diff(keys, prepend=-1))
    counts = np.diff(starts, append=len(keys)).astype(np.float64)
    pairs = keys[starts]
    return pairs // width, pairs % width, counts


class _Channel:
    """One sparse inverted index (word terms or char n-grams) over all units.

    A unit's score is BM25 divided by the most the query could score (every query term, known
    or not, at saturation; at least `information_floor`), or the cosine of L2-normalised TF-IDF
    vectors: 0..1 either way, and words the base never uses lower it. Document frequency counts
    articles, not units: a word in all ten examples of one article is still specific to it.
    """

    def __init__(self, features: list[list[str]], units: _Units, config: LexicalConfig) -> None:
        self.config = config
        self.n_units = len(features)
        numbering: defaultdict[str, int] = defaultdict()
        numbering.default_factory = numbering.__len__
        ids = np.fromiter(map(numbering.__getitem__, chain.from_iterable(features)), np.int64)
        self.vocab = dict(numbering)
        lengths = np.fromiter(map(len, features), np.int64, count=self.n_units)
        width = len(self.vocab) + 1
        row, col, tf = _count_pairs(np.repeat(np.arange(self.n_units), lengths), ids, width)
        df = self._article_frequency(row, col, units.owners)
        n = units.n_articles
        if config.scheme == "bm25":
            self.idf = np.log1p((n - df + 0.5) / (df + 0.5))
            self.unknown_idf = math.log1p((n + 0.5) / 0.5)
            weight = self._bm25(row, col, tf, units.fields)
        else:
            self.idf = np.log((1 + n) / (1 + df)) + 1.0
            self.unknown_idf = math.log(1 + n) + 1.0
            weight = (1.0 + np.log(tf)) * self.idf[col]
            weight /= np.sqrt(np.bincount(row, weight**2, minlength=self.n_units))[row]
        order = np.argsort(col, kind="stable")
        self.postings = row[order]
        self.weights = weight[order]
        self.starts = np.searchsorted(col[order], np.arange(len(self.vocab) + 1))

    def _article_frequency(self, row: IntArray, col: IntArray, owners: IntArray) -> FloatArray:
        _, terms_in_articles, _ = _count_pairs(owners[row], col, len(self.vocab) + 1)
        return np.bincount(terms_in_articles, minlength=len(self.vocab)).astype(np.float64)

    def _bm25(self, row: IntArray, col: IntArray, tf: FloatArray, fields: IntArray) -> FloatArray:
        k1, b = self.config.k1, self.config.b
        length = np.bincount(row, tf, minlength=self.n_units)
        total = np.bincount(fields, length, minlength=len(_Field))
        average = total / np.maximum(np.bincount(fields, minlength=len(_Field)), 1)
        norm = k1 * (1 - b + b * length / np.maximum(average[fields], 1e-9))
        return self.idf[col] * tf * (k1 + 1) / (tf + norm[row])

    def score(self, features: list[str], guessed: Collection[str] = ()) -> FloatArray:
        """Every unit's similarity to the query features, 0..1; a `guessed` feature (a spelling
        fix) counts for `spelling_weight` of itself, as it may not be what was meant."""
        ids: list[int] = []
        values: list[float] = []
        total = 0.0
        for feat, count in Counter(features).items():
            j = self.vocab.get(feat)
            idf = self.unknown_idf if j is None else float(self.idf[j])
            if self.config.scheme == "bm25":
                value, total = 1.0, total + idf * (self.config.k1 + 1)
            else:
                value = (1.0 + math.log(count)) * idf
                total += value * value
            if j is not None:
                ids.append(j)
                values.append(value * (self.config.spelling_weight if feat in guessed else 1.0))
        if not ids:
            return np.zeros(self.n_units)
        if self.config.scheme == "bm25":
            floor = self.config.information_floor * self.unknown_idf * (self.config.k1 + 1)
            scale = max(total, floor)
        else:
            scale = math.sqrt(total)
        spans = [slice(self.starts[j], self.starts[j + 1]) for j in ids]
        postings = np.concatenate([self.postings[span] for span in spans])
        weights = np.concatenate(
            [self.weights[span] * (v / scale) for span, v in zip(spans, values, strict=True)]
        )
        return np.bincount(postings, weights, minlength=self.n_units).astype(np.float64)


class LexicalMatcher:
    """Ranks articles by the words they share with a report (BM25 over each article's pooled
    title, examples and keywords, plus its title and body), forgiving one typo per word."""

    name = "lexical"
    calibrated: Thresholds | None = None
    """Its thresholds, calibrated on its base (`knowledge.calibration`); None: not calibrated."""

    def __init__(self, articles: Sequence[Article], config: LexicalConfig | None = None) -> None:
        self.config = config or LexicalConfig()
        self.articles = tuple(articles)
        weights = _field_weights(self.config)
        texts, fields, owners = [], [], []
        for i, article in enumerate(self.articles):
            for field, text in _units(article):
                if weights[field] > 0:
                    texts.append(text)
                    fields.append(int(field))
                    owners.append(i)
        self._units = _Units(
            np.array(fields, np.int64), np.array(owners, np.int64), len(self.articles)
        )
        present = np.zeros((len(self.articles), len(_Field)))
        present[self._units.owners, self._units.fields] = 1.0
        self._field_weights = weights
        self._norm = np.maximum(present @ weights, 1e-9)
        tokens = [words(text) for text in texts]
        vocabulary = Counter(chain.from_iterable(tokens))
        self._spelling = Spelling(vocabulary) if self.config.spelling else None
        self._words = _Channel([self._word_terms(t) for t in tokens], self._units, self.config)
        self._chars = None
        if self.config.char_ngrams and self.config.char_weight > 0:
            grams = [self._char_grams(t) for t in tokens]
            self._chars = _Channel(grams, self._units, self.config)

    def _word_terms(self, tokens: list[str]) -> list[str]:
        found = terms(tokens, stopwords=self.config.stopwords, stemming=self.config.stemming)
        if self.config.bigrams:
            return found + [f"{a} {b}" for a, b in pairwise(found)]
        return found

    def _char_grams(self, tokens: list[str]) -> list[str]:
        low, high = self.config.char_ngrams or (3, 5)
        return char_ngrams(
            terms(tokens, stopwords=self.config.stopwords, stemming=False), low, high
        )

    def scores(self, text: str) -> FloatArray:
        """Every article's score for `text`, 0..1, in the order the articles were given."""
        tokens = words(text)
        found = self._word_terms(tokens)
        guessed: set[str] = set()
        if self._spelling is not None:
            tokens = self._spelling.correct_all(tokens)
            fixed = self._word_terms(tokens)
            guessed, found = set(fixed) - set(found), fixed
        unit_scores = self._words.score(found, guessed)
        if self._chars is not None:
            char_scores = self._chars.score(self._char_grams(tokens))
            unit_scores = (1 - self.config.char_weight) * unit_scores
            unit_scores += self.config.char_weight * char_scores
        best = np.zeros((len(self.articles), len(_Field)))
        np.maximum.at(best, (self._units.owners, self._units.fields), unit_scores)
        return np.asarray(best @ self._field_weights / self._norm, dtype=np.float64)

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        if not self.articles or limit <= 0:
            return []
        return top_candidates(self.articles, self.scores(text), limit)

    def confidence(self, ranked: Sequence[Candidate]) -> float:
        """Logistic in the top score and its gap to the next article; see `LexicalConfig`."""
        return gap_confidence(ranked, self.config.calibration)


def top_candidates(articles: Sequence[Article], scores: FloatArray, limit: int) -> list[Candidate]:
    """The `limit` best-scoring articles with a positive score, best first; ties in index order,
    as a stable sort gives, without sorting 100,000 scores (12 ms) to keep ten."""
    if limit < len(scores):
        kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        chosen = np.flatnonzero(scores >= kth)
    else:
        chosen = np.arange(len(scores))
    order = chosen[np.lexsort((chosen, -scores[chosen]))][:limit]
    return [Candidate(articles[i], float(scores[i])) for i in order if scores[i] > 0]


def gap_confidence(ranked: Sequence[Candidate], calibration: tuple[float, float, float]) -> float:
    """P(the best article is right): a logistic in the top score and its gap to the next one,
    with (bias, top weight, gap weight) fitted per matcher on held-out data."""
    if not ranked:
        return 0.0
    top = ranked[0].score
    gap = top - (ranked[1].score if len(ranked) > 1 else 0.0)
    bias, w_top, w_gap = calibration
    return 1.0 / (1.0 + math.exp(-(bias + w_top * top + w_gap * gap)))
