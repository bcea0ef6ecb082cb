"""`SemanticMatcher`: ranks articles by sentence-embedding similarity, so a report that shares no
words with an article ("my laptop won't power up" / "Computer doesn't turn on") still finds it.

No I/O of its own: articles arrive parsed, and vectors come from an `Encoder` (optionally through
an `EmbeddingCache`). The method and constants were chosen by measurement on the CLINC150 few-shot
task; the comparison of every variant is `bench/semantic_study.py`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from knowledge.article import Article
from knowledge.decision import Candidate
from knowledge.embedding import Encoder, Vectors
from knowledge.embedding_cache import EmbeddingCache
from knowledge.index import LexicalMatcher, gap_confidence, top_candidates

if TYPE_CHECKING:
    from knowledge.calibration.thresholds import Thresholds

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Method = Literal["prototypes", "centroid", "nearest", "knn", "head"]
MOMENTUM = np.float32(0.9)
Shortlist = tuple[float, float, float, float, float]
CosineAdjuster = Callable[["Vectors", "Vectors"], "Vectors"]
"""(queries, plain cosines reports x articles) -> cosines: what `knowledge.learning` adds."""


@dataclass(frozen=True)
class SemanticConfig:
    """How `SemanticMatcher` scores; the defaults are the measured winner.

    `method`: what an article's cosine is taken to: `prototypes`, its examples' centroid moved by
    `steps` of gradient descent at `rate` on the base's own examples (build time, numpy);
    `centroid`; `nearest` example; `knn`, the mean similarity of its examples among the `knn`
    nearest; `head`, a logistic-regression head's probability (kept for comparison: it is
    overconfident on small bases, where nothing anchors it to how similar the report really is).
    `examples`, `titles`: which texts stand for an article (a title counts as one more example).
    `nearest_weight`: share of the nearest-example cosine mixed into the article's. `whiten`:
    shrinkage of a within-article whitening learned on the examples (None: off). `background`:
    the cosine of a "none of these" option in the softmax at `scale` that turns cosines into 0..1
    scores, so a report close to nothing scores low however few articles there are (None: plain
    cosines). `block`: prototypes are trained in groups of at most this many similar articles,
    so training costs grow with the base, not its square (a base this small trains as one).
    `lexical`: weight of the lexical matcher's article scores (0..1, `LexicalMatcher`) added to
    the cosines before the softmax: rare words a report shares with an article (product names,
    error codes) count even where the embedding blurs them.
    `calibration` holds (bias, top score, gap to the next article) of the logistic confidence.
    `shortlist`: the weights, for a shortlist of 2 and of 3 (and more) articles, of a logistic
    P(the right article is among them): bias, then the calibrated confidence of the group read
    as one article (its logit), the best article's cosine minus its own texts' mean cosine to
    it, the most any of the group's articles has of that, and the best article's cosine. A
    report that several articles resemble but none as closely as their own examples do is
    usually about something the base does not cover (None: the group confidence alone).
    """

    method: Method = "prototypes"
    examples: bool = True
    titles: bool = True
    nearest_weight: float = 0.0
    knn: int = 10
    whiten: float | None = None
    scale: float = 20.0
    background: float | None = 0.5
    steps: int = 100
    rate: float = 1.0
    block: int = 160
    lexical: float = 0.2
    # bench/layer_tuning_study.py, the shipped variant (encoder's top two layers tuned, lexical
    # share 0.2): fitted on CLINC150 val, oos reweighted to a 20% share
    calibration: tuple[float, float, float] = (-2.241, 4.341, 2.206)
    # bench/choose_threshold.py --fit: CLINC150 val, full base and a fifth of the intents held
    # out, out-of-scope reports weighted to the test split's share
    shortlist: tuple[Shortlist, ...] | None = (
        (-0.717, 0.217, 3.453, 4.3, 6.631),
        (-0.987, 0.144, 4.357, 3.801, 7.795),
    )


class SemanticMatcher:
    """Ranks articles by how close a report's embedding is to their examples' embeddings."""

    name = "semantic"
    calibrated: Thresholds | None = None
    """Its thresholds, calibrated on its base (`knowledge.calibration`); None: not calibrated."""
    adjust: CosineAdjuster | None = None
    """Set by a decorator (`knowledge.learning.LearningMatcher`) to move cosines before the
    softmax, so what was learned after the build counts without rebuilding the index."""

    def __init__(
        self,
        articles: Sequence[Article],
        encoder: Encoder,
        cache: EmbeddingCache | None = None,
        config: SemanticConfig | None = None,
    ) -> None:
        self.config = config or SemanticConfig()
        self.articles = tuple(articles)
        self.encoder = encoder
        self._cache = cache
        texts, owners = _units(self.articles, self.config.examples, self.config.titles)
        vectors = cache.embed(encoder, texts) if cache else encoder.encode(texts)
        self._owners = np.array(owners, dtype=np.int64)
        self._transform = _Whitening.fit(vectors, self._owners, self.config.whiten)
        units = self._transform.apply(vectors)
        self._centroids = _centroids(units, self._owners, len(self.articles))
        if self.config.method == "prototypes":
            self._centroids = _train_in_blocks(units, self._owners, self._centroids, self.config)
        own = (units * self._centroids[self._owners]).sum(axis=1)
        counts = np.maximum(np.bincount(self._owners, minlength=len(self.articles)), 1)
        typical = np.bincount(self._owners, own, minlength=len(self.articles)) / counts
        typical = _borrowed_typical(typical, counts)
        self._typical = {a.id: float(t) for a, t in zip(self.articles, typical, strict=True)}
        self._position = {article.id: i for i, article in enumerate(self.articles)}
        self._lexical = LexicalMatcher(self.articles) if self.config.lexical else None
        self._head: _Head | None = None
        if self.config.method == "head":
            self._head = _Head.train(units, self._owners, len(self.articles), self.config.steps)
        # Kept only for the methods that score each example: 900 MB at 100,000 articles.
        needs_units = self.config.method in ("nearest", "knn") or bool(self.config.nearest_weight)
        self._units = units if needs_units else units[:0]

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Texts as this matcher compares them with its articles (what `adjust` receives)."""
        vectors = (
            self._cache.embed(self.encoder, texts) if self._cache else self.encoder.encode(texts)
        )
        return self._transform.apply(vectors)

    def scores(self, text: str) -> FloatArray:
        """Every article's score for `text`, 0..1, in the order the articles were given."""
        row: FloatArray = self.score_vectors(self.encoder.encode([text]), [text])[0]
        return row

    def score_vectors(self, vectors: Vectors, texts: Sequence[str] | None = None) -> FloatArray:
        """Scores (reports x articles) for already-encoded reports: batch evaluation's path.
        `texts` are the reports themselves, for the lexical share of the score (if configured)."""
        return self._scored(vectors, texts)[0]

    def _scored(
        self, vectors: Vectors, texts: Sequence[str] | None
    ) -> tuple[FloatArray, Vectors | None]:
        """Scores, and the plain cosines they came from (None for the `head` method)."""
        if not self.articles:
            return np.zeros((len(vectors), 0)), None
        queries = self._transform.apply(vectors)
        if self._head is not None:
            return self._head.probabilities(queries), None
        plain = cosines = self._cosines(queries)
        if self.adjust is not None:
            plain = cosines = self.adjust(queries, plain)
        if self._lexical is not None and texts is not None:
            lexical = np.array([self._lexical.scores(t) for t in texts], dtype=np.float32)
            cosines = cosines + np.float32(self.config.lexical) * lexical
        if self.config.background is None:
            return np.clip(cosines, 0.0, 1.0).astype(np.float64), plain
        return _open_softmax(cosines, self.config.scale, self.config.background), plain

    def _cosines(self, queries: Vectors) -> Vectors:
        method, n = self.config.method, len(self.articles)
        if method in ("prototypes", "centroid"):
            cosines = queries @ self._centroids.T
        else:
            sims = queries @ self._units.T
            if method == "nearest":
                cosines = _best_per_article(sims, self._owners, n)
            else:
                cosines = _knn_votes(sims, self._owners, n, self.config.knn)
        weight = self.config.nearest_weight
        if weight:
            nearest = _best_per_article(queries @ self._units.T, self._owners, n)
            cosines = (1 - weight) * cosines + weight * nearest
        return cosines

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        if not self.articles or limit <= 0 or not text.strip():
            return []
        scores, cosines = self._scored(self.encoder.encode([text]), [text])
        ranked = top_candidates(self.articles, scores[0], limit)
        if cosines is None:
            return ranked
        row = cosines[0]
        return [replace(c, similarity=float(row[self._position[c.article.id]])) for c in ranked]

    def confidence(self, ranked: Sequence[Candidate]) -> float:
        return gap_confidence(ranked, self.config.calibration)

    def shortlist_confidence(self, ranked: Sequence[Candidate], size: int) -> float:
        """P(the right article is among the first `size` of `ranked`); see `SemanticConfig`."""
        group = gap_confidence([ranked[0], *ranked[size:]], self.config.calibration)
        weights = self.config.shortlist
        group_ranked = ranked[:size]
        plain = [c.similarity for c in group_ranked if c.similarity is not None]
        typical = [self._typical.get(c.article.id) for c in group_ranked]
        if weights is None or len(plain) < size or None in typical:
            return group
        bias, w_group, w_best, w_any, w_cosine = weights[min(size - 2, len(weights) - 1)]
        closer = [s - (t or 0.0) for s, t in zip(plain, typical, strict=True)]
        logit = math.log(max(group, 1e-6) / max(1 - group, 1e-6))
        z = bias + w_group * logit + w_best * closer[0] + w_any * max(closer) + w_cosine * plain[0]
        return 1.0 / (1.0 + math.exp(-z))


