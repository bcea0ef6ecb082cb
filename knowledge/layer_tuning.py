"""Fine-tuning the top transformer layers of the sentence encoder on a base's own examples, in
numpy, at build time.

Frozen MiniLM embeddings top out at about 0.87 top-1 on the CLINC150 10-shot task; fine-tuning the
whole encoder (torch, `knowledge/finetune.py`) reached 0.90 but would put a multi-GB wheel in the
default install. Tuning only the top layers needs no autograd: the hidden states entering them
are computed once per text, and each training step runs those layers (and mean pooling) forward
and backward by hand over a batch of examples. The loss is the matcher's own: each example's
cosine to every article's centroid, scaled, in a softmax whose target is its article.

`EncoderTuner` decides when to tune (and when an earlier tuning can be reused) and builds the
tuned encoder; the only I/O is through the `TunedLayersStore` it is given.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt

from knowledge.article import Article
from knowledge.embedding import BertEncoder, LayerWeights, Vectors, erf
from knowledge.embedding_cache import TunedLayersStore

log = logging.getLogger(__name__)

Array = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.int64]

PARAMETERS = tuple(f.name for f in fields(LayerWeights))


@dataclass(frozen=True)
class TuneConfig:
    """How the top layers are tuned; the defaults are the measured winner (docs/matching.md).

    `layers`: how many of the top layers are trained. `epochs` over the base's texts in batches of
    `batch`, Adam at `rate`, with `decay` pulling the weights back towards the originals (0: off;
    measured alternatives are in bench/layer_tuning_study.py). `scale`: of the cosines in the
    softmax. `learn_prototypes`: the article centroids (of the untuned embeddings) move too, at
    `prototype_rate`; otherwise they stay put and only the encoder learns to map examples onto
    them, which generalised better. `token_dropout`: share of each text's word tokens hidden on
    each step, an augmentation that keeps the confidence from sharpening.
    """

    layers: int = 2
    epochs: int = 4
    batch: int = 64
    rate: float = 1e-4
    decay: float = 0.0
    scale: float = 20.0
    learn_prototypes: bool = False
    prototype_rate: float = 1e-2
    token_dropout: float = 0.1
    seed: int = 0

    def key(self) -> str:
        """Names the configuration in cache keys: other settings, other weights."""
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


@dataclass(frozen=True)
class TuneReport:
    steps: int
    seconds: float
    first_loss: float
    last_loss: float


@dataclass
class _Tape:
    """What one layer's forward pass keeps for its backward pass."""

    x: Array
    q: Array
    k: Array
    v: Array
    prob: Array
    context: Array
    xhat1: Array
    inv1: Array
    x1: Array
    up: Array
    cdf: Array
    act: Array
    xhat2: Array
    inv2: Array


@dataclass(frozen=True)
class Stack:
    """Layers applied in order to padded hidden states, with their attention geometry."""

    layers: tuple[LayerWeights, ...]
    heads: int
    eps: float

    def embed(self, x: Array, mask: Array) -> Array:
        """L2-normalised mean-pooled output for (batch, width, hidden) inputs."""
        return self.forward(x, mask)[0]

    def forward(self, x: Array, mask: Array) -> tuple[Array, list[_Tape], Array, Array]:
        batch, width, hidden = x.shape
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :].astype(x.dtype)
        flat = x.reshape(batch * width, hidden)
        tapes = []
        for p in self.layers:
            flat, tape = _layer_forward(p, flat, bias, self.heads, self.eps)
            tapes.append(tape)
        hidden_out = flat.reshape(batch, width, hidden)
        counts = np.maximum(mask.sum(axis=1), 1.0)[:, None]
        pooled = (hidden_out * mask[:, :, None]).sum(axis=1) / counts
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled / norms, tapes, pooled, norms

    def backward(
        self, d_embedded: Array, tapes: list[_Tape], mask: Array, pooled: Array, norms: Array
    ) -> list[dict[str, Array]]:
        """Gradients of every layer's parameters, given the loss gradient of the embeddings."""
        unit = pooled / norms
        d_pooled = (d_embedded - unit * (unit * d_embedded).sum(1, keepdims=True)) / norms
        counts = np.maximum(mask.sum(axis=1), 1.0)[:, None]
        d_hidden = mask[:, :, None] * (d_pooled / counts)[:, None, :]
        batch, width, hidden = d_hidden.shape
        d = d_hidden.reshape(batch * width, hidden)
        grads: list[dict[str, Array]] = []
        for p, tape in zip(reversed(self.layers), reversed(tapes), strict=True):
            d, grad = _layer_backward(p, tape, d, batch, self.heads)
            grads.append(grad)
        return grads[::-1]


