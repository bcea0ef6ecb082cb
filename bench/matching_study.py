"""Compare lexical matching variants on the CLINC150 few-shot task, to choose `LexicalMatcher`'s
method, its confidence calibration and `TriagePolicy`'s default thresholds.

    python3 ../shared/tools/dataset_to_kb.py ../shared/datasets/clinc150 /tmp/clinc --k 10
    .venv/bin/python bench/matching_study.py /tmp/clinc             # variants table (~3 min)
    .venv/bin/python bench/matching_study.py /tmp/clinc --fit       # the default's calibration
    .venv/bin/python bench/matching_study.py /tmp/clinc --policy    # thresholds, through evaluate()
    .venv/bin/python bench/matching_study.py /tmp/clinc --typos     # misspelt reports
    .venv/bin/python bench/matching_study.py /tmp/clinc --scale 10000   # build time, latency

Everything is chosen on val; test is only reported. Other datasets differ in what "out of scope"
means: CLINC's own oos queries are far from every intent, while a base that lacks a fifth of the
intents (`dataset_to_kb.py --unseen 0.2`) gets oos queries that sound just like the articles. So
the calibration is fitted on val with the full base AND on val with 20% of the intents held out
(seeds 1-8), each half of the weight, oos reweighted to a 20% share (val has 3%, test 18%).
Test is reported on the full base and on the base without the seed-0 fifth, which is exactly
what `--unseen 0.2` builds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.article import Article
from knowledge.decision import Outcome
from knowledge.evaluate import OOS, EvalReport, Query, evaluate
from knowledge.index import LexicalConfig, LexicalMatcher
from knowledge.loader import load_kb
from knowledge.triage import TriagePolicy, decide

FloatArray = npt.NDArray[np.float64]
OOS_SHARE = 0.20
WORST_OOS_SHARE = 0.35
"""Test's 18% oos plus a fifth of the intents left out: shown, but no threshold holds 0.95 on
every held-out draw there (it depends on which intents are missing: 0.88 to 0.97 at 0.97)."""
MARGIN = 0.01
"""Thresholds aim at TARGET_PRECISION + MARGIN on val, for datasets with more oos than 20%."""
TARGET_PRECISION = 0.95
FIT_SEEDS = tuple(range(1, 9))


@dataclass(frozen=True)
class Task:
    """A base and labelled queries: the full base, or one with a fifth of the intents held out."""

    name: str
    articles: tuple[Article, ...]
    texts: tuple[str, ...]
    labels: tuple[str, ...]

    def queries(self) -> list[Query]:
        return [Query(t, label) for t, label in zip(self.texts, self.labels, strict=True)]


def read_split(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return tuple(r["text"] for r in rows), tuple(r["label"] for r in rows)


def held_out(
    name: str,
    articles: Sequence[Article],
    split: tuple[tuple[str, ...], tuple[str, ...]],
    seed: int | None,
) -> Task:
    """What `dataset_to_kb.py --unseen 0.2 --seed SEED` leaves out (nothing if seed is None)."""
    ids = sorted(a.id for a in articles)
    unseen = (
        set(random.Random(seed).sample(ids, round(len(ids) * 0.2))) if seed is not None else set()
    )
    texts, labels = split
    kept = tuple(a for a in articles if a.id not in unseen)
    relabelled = tuple(OOS if label in unseen else label for label in labels)
    return Task(name, kept, texts, relabelled)


@dataclass
class Scored:
    scores: FloatArray  # queries x articles
    labels: npt.NDArray[np.int64]  # article index, -1 for oos

    @property
    def correct(self) -> FloatArray:
        right = (self.scores.argmax(1) == self.labels) & (self.labels >= 0)
        return np.asarray(right, dtype=np.float64)

    def weights(self, total: float, share: float = OOS_SHARE) -> FloatArray:
        """Oos reweighted to `share` of the weight, the whole task summing to `total`."""
        oos = self.labels < 0
        w = np.ones(len(oos))
        if oos.any():
            w[oos] = share / (1 - share) * (~oos).sum() / oos.sum()
        return np.asarray(w * total / w.sum(), dtype=np.float64)

    def topk(self, k: int) -> float:
        ins = self.labels >= 0
        best = np.argsort(-self.scores[ins], axis=1)[:, :k]
        return float((best == self.labels[ins, None]).any(1).mean())


def score_task(config: LexicalConfig, task: Task) -> tuple[Scored, float]:
    start = time.perf_counter()
    matcher = LexicalMatcher(task.articles, config)
    build = time.perf_counter() - start
    index = {a.id: i for i, a in enumerate(matcher.articles)}
    scores = np.stack([matcher.scores(t) for t in task.texts])
    return Scored(scores, np.array([index.get(label, -1) for label in task.labels])), build


def features(scores: FloatArray) -> FloatArray:
    """What `LexicalMatcher.confidence` reads: the top score and its gap to the next article."""
    top = -np.sort(-scores, axis=1)[:, :2]
    return np.column_stack([np.ones(len(top)), top[:, 0], top[:, 0] - top[:, 1]])


def fit_logistic(x: FloatArray, y: FloatArray, w: FloatArray, l2: float = 1e-3) -> FloatArray:
    """Weighted logistic regression by Newton's method (numpy only)."""
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ beta))
        grad = x.T @ (w * (p - y)) + l2 * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(beta))
        beta -= np.linalg.solve(hess, grad)
    return beta