def _units(
    articles: Sequence[Article], examples: bool, titles: bool
) -> tuple[list[str], list[int]]:
    """The texts that stand for each article: its examples and title, as configured; never none."""
    texts: list[str] = []
    owners: list[int] = []
    for i, article in enumerate(articles):
        own = [*(article.examples if examples else ()), *((article.title,) if titles else ())]
        own = [text for text in own if text.strip()] or [article.title]
        texts += own
        owners += [i] * len(own)
    return texts, owners


TYPICAL_PRIOR = 0.75
"""How close an article's own texts are to it, for a base where no article has two: the median
on CLINC150 bases of 10 examples an article (0.74 to 0.78 across them, tuned encoder)."""


def _borrowed_typical(typical: FloatArray, counts: IntArray) -> FloatArray:
    """An article of one text (a title, no examples) is as close to it as a text can be (1.0),
    which made every report look far from it and kept it out of every shortlist: it borrows the
    median of the base's articles with several texts, or `TYPICAL_PRIOR` where there are none."""
    several = counts >= 2
    borrowed = float(np.median(typical[several])) if several.any() else TYPICAL_PRIOR
    return np.where(several, typical, borrowed)


def _normalise(x: Vectors) -> Vectors:
    out: Vectors = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return out


def _centroids(units: Vectors, owners: IntArray, n: int) -> Vectors:
    sums = np.zeros((n, units.shape[1]), dtype=np.float32)
    np.add.at(sums, owners, units)
    return _normalise(sums)


