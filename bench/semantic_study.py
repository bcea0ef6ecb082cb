"""Compare semantic matching variants on the CLINC150 few-shot task, to choose `SemanticMatcher`.

    python3 ../shared/tools/dataset_to_kb.py ../shared/datasets/clinc150 /tmp/clinc --k 10
    .venv/bin/python bench/semantic_study.py /tmp/clinc [--fit] [--cache /tmp/jethro-emb]
    .venv/bin/python bench/semantic_study.py --latency   # BLAS threads under concurrent load

For each variant: top-1 accuracy on val and test, then a logistic confidence on (top score, gap to
the next article) fitted on val with oos reweighted to a 20% share (val has 3%, test 18%), the
lowest answer threshold whose reweighted val precision reaches 0.95 (and oos recall 0.95), and what
that threshold gives on test: answered precision, deflection (in-scope answered right / in-scope),
oos recall. Also: the same calibration and threshold applied to 20 random 5-article bases cut from
the same data (every other query is then out of scope), which shows whether a score stays
meaningful when the base is small; build seconds, p50/p99 ms per query (encode + rank +
confidence), encoder load seconds and peak RSS. Test is reported, never tuned on. `--fit` prints
the default variant's calibration constants (paste into `SemanticConfig`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.article import Article
from knowledge.embedding import BertEncoder, Vectors, load_encoder
from knowledge.embedding_cache import EmbeddingCache
from knowledge.loader import load_kb
from knowledge.semantic import SemanticConfig, SemanticMatcher

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
OOS_SHARE = 0.20
TARGET = 0.95
LATENCY_QUERIES = 100

VARIANTS: dict[str, SemanticConfig] = {}


def variant(name: str, **changes: object) -> None:
    """Frozen encoder, no lexical share: bench/layer_tuning_study.py measures those."""
    VARIANTS[name] = replace(SemanticConfig(), lexical=0.0, **changes)  # type: ignore[arg-type]


variant("default: prototypes+title, open softmax")
variant("nearest example", method="nearest", titles=False, background=None)
variant("nearest example+title", method="nearest", background=None)
variant("centroid", method="centroid", titles=False, background=None)
variant("centroid+title", method="centroid", background=None)
variant("title only", method="centroid", background=None, examples=False)
variant("centroid+title .3 nearest", method="centroid", background=None, nearest_weight=0.3)
variant("centroid+title .7 nearest", method="centroid", background=None, nearest_weight=0.7)
variant("knn10 votes+title", method="knn", background=None)
variant("centroid+title whitened .05", method="centroid", background=None, whiten=0.05)
variant("centroid+title open softmax", method="centroid")
variant("prototypes+title cosine", background=None)
variant("prototypes+title open bg .4", background=0.4)
variant("prototypes+title scale 10", scale=10.0)
variant("prototypes+title whitened .05", whiten=0.05)
variant("LR head+title (softmax prob)", method="head")


@dataclass
class Split:
    vectors: Vectors
    texts: list[str]
    labels: list[str]


@dataclass
class Scored:
    scores: FloatArray  # queries x articles
    labels: IntArray  # article index, -1 for oos


def read_split(path: Path, cache: EmbeddingCache, encoder: BertEncoder) -> Split:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    texts = [r["text"] for r in rows]
    return Split(cache.embed(encoder, texts), texts, [r["label"] for r in rows])


def score(matcher: SemanticMatcher, split: Split) -> Scored:
    index = {a.id: i for i, a in enumerate(matcher.articles)}
    labels = np.array([index.get(label, -1) for label in split.labels], dtype=np.int64)
    return Scored(matcher.score_vectors(split.vectors), labels)


def features(scores: FloatArray) -> FloatArray:
    top = -np.sort(-scores, axis=1)[:, :2]
    second = top[:, 1] if top.shape[1] > 1 else np.zeros(len(top))
    return np.column_stack([np.ones(len(top)), top[:, 0], top[:, 0] - second])


def sample_weights(labels: IntArray) -> FloatArray:
    oos = labels < 0
    if not oos.any():
        return np.ones(len(labels))
    w_oos = OOS_SHARE / (1 - OOS_SHARE) * (~oos).sum() / oos.sum()
    return np.where(oos, w_oos, 1.0)


def fit_logistic(x: FloatArray, y: FloatArray, w: FloatArray, l2: float = 1e-3) -> FloatArray:
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ beta))
        grad = x.T @ (w * (p - y)) + l2 * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(beta))
        beta -= np.linalg.solve(hess, grad)
    return beta


def correct(s: Scored) -> FloatArray:
    right: FloatArray = ((s.scores.argmax(1) == s.labels) & (s.labels >= 0)).astype(np.float64)
    return right


def confidence(s: Scored, beta: FloatArray) -> FloatArray:
    return np.asarray(1 / (1 + np.exp(-features(s.scores) @ beta)), dtype=np.float64)


def operating_point(
    conf: FloatArray, s: Scored, threshold: float, w: FloatArray
) -> tuple[float, float, float]:
    """(answered precision, deflection, oos recall) at a threshold; precision is weighted."""
    ok = correct(s)
    answered = conf >= threshold
    oos = s.labels < 0
    precision = (w * ok * answered).sum() / max((w * answered).sum(), 1e-9)
    deflection = (ok * answered)[~oos].sum() / max((~oos).sum(), 1)
    recall = (~answered)[oos].mean() if oos.any() else float("nan")
    return float(precision), float(deflection), float(recall)


def choose_threshold(conf: FloatArray, s: Scored, w: FloatArray) -> float:
    for t in np.arange(0.5, 1.0, 0.01):
        precision, _, recall = operating_point(conf, s, t, w)
        if precision >= TARGET and (np.isnan(recall) or recall >= TARGET):
            return round(float(t), 2)
    return 1.0


def top1(s: Scored) -> float:
    ins = s.labels >= 0
    return float((s.scores[ins].argmax(1) == s.labels[ins]).mean())


def small_bases(
    articles: list[Article],
    cache: EmbeddingCache,
    encoder: BertEncoder,
    config: SemanticConfig,
    test: Split,
    beta: FloatArray,
    threshold: float,
) -> tuple[float, float, float]:
    """Mean (precision, deflection, oos recall) on 20 random 5-article bases, calibration as is."""
    rng = np.random.default_rng(0)
    results = []
    for _ in range(20):
        chosen = [articles[i] for i in sorted(rng.choice(len(articles), 5, replace=False))]
        s = score(SemanticMatcher(chosen, encoder, cache, config), test)
        conf = confidence(s, beta)
        results.append(operating_point(conf, s, threshold, np.ones(len(conf))))
    p, d, r = np.mean(results, axis=0)
    return float(p), float(d), float(r)


def latency(matcher: SemanticMatcher, texts: list[str]) -> tuple[float, float]:
    millis = []
    for text in texts:
        start = time.perf_counter()
        matcher.confidence(matcher.rank(text))
        millis.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(millis, 50)), float(np.percentile(millis, 99))


def study(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    encoder = load_encoder(threads=args.threads)
    load_s = time.perf_counter() - start
    cache = EmbeddingCache(args.cache)
    articles = list(load_kb(args.data / "kb").articles)
    val = read_split(args.data / "queries-val.jsonl", cache, encoder)
    test = read_split(args.data / "queries-test.jsonl", cache, encoder)
    sample = [test.texts[i] for i in range(0, len(test.texts), len(test.texts) // LATENCY_QUERIES)]
    print(
        f"{args.data}: {len(articles)} articles; encoder load {load_s:.2f} s, "
        f"BLAS threads {args.threads}"
    )
    print(
        f"{'variant':<40} {'build':>5} {'v@1':>5} {'t@1':>5} {'thr':>4} {'vP':>5} {'vDefl':>5}"
        f" {'tP':>5} {'tDefl':>5} {'tOOSr':>5} | {'5P':>5} {'5Defl':>5} {'5OOSr':>5}"
        f" | {'p50':>5} {'p99':>5}"
    )
    for name, config in VARIANTS.items():
        if args.only and args.only not in name:
            continue
        start = time.perf_counter()
        matcher = SemanticMatcher(articles, encoder, cache, config)
        build = time.perf_counter() - start
        v, t = score(matcher, val), score(matcher, test)
        wv = sample_weights(v.labels)
        beta = fit_logistic(features(v.scores), correct(v), wv)
        thr = choose_threshold(confidence(v, beta), v, wv)
        vp, vd, _ = operating_point(confidence(v, beta), v, thr, wv)
        tp, td, tr = operating_point(confidence(t, beta), t, thr, np.ones(len(t.labels)))
        sp, sd, sr = small_bases(articles, cache, encoder, config, test, beta, thr)
        p50, p99 = latency(matcher, sample)
        print(
            f"{name:<40} {build:>5.2f} {top1(v):>5.3f} {top1(t):>5.3f} {thr:>4.2f} {vp:>5.3f}"
            f" {vd:>5.3f} {tp:>5.3f} {td:>5.3f} {tr:>5.3f} | {sp:>5.3f} {sd:>5.3f} {sr:>5.3f}"
            f" | {p50:>5.1f} {p99:>5.1f}"
        )
        if args.fit and name.startswith("default"):
            print("  calibration =", tuple(round(float(b), 3) for b in beta))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak RSS {peak_mib:.0f} MiB (encoder, {len(articles)}-article matchers, val+test vectors)"
    )


def _latency_worker(
    threads: int | None, texts: list[str], queue: multiprocessing.Queue[list[float]]
) -> None:
    encoder = load_encoder(threads=threads)
    encoder.encode(texts[:3])
    millis = []
    for text in texts:
        start = time.perf_counter()
        encoder.encode([text])
        millis.append((time.perf_counter() - start) * 1000)
    queue.put(millis)


def latency_study(data: Path) -> None:
    """p50/p99 of one report's encoding while 1 or 2 processes encode at once (2 cores)."""
    rows = (data / "queries-test.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    texts = [json.loads(line)["text"] for line in rows]
    context = multiprocessing.get_context("spawn")
    print(f"{'BLAS threads':<14} {'processes':>9} {'p50 ms':>7} {'p99 ms':>7}")
    for threads in (1, 2, None):
        for processes in (1, 2):
            queue: multiprocessing.Queue[list[float]] = context.Queue()
            workers = [
                context.Process(target=_latency_worker, args=(threads, texts, queue))
                for _ in range(processes)
            ]
            for worker in workers:
                worker.start()
            millis = [m for _ in workers for m in queue.get()]
            for worker in workers:
                worker.join()
            label = "unpinned" if threads is None else str(threads)
            print(
                f"{label:<14} {processes:>9} {np.percentile(millis, 50):>7.1f}"
                f" {np.percentile(millis, 99):>7.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "data",
        type=Path,
        nargs="?",
        default=Path("/tmp/clinc"),
        help="output folder of dataset_to_kb.py",
    )
    parser.add_argument("--only", help="run only variants whose name contains this")
    parser.add_argument("--fit", action="store_true", help="print the default's calibration")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/jethro-emb-cache"))
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for the encoder")
    parser.add_argument("--latency", action="store_true", help="only the BLAS thread study")
    args = parser.parse_args()
    if args.latency:
        latency_study(args.data)
    else:
        study(args)


if __name__ == "__main__":
    main()