def calibrate(fit: Sequence[Scored]) -> FloatArray:
    """Half the weight on the full base, half on the held-out bases."""
    totals = [1.0] + [1.0 / (len(fit) - 1)] * (len(fit) - 1)
    x = np.vstack([features(s.scores) for s in fit])
    y = np.concatenate([s.correct for s in fit])
    w = np.concatenate([s.weights(t * 1000) for s, t in zip(fit, totals, strict=True)])
    return fit_logistic(x, y, w)


def operating_point(
    conf: FloatArray, s: Scored, threshold: float, w: FloatArray
) -> tuple[float, float, float]:
    """(answered precision weighted by w, deflection, oos recall) at a threshold."""
    answered = conf >= threshold
    oos = s.labels < 0
    precision = (w * s.correct * answered).sum() / max((w * answered).sum(), 1e-9)
    deflection = (s.correct * answered)[~oos].sum() / max((~oos).sum(), 1)
    recall = float((~answered)[oos].mean()) if oos.any() else float("nan")
    return float(precision), float(deflection), recall


def choose_threshold(beta: FloatArray, fit: Sequence[Scored]) -> float:
    """The lowest threshold where the full base and the mean of the held-out draws reach
    TARGET_PRECISION + MARGIN (oos at 20%) and every task keeps oos recall >= 0.95."""
    for t in np.arange(0.5, 1.0, 0.01):
        points = [operating_point(confidence(beta, s), s, t, s.weights(1.0)) for s in fit]
        full, held = points[0][0], float(np.mean([p for p, _, _ in points[1:]]))
        recall_ok = all(not r < 0.95 for _, _, r in points)
        if min(full, held) >= TARGET_PRECISION + MARGIN and recall_ok:
            return round(float(t), 2)
    return 1.0


def best_deflection(beta: FloatArray, fit: Sequence[Scored]) -> float:
    """Mean over the fitting tasks of the most deflection any threshold gets at reweighted
    precision >= TARGET_PRECISION: the shape of the curve, free of the threshold grid."""
    found = []
    for s in fit:
        conf, w = confidence(beta, s), s.weights(1.0)
        order = np.argsort(-conf)
        hits = np.cumsum((w * s.correct)[order])
        precision = hits / np.cumsum(w[order])
        ok = np.flatnonzero(precision >= TARGET_PRECISION)
        right = np.cumsum(s.correct[order])
        found.append(right[ok[-1]] / (s.labels >= 0).sum() if len(ok) else 0.0)
    return float(np.mean(found))


def confidence(beta: FloatArray, s: Scored) -> FloatArray:
    return np.asarray(1 / (1 + np.exp(-features(s.scores) @ beta)), dtype=np.float64)


VARIANTS: dict[str, LexicalConfig] = {}
WORDS = LexicalConfig(
    scheme="tfidf", stopwords=False, spelling=False, title=0.0, examples=1.0, body=0.0, pooled=0.0
)


def variant(name: str, base: LexicalConfig = WORDS, **changes: Any) -> None:
    VARIANTS[name] = replace(base, **changes)


