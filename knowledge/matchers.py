"""Choosing and building the matcher a deployment uses, and the thresholds measured for it.

`auto` prefers the semantic matcher when its optional extra and a model are present, and falls
back to the lexical one (logged) so a light install still works. The encoder is loaded once per
process and shared by every rebuild after a knowledge-base reload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import numpy as np

from knowledge.article import Article
from knowledge.batching import BatchingEncoder
from knowledge.calibration import PRIOR, Calibrator, Thresholds
from knowledge.embedding import BertEncoder, EmbeddingModelError, Encoder, Vectors, load_encoder
from knowledge.embedding_cache import EmbeddingCache, TunedLayersStore
from knowledge.index import LexicalMatcher, Matcher
from knowledge.layer_tuning import EncoderTuner, TuneConfig, training_texts
from knowledge.learning import LearningMatcher, Lessons
from knowledge.loader import KnowledgeBase
from knowledge.semantic import SemanticConfig, SemanticMatcher
from knowledge.triage import TriagePolicy

log = logging.getLogger(__name__)


class MatcherChoice(StrEnum):
    AUTO = "auto"
    LEXICAL = "lexical"
    SEMANTIC = "semantic"


# Thresholds on each matcher's calibrated confidence, chosen on CLINC150 val (oos reweighted to a
# 20% share, and with a fifth of the intents held out); see docs/matching.md for the commands.
# The semantic suggest threshold is on its own shortlist estimate; `action: escalate` articles keep
# routing at the 0.80 of the article confidence measured before that estimate existed.
POLICIES: dict[str, TriagePolicy] = {
    LexicalMatcher.name: TriagePolicy(answer_threshold=0.97, suggest_threshold=0.85),
    SemanticMatcher.name: TriagePolicy(
        answer_threshold=0.97, suggest_threshold=0.90, escalate_threshold=0.80
    ),
}


def prior_policy(matcher: Matcher) -> TriagePolicy:
    """The thresholds shipped for this kind of matcher, measured on CLINC150."""
    return POLICIES.get(matcher.name, TriagePolicy())


def calibrated(matcher: Matcher) -> Thresholds | None:
    """The thresholds `MatcherFactory` calibrated this matcher's base with, if it did."""
    found = getattr(matcher, "calibrated", None)
    return found if isinstance(found, Thresholds) else None


def measured_policy(matcher: Matcher) -> TriagePolicy:
    """The prior, with the answer and suggest thresholds calibrated on the base where they were."""
    prior = prior_policy(matcher)
    found = calibrated(matcher)
    if found is None or found.source == PRIOR:
        return prior
    return replace(prior, answer_threshold=found.answer, suggest_threshold=found.suggest)