def _best_per_article(sims: Vectors, owners: IntArray, n: int) -> Vectors:
    best = np.full((n, sims.shape[0]), -1.0, dtype=np.float32)
    np.maximum.at(best, owners, sims.T)
    return best.T


def _knn_votes(sims: Vectors, owners: IntArray, n: int, k: int) -> Vectors:
    """Each article gets the summed similarity of its examples among the k nearest, over k."""
    k = min(k, sims.shape[1])
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    votes = np.zeros((sims.shape[0], n), dtype=np.float32)
    rows = np.repeat(np.arange(sims.shape[0]), k)
    np.add.at(votes, (rows, owners[nearest].ravel()), np.take_along_axis(sims, nearest, 1).ravel())
    out: Vectors = votes / np.float32(k)
    return out


def _softmax(logits: FloatArray) -> FloatArray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: FloatArray = shifted / shifted.sum(axis=1, keepdims=True)
    return out


def _open_softmax(cosines: Vectors, scale: float, background: float) -> FloatArray:
    """Softmax over the articles plus a "none of these" option whose cosine is `background`."""
    logits = np.empty((cosines.shape[0], cosines.shape[1] + 1))
    logits[:, :-1] = scale * cosines
    logits[:, -1] = scale * background
    return _softmax(logits)[:, :-1]


class _Adam:
    """The optimiser of the `head` fit."""

    def __init__(self, shape: tuple[int, ...], rate: float = 0.05) -> None:
        self.rate, self.step = rate, 0
        self.m = np.zeros(shape, dtype=np.float32)
        self.v = np.zeros(shape, dtype=np.float32)

    def update(self, grad: Vectors) -> Vectors:
        self.step += 1
        self.m = 0.9 * self.m + 0.1 * grad
        self.v = 0.999 * self.v + 0.001 * grad * grad
        m_hat = self.m / (1 - 0.9**self.step)
        v_hat = self.v / (1 - 0.999**self.step)
        out: Vectors = (self.rate * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)
        return out


def _train_in_blocks(
    units: Vectors, owners: IntArray, start: Vectors, config: SemanticConfig
) -> Vectors:
    """`_train_prototypes` on groups of similar articles, each against only its own group.

    Training all articles at once costs (examples x articles) per step: 18 s for 1,000 articles
    and hours for 100,000 on one core. An article's vector only moves for the examples close to
    it, which are in its group; a base no bigger than one block trains exactly as a whole.
    """
    if len(start) <= config.block:
        return _train_prototypes(units, owners, start, config)
    trained = start.copy()
    by_owner = np.argsort(owners, kind="stable")
    bounds = np.searchsorted(owners[by_owner], np.arange(len(start) + 1))
    for group in _similar_groups(start, config.block):
        rows = np.concatenate([by_owner[bounds[a] : bounds[a + 1]] for a in group])
        local = np.searchsorted(group, owners[rows])
        trained[group] = _train_prototypes(units[rows], local, start[group], config)
    return trained