def _layer_norm(x: Array, gain: Array, bias: Array, eps: float) -> tuple[Array, Array, Array]:
    centred = x - x.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    xhat = centred * inv
    return xhat * gain + bias, xhat, inv


def _layer_norm_backward(dy: Array, xhat: Array, inv: Array, gain: Array) -> Array:
    dxhat = dy * gain
    out: Array = inv * (
        dxhat - dxhat.mean(-1, keepdims=True) - xhat * (dxhat * xhat).mean(-1, keepdims=True)
    )
    return out


def _normal_cdf(x: Array) -> Array:
    out: Array = 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    return out


def _gelu_slope(x: Array, cdf: Array) -> Array:
    out: Array = cdf + x * np.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
    return out


def _layer_forward(
    p: LayerWeights, x: Array, bias: Array, heads: int, eps: float
) -> tuple[Array, _Tape]:
    batch, width = bias.shape[0], bias.shape[-1]
    hidden = x.shape[1]
    head = hidden // heads
    qkv = (x @ p.qkv_w + p.qkv_b).reshape(batch, width, 3, heads, head)
    q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
    scores = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(head)) + bias
    scores -= scores.max(axis=-1, keepdims=True)
    prob = np.exp(scores)
    prob /= prob.sum(axis=-1, keepdims=True)
    context = (prob @ v).transpose(0, 2, 1, 3).reshape(batch * width, hidden)
    x1, xhat1, inv1 = _layer_norm(context @ p.out_w + p.out_b + x, p.ln1_g, p.ln1_b, eps)
    up = x1 @ p.up_w + p.up_b
    cdf = _normal_cdf(up)
    act = up * cdf
    out, xhat2, inv2 = _layer_norm(act @ p.down_w + p.down_b + x1, p.ln2_g, p.ln2_b, eps)
    return out, _Tape(x, q, k, v, prob, context, xhat1, inv1, x1, up, cdf, act, xhat2, inv2)


def _layer_backward(
    p: LayerWeights, t: _Tape, d_out: Array, batch: int, heads: int
) -> tuple[Array, dict[str, Array]]:
    """The gradient of the layer's input, and of each of its parameters."""
    g: dict[str, Array] = {}
    g["ln2_g"] = (d_out * t.xhat2).sum(0)
    g["ln2_b"] = d_out.sum(0)
    d_sum2 = _layer_norm_backward(d_out, t.xhat2, t.inv2, p.ln2_g)
    g["down_w"] = t.act.T @ d_sum2
    g["down_b"] = d_sum2.sum(0)
    d_up = (d_sum2 @ p.down_w.T) * _gelu_slope(t.up, t.cdf)
    g["up_w"] = t.x1.T @ d_up
    g["up_b"] = d_up.sum(0)
    d_x1 = d_sum2 + d_up @ p.up_w.T
    g["ln1_g"] = (d_x1 * t.xhat1).sum(0)
    g["ln1_b"] = d_x1.sum(0)
    d_sum1 = _layer_norm_backward(d_x1, t.xhat1, t.inv1, p.ln1_g)
    g["out_w"] = t.context.T @ d_sum1
    g["out_b"] = d_sum1.sum(0)
    hidden = d_sum1.shape[1]
    head = hidden // heads
    width = d_sum1.shape[0] // batch
    d_context = d_sum1 @ p.out_w.T
    d_context = d_context.reshape(batch, width, heads, head).transpose(0, 2, 1, 3)
    d_prob = d_context @ t.v.transpose(0, 1, 3, 2)
    d_v = t.prob.transpose(0, 1, 3, 2) @ d_context
    d_scores = t.prob * (d_prob - (d_prob * t.prob).sum(-1, keepdims=True))
    d_scores *= 1.0 / math.sqrt(head)
    d_q = d_scores @ t.k
    d_k = d_scores.transpose(0, 1, 3, 2) @ t.q
    d_qkv = np.stack([d_q, d_k, d_v], axis=2)  # (batch, heads, 3, width, head)
    d_qkv = d_qkv.transpose(0, 3, 2, 1, 4).reshape(batch * width, 3 * hidden)
    g["qkv_w"] = t.x.T @ d_qkv
    g["qkv_b"] = d_qkv.sum(0)
    return d_sum1 + d_qkv @ p.qkv_w.T, g


