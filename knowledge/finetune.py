"""Contrastive fine-tuning of the sentence encoder on a knowledge base's own examples (build time).

Two texts of the same article (examples, and the title as one more) are pulled together and
pushed away from every other article's texts in the batch (multiple-negatives ranking loss, the
SetFit recipe's body step). The result is a model folder in the layout `load_encoder` reads, so
the numpy encoder serves it unchanged and its new weights give it a new model id (the embedding
cache never mixes vectors of two models). Needs torch (the optional `tune` extra); nothing at run
time imports this module, and nothing here downloads anything.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from knowledge.article import Article
from knowledge.errors import JethroError

WEIGHTS = "model.safetensors"
RECORD = "tune.json"


class TuneError(JethroError):
    """Tuning cannot start: no torch, not a model folder, or too few articles to pair."""


@dataclass(frozen=True)
class TuneConfig:
    """Measured on the CLINC150 10-shot task (see docs/matching.md); `frozen_layers` keeps the
    lowest layers as they are (cheaper, a little less gain); `threads` caps torch's pool."""

    epochs: float = 2.0
    rate: float = 1e-4
    articles_per_batch: int = 32
    scale: float = 20.0
    dropout: float = 0.1
    frozen_layers: int = 0
    seed: int = 0
    threads: int | None = 2


@dataclass(frozen=True)
class TuneReport:
    steps: int
    seconds: float
    first_loss: float
    last_loss: float


def tune_model(
    articles: Sequence[Article], source: Path, out: Path, config: TuneConfig | None = None
) -> TuneReport:
    """Fine-tune the model in `source` on `articles` and write the tuned model folder to `out`."""
    config = config or TuneConfig()
    torch = _import_torch()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    groups = _article_texts(articles)
    if len(groups) < 2:
        raise TuneError("tuning needs at least two articles with two texts each (examples, title)")
    model = _Model.load(torch, source, config)
    batches_per_epoch = math.ceil(sum(len(g) // 2 for g in groups) / config.articles_per_batch)
    total = max(1, round(batches_per_epoch * config.epochs))
    optimiser = torch.optim.AdamW(model.trainable(), lr=config.rate, weight_decay=0.01)
    warm = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(total - warm, 1)))
    )
    rng = random.Random(config.seed)
    losses: list[float] = []
    start = time.perf_counter()
    while len(losses) < total:
        for anchors, positives in _pair_batches(groups, config.articles_per_batch, rng):
            if len(losses) >= total:
                break
            loss = model.ranking_loss(anchors, positives, config.scale)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.item()))
    report = TuneReport(
        len(losses), time.perf_counter() - start, _mean(losses[:5]), _mean(losses[-5:])
    )
    model.save(source, out, {"config": asdict(config), "articles": len(articles), **asdict(report)})
    return report


def _import_torch() -> Any:
    try:
        import torch  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise TuneError(
            "tuning the encoder needs torch (CPU build): pip install 'jethro[tune]'"
        ) from exc
    return torch


def _article_texts(articles: Sequence[Article]) -> list[list[str]]:
    """Per article, its distinct non-empty texts; an article with fewer than two forms no pair."""
    groups = []
    for article in articles:
        texts = list(dict.fromkeys(t for t in (*article.examples, article.title) if t.strip()))
        if len(texts) >= 2:
            groups.append(texts)
    return groups


def _pair_batches(
    groups: list[list[str]], size: int, rng: random.Random
) -> list[tuple[list[str], list[str]]]:
    """One epoch of (anchors, positives): each text used once, no article twice in a batch (a
    second pair of the same article would count as a false negative)."""
    rounds: list[list[tuple[str, str]]] = []
    for texts in groups:
        shuffled = rng.sample(texts, len(texts))
        pairs = list(zip(shuffled[0::2], shuffled[1::2], strict=False))
        for i, pair in enumerate(pairs):
            if len(rounds) <= i:
                rounds.append([])
            rounds[i].append(pair)
    batches = []
    for pairs in rounds:
        rng.shuffle(pairs)
        for s in range(0, len(pairs), size):
            chunk = pairs[s : s + size]
            if len(chunk) >= 2:
                batches.append(([a for a, _ in chunk], [p for _, p in chunk]))
    rng.shuffle(batches)
    return batches


def _mean(values: list[float]) -> float:
    return sum(values) / max(len(values), 1)