POOLED: dict[str, Any] = {"examples": 0.0, "pooled": 1.0}
variant("tfidf examples max")
variant("tfidf ex max +stopwords", stopwords=True)
variant("tfidf ex max no stemming", stemming=False)
variant("tfidf ex max +bigrams", bigrams=True)
variant("tfidf ex max +char3-5 .5", char_ngrams=(3, 5), char_weight=0.5)
variant("tfidf ex max +title .3", title=0.3)
variant("tfidf ex max+pooled", pooled=1.0)
variant("tfidf pooled", **POOLED)
variant("tfidf pooled +char3-5 .3", char_ngrams=(3, 5), char_weight=0.3, **POOLED)
variant("bm25 examples max", scheme="bm25")
variant("bm25 pooled", scheme="bm25", **POOLED)
variant("bm25 pooled k1=0.9 b=0.4", scheme="bm25", k1=0.9, b=0.4, **POOLED)
variant("bm25 pooled k1=2", scheme="bm25", k1=2.0, **POOLED)
variant("bm25 pooled no stemming", scheme="bm25", stemming=False, **POOLED)
variant("bm25 pooled +title .3", scheme="bm25", title=0.3, **POOLED)
variant(
    "bm25 p+t +char3-5 .3", scheme="bm25", title=0.3, char_ngrams=(3, 5), char_weight=0.3, **POOLED
)
variant("bm25 p+t +examples .2", scheme="bm25", title=0.3, examples=0.2, pooled=1.0)
variant("default", LexicalConfig())
variant("default +char3-5 .3", LexicalConfig(), char_ngrams=(3, 5), char_weight=0.3)
variant("default +stopwords", LexicalConfig(), stopwords=True)
variant("default no spelling", LexicalConfig(), spelling=False)
variant("default spelling weight 1", LexicalConfig(), spelling_weight=1.0)
variant("default spelling weight .3", LexicalConfig(), spelling_weight=0.3)
for f in (0.0, 2.0, 3.0, 4.0):
    variant(f"default floor {f}", LexicalConfig(), information_floor=f)


def compare(tasks: dict[str, Task], only: str | None, fit_default: bool) -> None:
    point = "prec  defl  oosR"
    print(
        f"{'variant':<26} build val@1 val@3 test@1 test@3 vDefl  thr"
        f" | test:  {point} | unseen:  {point}"
    )
    for name, config in VARIANTS.items():
        if only and only not in name:
            continue
        scored = {key: score_task(config, task) for key, task in tasks.items()}
        fit = [scored["val"][0]] + [scored[f"val-{seed}"][0] for seed in FIT_SEEDS]
        beta = calibrate(fit)
        thr = choose_threshold(beta, fit)
        test, unseen = scored["test"][0], scored["test-unseen"][0]
        tp, td, tr = operating_point(confidence(beta, test), test, thr, np.ones(len(test.labels)))
        up, ud, ur = operating_point(
            confidence(beta, unseen), unseen, thr, np.ones(len(unseen.labels))
        )
        val = scored["val"][0]
        print(
            f"{name:<26} {scored['val'][1]:>5.2f} {val.topk(1):>5.3f} {val.topk(3):>5.3f}"
            f" {test.topk(1):>6.3f} {test.topk(3):>6.3f} {best_deflection(beta, fit):>5.3f}"
            f" {thr:>4.2f} |       {tp:>5.3f} {td:>5.3f} {tr:>5.3f}"
            f" |         {up:>5.3f} {ud:>5.3f} {ur:>5.3f}"
        )
        if fit_default and name == "default":
            print("    calibration =", tuple(round(float(b), 3) for b in beta), "answer", thr)


POLICIES = [
    TriagePolicy(answer_threshold=a, suggest_threshold=s)
    for a in (0.9, 0.93, 0.95, 0.96, 0.97)
    for s in (0.8, 0.85, 0.9)
    if s <= a
]


def policies(tasks: dict[str, Task]) -> None:
    """The shipped matcher through `evaluate()`, under a grid of thresholds (default starred)."""
    keys = ("answered_precision", "deflection", "oos_recall", "suggested", "suggest_hit")
    shown = {k: tasks[k] for k in ("val", "val-1", "val-7", "test", "test-unseen")}
    matchers = {k: LexicalMatcher(t.articles) for k, t in shown.items()}
    print(
        f"{'answer':>6} {'suggest':>7} {'task':<12} "
        + " ".join(f"{k:>18}" for k in keys)
        + f" precision@{WORST_OOS_SHARE:.0%}oos"
    )
    for policy in POLICIES:
        star = "*" if policy == TriagePolicy() else " "
        for key, task in shown.items():
            report = evaluate(task.articles, task.queries(), matchers[key], policy)
            numbers = report.to_json()
            cells = " ".join(f"{numbers[k]!s:>18}" for k in keys)
            cells += f" {worst_case_precision(report):>18.4f}"
            answer, suggest = policy.answer_threshold, policy.suggest_threshold
            print(f"{answer:>5}{star} {suggest:>7} {key:<12} {cells}")