@dataclass
class MatcherFactory:
    """Builds a matcher for a knowledge base; `choice` and the model are fixed at start-up.

    The semantic matcher's encoder has its top layer tuned on each base's examples (`tune`;
    None: never), by one `EncoderTuner` that lives as long as the factory, so reloads reuse it.
    With `lessons`, every matcher it builds is a `LearningMatcher` over them, so what was learned
    outlives a reload of the base.
    """

    choice: MatcherChoice = MatcherChoice.AUTO
    model_path: Path | None = None
    cache_dir: Path | None = None
    tune: TuneConfig | None = field(default_factory=TuneConfig)
    precision: str = "int8"
    target_precision: float = 0.95
    lessons: Lessons | None = None

    def __post_init__(self) -> None:
        self._calibrator = Calibrator(self.cache_dir, self.target_precision)
        self._encoder: BertEncoder | None = None
        self._tuner: EncoderTuner | None = None
        self._semantic_failed: str | None = None
        self._lock = threading.Lock()

    def __call__(self, kb: KnowledgeBase) -> Matcher:
        """The matcher for `kb`, its thresholds calibrated on `kb` (`calibrated`), wrapped to
        apply what was learned when the factory has `lessons`."""
        matcher = self._build(kb)
        if self.lessons is None:
            return matcher
        return LearningMatcher(matcher, self.lessons, target_precision=self.target_precision)

    def _build(self, kb: KnowledgeBase) -> Matcher:
        encoder = self.encoder()
        if encoder is None:
            lexical = LexicalMatcher(kb.articles)
            lexical.calibrated = self._calibrator.thresholds(
                kb.articles, f"lexical\0{lexical.config!r}", LexicalMatcher, prior_policy(lexical)
            )
            return lexical
        cache = EmbeddingCache(self.cache_dir) if self.cache_dir else None
        untuned = encoder
        if self.tune is not None:
            with self._lock:
                if self._tuner is None:
                    store = TunedLayersStore(self.cache_dir) if self.cache_dir else None
                    self._tuner = EncoderTuner(encoder, store, self.tune)
                encoder = self._tuner.encoder_for(kb.articles)
        semantic = SemanticMatcher(kb.articles, BatchingEncoder(encoder), cache)
        with self._lock:
            semantic.calibrated = self._calibrator.thresholds(
                kb.articles,
                f"semantic\0{encoder.model_id}\0{untuned.model_id}\0{semantic.config!r}",
                _held_out_builder(kb.articles, untuned, cache, semantic.config),
                prior_policy(semantic),
            )
        return semantic

    @property
    def unavailable(self) -> str | None:
        """Why `auto` fell back to the lexical matcher (after `encoder`), or None."""
        return self._semantic_failed

    def encoder(self) -> BertEncoder | None:
        """The shared encoder, or None for the lexical matcher (raises if semantic was required)."""
        if self.choice is MatcherChoice.LEXICAL:
            return None
        with self._lock:
            if self._encoder is None and self._semantic_failed is None:
                try:
                    self._encoder = load_encoder(self.model_path, precision=self.precision)
                    log.info(
                        "semantic matcher: model %s on %s",
                        self._encoder.model_id,
                        self._encoder.runtime,
                    )
                except EmbeddingModelError as exc:
                    # A model named on purpose must load; only `auto` with no model falls back.
                    if self.choice is MatcherChoice.SEMANTIC or self.model_path is not None:
                        raise
                    self._semantic_failed = str(exc)
                    log.info("semantic matcher unavailable, using the lexical one: %s", exc)
            return self._encoder


def matcher_factory(
    choice: str,
    model_path: Path | None,
    cache_dir: Path | None,
    *,
    tune: bool = True,
    precision: str = "int8",
    target_precision: float = 0.95,
    lessons: Lessons | None = None,
) -> MatcherFactory:
    tuning = TuneConfig() if tune else None
    return MatcherFactory(
        MatcherChoice(choice), model_path, cache_dir, tuning, precision, target_precision, lessons
    )


def _held_out_builder(
    articles: Sequence[Article],
    encoder: BertEncoder,
    cache: EmbeddingCache | None,
    config: SemanticConfig,
) -> Callable[[Sequence[Article]], Matcher]:
    """Builds semantic matchers on parts of `articles` for the calibration, from the vectors
    the whole base's matcher already has (cached), so no text is encoded twice."""
    known = _KnownTexts(encoder, articles, cache)
    return lambda part: SemanticMatcher(part, known, None, config)


class _KnownTexts:
    """An encoder that answers the base's own texts from memory and encodes only others."""

    def __init__(
        self, encoder: Encoder, articles: Sequence[Article], cache: EmbeddingCache | None
    ) -> None:
        self.encoder = encoder
        self.model_id = encoder.model_id
        self.dim = encoder.dim
        texts = list(dict.fromkeys(training_texts(articles)[0]))
        vectors = cache.embed(encoder, texts) if cache else encoder.encode(texts)
        self._vectors = dict(zip(texts, vectors, strict=True))

    def encode(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in texts if t not in self._vectors]
        fresh = dict(zip(missing, self.encoder.encode(missing), strict=True)) if missing else {}
        rows = [self._vectors.get(t, fresh.get(t)) for t in texts]
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