def pad(states: Sequence[Array], dtype: type = np.float32) -> tuple[Array, Array]:
    """Ragged (tokens x hidden) states as a (batch, width, hidden) array and its token mask."""
    width = max(len(s) for s in states)
    x: Array = np.zeros((len(states), width, states[0].shape[1]), dtype=dtype)
    mask: Array = np.zeros((len(states), width), dtype=dtype)
    for i, s in enumerate(states):
        x[i, : len(s)] = s
        mask[i, : len(s)] = 1.0
    return x, mask


def embed_states(stack: Stack, states: Sequence[Array], batch: int = 64) -> Vectors:
    """Embeddings of many texts' hidden states, batched by length so padding stays short."""
    out = np.zeros((len(states), stack.layers[0].qkv_w.shape[0]), dtype=np.float32)
    order = np.argsort([len(s) for s in states], kind="stable")
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        out[chunk] = stack.embed(*pad([states[i] for i in chunk]))
    return out


def prototype_loss(
    embedded: Array, owners: IntArray, prototypes: Array, scale: float
) -> tuple[float, Array, Array]:
    """Cross-entropy of each text's scaled cosines to the (normalised) prototypes, with the
    gradients of the embeddings and of the raw prototypes."""
    lengths = np.maximum(np.linalg.norm(prototypes, axis=1, keepdims=True), 1e-12)
    unit = prototypes / lengths
    logits = scale * embedded @ unit.T
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    rows = np.arange(len(owners))
    loss = float(-np.log(np.maximum(probs[rows, owners], 1e-30)).mean())
    d_logits = probs
    d_logits[rows, owners] -= 1.0
    d_logits *= scale / len(owners)
    d_embedded = d_logits @ unit
    d_unit = d_logits.T @ embedded
    d_prototypes = (d_unit - unit * (unit * d_unit).sum(1, keepdims=True)) / lengths
    return loss, d_embedded, d_prototypes