class _Model:
    """BERT as a dict of named tensors (the safetensors names), run functionally: what is trained
    is exactly what is saved, and the forward pass matches `knowledge.embedding.BertEncoder`."""

    def __init__(
        self,
        torch: Any,
        weights: dict[str, Any],
        config: dict[str, Any],
        tokenizer: Any,
        tune: TuneConfig,
    ) -> None:
        self.torch = torch
        self.weights = weights
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = tokenizer
        self.tune = tune
        for name in self._trainable_names():
            weights[name].requires_grad_(True)

    @classmethod
    def load(cls, torch: Any, source: Path, tune: TuneConfig) -> _Model:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        missing = [
            n for n in ("config.json", "tokenizer.json", WEIGHTS) if not (source / n).is_file()
        ]
        if missing:
            raise TuneError(
                f"{source}: not a sentence-embedding model folder (missing {', '.join(missing)})"
            )
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
        if not 0 <= tune.frozen_layers <= int(config["num_hidden_layers"]):
            raise TuneError(
                f"frozen_layers={tune.frozen_layers}: the model has "
                f"{config['num_hidden_layers']} layers"
            )
        tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=128)
        weights = {
            k: v.float() if v.is_floating_point() else v
            for k, v in load_file(str(source / WEIGHTS)).items()
        }
        return cls(torch, weights, config, tokenizer, tune)

    def _trainable_names(self) -> list[str]:
        """Every float tensor above the frozen layers (the embeddings count as below layer 0)."""
        frozen = self.tune.frozen_layers
        trained = tuple(f"encoder.layer.{i}." for i in range(frozen, self.layers))
        if frozen == 0:
            trained += ("embeddings.",)
        return [
            name
            for name, tensor in self.weights.items()
            if name.startswith(trained) and tensor.is_floating_point()
        ]

    def trainable(self) -> list[Any]:
        return [self.weights[name] for name in self._trainable_names()]

    def ranking_loss(self, anchors: list[str], positives: list[str], scale: float) -> Any:
        functional = self.torch.nn.functional
        vectors = self.encode(anchors + positives)
        a, p = vectors[: len(anchors)], vectors[len(anchors) :]
        logits = scale * a @ p.T
        target = self.torch.arange(len(anchors))
        both = functional.cross_entropy(logits, target) + functional.cross_entropy(logits.T, target)
        return both / 2

    def encode(self, texts: list[str]) -> Any:
        torch, w = self.torch, self.weights
        rows = [e.ids for e in self.tokenizer.encode_batch(texts)]
        width = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1.0
        bias = ((1.0 - mask) * torch.finfo(torch.float32).min)[:, None, None, :]
        with torch.set_grad_enabled(self.tune.frozen_layers == 0 and torch.is_grad_enabled()):
            x = w["embeddings.word_embeddings.weight"][ids]
            x = x + w["embeddings.position_embeddings.weight"][:width]
            x = x + w["embeddings.token_type_embeddings.weight"][0]
            x = self._norm(x, "embeddings.LayerNorm")
            x = self._dropout(x, trainable=self.tune.frozen_layers == 0)
            for i in range(self.layers):
                with torch.set_grad_enabled(i >= self.tune.frozen_layers):
                    x = self._block(x, bias, f"encoder.layer.{i}.", i >= self.tune.frozen_layers)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def _block(self, x: Any, bias: Any, prefix: str, trainable: bool) -> Any:
        batch, width, hidden = x.shape
        head = hidden // self.heads

        def heads(name: str) -> Any:
            y = self._linear(x, prefix + "attention.self." + name)
            return y.view(batch, width, self.heads, head).transpose(1, 2)

        scores = heads("query") @ heads("key").transpose(-1, -2) / math.sqrt(head) + bias
        attention = self._dropout(scores.softmax(-1), trainable)
        context = (attention @ heads("value")).transpose(1, 2).reshape(batch, width, hidden)
        attended = self._dropout(
            self._linear(context, prefix + "attention.output.dense"), trainable
        )
        x = self._norm(x + attended, prefix + "attention.output.LayerNorm")
        up = self.torch.nn.functional.gelu(self._linear(x, prefix + "intermediate.dense"))
        down = self._dropout(self._linear(up, prefix + "output.dense"), trainable)
        return self._norm(x + down, prefix + "output.LayerNorm")

    def _linear(self, x: Any, name: str) -> Any:
        return self.torch.nn.functional.linear(
            x, self.weights[name + ".weight"], self.weights[name + ".bias"]
        )

    def _norm(self, x: Any, name: str) -> Any:
        w = self.weights
        return self.torch.nn.functional.layer_norm(
            x, (x.shape[-1],), w[name + ".weight"], w[name + ".bias"], self.eps
        )

    def _dropout(self, x: Any, trainable: bool) -> Any:
        if not trainable or not self.tune.dropout:
            return x
        return self.torch.nn.functional.dropout(x, self.tune.dropout, True)

    def save(self, source: Path, out: Path, record: dict[str, Any]) -> None:
        """Copy the folder's other files (tokenizer, config, pooling) and write the new weights."""
        from safetensors.torch import save_file

        out.mkdir(parents=True, exist_ok=True)
        for item in source.iterdir():
            if item.name in (WEIGHTS, RECORD):
                continue
            if item.is_dir():
                shutil.copytree(item, out / item.name, dirs_exist_ok=True)
            else:
                shutil.copy2(item, out / item.name)
        tensors = {k: v.detach().contiguous() for k, v in self.weights.items()}
        save_file(tensors, str(out / WEIGHTS))
        (out / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