def _similar_groups(vectors: Vectors, size: int) -> list[IntArray]:
    """Indices of `vectors` in sorted groups of at most `size`, split in halves of similar ones.

    Each split is a balanced 2-means: seeds far apart, then a few rounds of giving each side
    the half of the vectors that prefers it most. Cost: (vectors x dimensions) per level.
    """
    todo = [np.arange(len(vectors))]
    groups: list[IntArray] = []
    while todo:
        indices = todo.pop()
        if len(indices) <= max(size, 1):
            groups.append(indices)
            continue
        points = vectors[indices]
        first = points[np.argmin(points @ points.mean(axis=0))]
        second = points[np.argmin(points @ first)]
        for _ in range(4):
            order = np.argsort(points @ (second - first), kind="stable")
            half = len(indices) // 2
            first = points[order[:half]].mean(axis=0)
            second = points[order[half:]].mean(axis=0)
        todo += [np.sort(indices[order[half:]]), np.sort(indices[order[:half]])]
    return groups


def _train_prototypes(
    units: Vectors, owners: IntArray, start: Vectors, config: SemanticConfig
) -> Vectors:
    """Move each article's vector so its own examples outscore the others in the scoring softmax.

    Plain gradient descent from the centroids, on the same open softmax that scores reports: once
    an article's examples are clearly its own the loss saturates and its vector stops moving, so
    on a small, well-separated base the prototypes stay the centroids and a cosine to them still
    means "this close to what the article is about". (Adam moved them at full speed regardless,
    which wrecked small bases.)
    """
    weights = start.copy()
    velocity = np.zeros_like(weights)
    targets = np.zeros((len(units), len(start)), dtype=np.float32)
    targets[np.arange(len(units)), owners] = 1.0
    for _ in range(config.steps):
        norms = np.linalg.norm(weights, axis=1, keepdims=True)
        unit_weights = weights / norms
        cosines = units @ unit_weights.T
        if config.background is None:
            probs = _softmax(config.scale * cosines)
        else:
            probs = _open_softmax(cosines, config.scale, config.background)
        grad = config.scale * (probs.astype(np.float32) - targets).T @ units / len(units)
        grad = (grad - (grad * unit_weights).sum(1, keepdims=True) * unit_weights) / norms
        velocity = MOMENTUM * velocity - np.float32(config.rate) * grad
        weights += velocity
    return _normalise(weights)


@dataclass(frozen=True)
class _Head:
    """A logistic-regression head over frozen embeddings (the `head` method)."""

    weights: Vectors
    bias: Vectors

    SCALE = 10.0
    L2 = 1e-3

    @classmethod
    def train(cls, units: Vectors, owners: IntArray, n: int, steps: int) -> _Head:
        weights = np.zeros((n, units.shape[1]), dtype=np.float32)
        bias = np.zeros(n, dtype=np.float32)
        if n < 2:
            return cls(weights, bias)
        x = units * np.float32(cls.SCALE)
        targets = np.zeros((len(units), n), dtype=np.float32)
        targets[np.arange(len(units)), owners] = 1.0
        adam_w, adam_b = _Adam(weights.shape), _Adam(bias.shape)
        for _ in range(steps):
            residual = (_softmax(x @ weights.T + bias) - targets).astype(np.float32) / len(units)
            weights -= adam_w.update(residual.T @ x + np.float32(cls.L2) * weights)
            bias -= adam_b.update(residual.sum(axis=0))
        return cls(weights, bias)

    def probabilities(self, queries: Vectors) -> FloatArray:
        return _softmax((queries * np.float32(self.SCALE)) @ self.weights.T + self.bias)


@dataclass(frozen=True)
class _Whitening:
    """Centring and within-article whitening learned on the examples; identity when off."""

    mean: Vectors | None = None
    matrix: Vectors | None = None

    @classmethod
    def fit(cls, units: Vectors, owners: IntArray, shrinkage: float | None) -> _Whitening:
        if shrinkage is None or len(units) < 2:
            return cls()
        mean = units.mean(axis=0)
        n = int(owners.max()) + 1
        sums = np.zeros((n, units.shape[1]), dtype=np.float32)
        np.add.at(sums, owners, units)
        within = units - (sums / np.bincount(owners, minlength=n)[:, None])[owners]
        values, vectors = np.linalg.eigh(within.T @ within / len(units))
        values = (1 - shrinkage) * values + shrinkage * values.mean()
        matrix = (vectors / np.sqrt(np.maximum(values, 1e-12))) @ vectors.T
        return cls(mean.astype(np.float32), np.asarray(matrix, dtype=np.float32))

    def apply(self, vectors: Vectors) -> Vectors:
        if self.mean is None or self.matrix is None:
            return vectors.astype(np.float32, copy=False)
        return _normalise(((vectors - self.mean) @ self.matrix).astype(np.float32))