class _Adam:
    def __init__(self, value: Array, rate: float) -> None:
        self.rate, self.step = rate, 0
        self.m = np.zeros_like(value)
        self.v = np.zeros_like(value)

    def update(self, value: Array, grad: Array) -> None:
        self.step += 1
        self.m *= 0.9
        self.m += 0.1 * grad
        self.v *= 0.999
        self.v += 0.001 * grad * grad
        m_hat = self.m / (1 - 0.9**self.step)
        v_hat = self.v / (1 - 0.999**self.step)
        value -= (self.rate * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(value.dtype)


def tune_layers(
    stack: Stack, states: Sequence[Vectors], owners: IntArray, config: TuneConfig
) -> tuple[Stack, TuneReport]:
    """`stack` trained so each text's embedding is closest to its own article's prototype.

    `states[i]` are the hidden states of text i entering the stack, `owners[i]` its article.
    Deterministic for a given seed (one BLAS thread).
    """
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    originals = [{n: getattr(p, n) for n in PARAMETERS} for p in stack.layers]
    params = [{n: v.copy() for n, v in layer.items()} for layer in originals]
    tuned = _with_params(stack, params)
    n_articles = int(owners.max()) + 1
    base = embed_states(stack, states)
    prototypes = np.zeros((n_articles, base.shape[1]), dtype=np.float32)
    np.add.at(prototypes, owners, base)
    prototypes /= np.maximum(np.linalg.norm(prototypes, axis=1, keepdims=True), 1e-12)
    optimisers = [{n: _Adam(v, config.rate) for n, v in layer.items()} for layer in params]
    proto_optimiser = _Adam(prototypes, config.prototype_rate)
    lengths = np.array([len(s) for s in states], dtype=np.float64)
    losses: list[float] = []
    for _ in range(config.epochs):
        for chunk in _batches(lengths, config.batch, rng):
            x, mask = pad([states[i] for i in chunk])
            if config.token_dropout:
                mask = _drop_tokens(mask, config.token_dropout, rng)
            embedded, tapes, pooled, norms = tuned.forward(x, mask)
            loss, d_emb, d_proto = prototype_loss(embedded, owners[chunk], prototypes, config.scale)
            grads = tuned.backward(d_emb, tapes, mask, pooled, norms)
            for layer, grad, opt, orig in zip(params, grads, optimisers, originals, strict=True):
                for name, value in layer.items():
                    step = grad[name]
                    if config.decay:
                        step = step + config.decay * (value - orig[name])
                    opt[name].update(value, step.astype(np.float32))
            if config.learn_prototypes:
                proto_optimiser.update(prototypes, d_proto.astype(np.float32))
            losses.append(loss)
    seconds = time.perf_counter() - start
    report = TuneReport(
        len(losses), seconds, float(np.mean(losses[:5])), float(np.mean(losses[-5:]))
    )
    return tuned, report


def _with_params(stack: Stack, params: list[dict[str, Vectors]]) -> Stack:
    layers = tuple(replace(p, **values) for p, values in zip(stack.layers, params, strict=True))
    return replace(stack, layers=layers)


def _batches(
    lengths: npt.NDArray[np.float64], size: int, rng: np.random.Generator
) -> list[IntArray]:
    """Batches of similar length (little padding), in random order, different every epoch."""
    order = np.argsort(lengths + rng.uniform(0, 3, len(lengths)), kind="stable")
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    return [chunks[i] for i in rng.permutation(len(chunks))]


def _drop_tokens(mask: Array, share: float, rng: np.random.Generator) -> Array:
    """Hide a random `share` of each text's word tokens (never [CLS], [SEP] or all of them)."""
    dropped = mask.copy()
    lengths = mask.sum(axis=1).astype(np.int64)
    hide = rng.random(mask.shape) < share
    for i, n in enumerate(lengths):
        inner = hide[i, 1 : n - 1]
        if n > 3 and not inner.all():
            dropped[i, 1 : n - 1][inner] = 0.0
    return dropped


class EncoderTuner:
    """The encoder a base is matched with: the base encoder with its top layers tuned on the
    base's examples, loaded from `store` when these examples were tuned before.

    A knowledge-base reload after an edit must stay fast, so the last tuned weights are kept
    (in memory, and through `store` across restarts) and reused while at most `retune_share` of
    the (article, text) pairs differ from those they were tuned on; past that, or for another
    base, they are tuned again. Bases outside `min_articles`..`max_texts` are not tuned at all:
    too few articles to learn from, or too many examples to train in seconds.
    """

    def __init__(
        self,
        encoder: BertEncoder,
        store: TunedLayersStore | None = None,
        config: TuneConfig | None = None,
        limits: TuneLimits | None = None,
    ) -> None:
        self.encoder = encoder
        self.store = store
        self.config = config or TuneConfig()
        self.limits = limits or TuneLimits()
        self.trained = 0  # how many times weights were trained, for logs and tests
        self._last: tuple[frozenset[str], BertEncoder] | None = None

    def encoder_for(self, articles: Sequence[Article]) -> BertEncoder:
        texts, owners = training_texts(articles)
        n_articles = len(set(owners))
        if n_articles < self.limits.min_articles or len(texts) > self.limits.max_texts:
            return self.encoder
        pairs = sorted(_pair_hash(articles[o].id, t) for t, o in zip(texts, owners, strict=True))
        tuned = self._reuse(frozenset(pairs))
        if tuned is None:
            key = self._key(pairs)
            tuned = self._load(key) or self._train(texts, np.array(owners), key, pairs)
            self._last = (frozenset(pairs), tuned)
        return tuned

    def _lineage(self) -> str:
        """What weights must share to stand in for each other: the model and the settings."""
        return f"{self.encoder.model_id}\0{self.config.key()}"

    def _key(self, pairs: list[str]) -> str:
        digest = hashlib.sha256(self._lineage().encode())
        for pair in pairs:
            digest.update(pair.encode())
        return digest.hexdigest()[:32]

    def _load(self, key: str) -> BertEncoder | None:
        arrays = self.store.load(key) if self.store else None
        if arrays is None:
            return None
        try:
            return self._assemble(arrays, key)
        except (KeyError, ValueError) as exc:
            log.warning("tuned weights %s do not fit this model, tuning again (%s)", key, exc)
            return None

    def _reuse(self, pairs: frozenset[str]) -> BertEncoder | None:
        """The last tuned encoder (in memory, else the last one saved) if it was tuned on these
        examples or nearly: the pairs it remembers are those it was tuned on, so edits that
        add up past `retune_share` do retrain."""
        limit = self.limits.retune_share
        if self._last is not None and changed_share(self._last[0], pairs) <= limit:
            return self._last[1]
        latest = self.store.latest(self._lineage()) if self.store else None
        if latest is None or changed_share(frozenset(latest[1]), pairs) > limit:
            return None
        loaded = self._load(latest[0])
        if loaded is not None:
            self._last = (frozenset(latest[1]), loaded)
        return loaded

    def _train(self, texts: list[str], owners: IntArray, key: str, pairs: list[str]) -> BertEncoder:
        first = len(self.encoder.layers) - self.config.layers
        stack = Stack(self.encoder.layers[first:], self.encoder.heads, self.encoder.eps)
        with _one_blas_thread():
            states = self.encoder.token_states(texts, first)
            stack, report = tune_layers(stack, states, owners, self.config)
        self.trained += 1
        log.info(
            "tuned the top %d layer(s) on %d texts in %.1f s (loss %.3f -> %.3f)",
            self.config.layers,
            len(texts),
            report.seconds,
            report.first_loss,
            report.last_loss,
        )
        arrays = {
            f"{i}.{name}": getattr(layer, name)
            for i, layer in enumerate(stack.layers)
            for name in PARAMETERS
        }
        if self.store is not None:
            self.store.save(key, arrays, self._lineage(), pairs)
        return self._assemble(arrays, key)

    def _assemble(self, arrays: dict[str, Vectors], key: str) -> BertEncoder:
        first = len(self.encoder.layers) - self.config.layers
        layers = []
        for i, original in enumerate(self.encoder.layers[first:]):
            values = {name: arrays[f"{i}.{name}"] for name in PARAMETERS}
            for name, value in values.items():
                if value.shape != getattr(original, name).shape:
                    raise ValueError(f"{name} has shape {value.shape}")
            layers.append(replace(original, **values))
        model_id = f"{self.encoder.model_id}+top{self.config.layers}-{key[:16]}"
        return self.encoder.with_top_layers(layers, model_id)


@dataclass(frozen=True)
class TuneLimits:
    """Which bases are tuned, and when an edited base is tuned again (see `EncoderTuner`)."""

    min_articles: int = 10
    max_texts: int = 5_000
    retune_share: float = 0.1


def training_texts(articles: Sequence[Article]) -> tuple[list[str], list[int]]:
    """Each article's examples and title with its index: the texts the matcher embeds."""
    texts: list[str] = []
    owners: list[int] = []
    for i, article in enumerate(articles):
        own = [t for t in (*article.examples, article.title) if t.strip()] or [article.title]
        texts += own
        owners += [i] * len(own)
    return texts, owners


def _pair_hash(article_id: str, text: str) -> str:
    return hashlib.sha256(f"{article_id}\0{text}".encode()).hexdigest()[:16]


def changed_share(tuned_on: AbstractSet[str], now: AbstractSet[str]) -> float:
    """Share of the base's (article, text) pairs changed since tuning: a reworded example is one
    change, and so is an added or a removed one."""
    return max(len(tuned_on - now), len(now - tuned_on)) / max(len(now), 1)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Training on one BLAS thread: deterministic, and fair to a web server on a small host."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