def misspell(text: str, rng: random.Random) -> str:
    """One random deletion, insertion, substitution or swap in one word of 4+ letters."""
    tokens = text.split()
    long = [i for i, token in enumerate(tokens) if len(token) >= 4 and token.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    word, j = tokens[i], rng.randrange(len(tokens[i]) - 1)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    tokens[i] = rng.choice(
        [
            word[:j] + word[j + 1 :],
            word[:j] + letter + word[j:],
            word[:j] + letter + word[j + 1 :],
            word[:j] + word[j + 1] + word[j] + word[j + 2 :],
        ]
    )
    return " ".join(tokens)


TYPO_VARIANTS = {
    "no typo tolerance": replace(LexicalConfig(), spelling=False),
    "default (spelling, weight .5)": LexicalConfig(),
    "spelling, weight 1": replace(LexicalConfig(), spelling_weight=1.0),
    "char3-5 .3, no spelling": replace(
        LexicalConfig(), spelling=False, char_ngrams=(3, 5), char_weight=0.3
    ),
}


def typos(tasks: dict[str, Task]) -> None:
    """Top-1 on val as written and with one typo per report (seeded)."""
    clean = tasks["val"]
    rng = random.Random(1)
    typo = replace(clean, texts=tuple(misspell(t, rng) for t in clean.texts))
    print(f"{'variant':<32} {'val@1':>6} {'with a typo':>11}")
    for name, config in TYPO_VARIANTS.items():
        right, wrong = score_task(config, clean)[0], score_task(config, typo)[0]
        print(f"{name:<32} {right.topk(1):>6.3f} {wrong.topk(1):>11.3f}")


def scale(n: int) -> None:
    """Build time and decision latency on a synthetic base of `n` articles (Zipf-drawn words,
    10 examples of 8 words, a 120-word body, 3 keywords each)."""
    rng = np.random.default_rng(0)
    vocabulary = np.array([f"w{i:05d}" for i in range(30000)])
    p = 1 / np.arange(1, 30001)
    p /= p.sum()

    def text(size: int) -> str:
        return " ".join(vocabulary[rng.choice(30000, size, p=p)])

    articles = [
        Article(
            id=f"a{i}",
            title=text(5),
            body=text(120),
            examples=tuple(text(8) for _ in range(10)),
            keywords=tuple(text(1) for _ in range(3)),
        )
        for i in range(n)
    ]
    start = time.perf_counter()
    matcher = LexicalMatcher(articles)
    built = time.perf_counter() - start
    reports = [text(8) for _ in range(300)]
    start = time.perf_counter()
    for report in reports:
        decide(report, matcher)
    each = (time.perf_counter() - start) / len(reports)
    print(f"{n} articles: built in {built:.2f} s, {each * 1000:.2f} ms per decision")


def worst_case_precision(report: EvalReport) -> float:
    """Answered precision had the oos queries been WORST_OOS_SHARE of all."""
    results = report.results
    n_oos = sum(not r.in_scope for r in results)
    w_oos = WORST_OOS_SHARE / (1 - WORST_OOS_SHARE) * (len(results) - n_oos) / max(n_oos, 1)
    answered = [r for r in results if r.decision.outcome is Outcome.ANSWER]
    right = sum(r.answered_right for r in answered)
    wrong_oos = sum(not r.in_scope for r in answered)
    wrong_in = len(answered) - right - wrong_oos
    return right / max(right + wrong_in + w_oos * wrong_oos, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path, help="output folder of dataset_to_kb.py (no --unseen)")
    parser.add_argument("--only", help="run only variants whose name contains this")
    parser.add_argument("--fit", action="store_true", help="print the default's calibration")
    parser.add_argument("--policy", action="store_true", help="compare thresholds via evaluate()")
    parser.add_argument("--typos", action="store_true", help="compare typo tolerance")
    parser.add_argument("--scale", type=int, metavar="N", help="time a synthetic N-article base")
    args = parser.parse_args()
    if args.scale:
        scale(args.scale)
        return
    articles = load_kb(args.data / "kb").articles
    val = read_split(args.data / "queries-val.jsonl")
    test = read_split(args.data / "queries-test.jsonl")
    tasks = {"val": held_out("val", articles, val, None)}
    tasks |= {f"val-{s}": held_out(f"val-{s}", articles, val, s) for s in FIT_SEEDS}
    tasks["test"] = held_out("test", articles, test, None)
    tasks["test-unseen"] = held_out("test-unseen", articles, test, 0)
    if args.policy:
        policies(tasks)
    elif args.typos:
        typos(tasks)
    else:
        compare(tasks, args.only, args.fit)


if __name__ == "__main__":
    main()
