"""Choosing and building the matcher a deployment uses, and the thresholds measured for it.

`auto` prefers the semantic matcher when its optional extra and a model are present, and falls
back to the lexical one (logged) so a light install still works. The encoder is loaded once per
process and shared by every rebuild after a knowledge-base reload.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from knowledge.batching import BatchingEncoder
from knowledge.embedding import BertEncoder, EmbeddingModelError, load_encoder
from knowledge.embedding_cache import EmbeddingCache, TunedLayersStore
from knowledge.index import LexicalMatcher, Matcher
from knowledge.layer_tuning import EncoderTuner, TuneConfig
from knowledge.learning import LearningMatcher, Lessons
from knowledge.loader import KnowledgeBase
from knowledge.semantic import SemanticMatcher
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


def measured_policy(matcher: Matcher) -> TriagePolicy:
    return POLICIES.get(matcher.name, TriagePolicy())


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
    lessons: Lessons | None = None

    def __post_init__(self) -> None:
        self._encoder: BertEncoder | None = None
        self._tuner: EncoderTuner | None = None
        self._semantic_failed: str | None = None
        self._lock = threading.Lock()

    def __call__(self, kb: KnowledgeBase) -> Matcher:
        matcher = self._build(kb)
        return matcher if self.lessons is None else LearningMatcher(matcher, self.lessons)

    def _build(self, kb: KnowledgeBase) -> Matcher:
        encoder = self.encoder()
        if encoder is None:
            return LexicalMatcher(kb.articles)
        cache = EmbeddingCache(self.cache_dir) if self.cache_dir else None
        if self.tune is not None:
            with self._lock:
                if self._tuner is None:
                    store = TunedLayersStore(self.cache_dir) if self.cache_dir else None
                    self._tuner = EncoderTuner(encoder, store, self.tune)
                encoder = self._tuner.encoder_for(kb.articles)
        return SemanticMatcher(kb.articles, BatchingEncoder(encoder), cache)

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
    lessons: Lessons | None = None,
) -> MatcherFactory:
    tuning = TuneConfig() if tune else None
    return MatcherFactory(MatcherChoice(choice), model_path, cache_dir, tuning, precision, lessons)
