"""How matching scales: load, reload, memory and latency for 1k, 10k and 100k-article bases.

    .venv/bin/python bench/scale.py                                # 1k, 10k, 100k (~1 h)
    .venv/bin/python bench/scale.py --quick                        # 1k only (~2 min)
    .venv/bin/python bench/scale.py --write docs/performance.md    # regenerate the doc's table

Each (size, matcher) runs in a fresh process, through what production runs: articles written as
markdown files to a folder, loaded by `LiveKnowledge` with the matcher factory `jethro run` uses,
then one article edited and `reload()` timed (the embedding cache is warm by then), then ~500
reports timed through `decide` (encode, rank, confidence). Memory is the process's peak RSS
(`resource.getrusage(...).ru_maxrss`), which includes the reload, when the old and the new index
are alive at once; "RSS before the base" is that peak before loading it (Python, numpy, encoder).
BLAS is pinned to one thread, as the encoder pins it in production.

The bases are synthetic but read like real ones: each article takes a CLINC150 intent (150 of
them, round robin), a topic word drawn by frequency from CLINC150's own vocabulary (so words
repeat as in real text), a title of both, five of the intent's training sentences with the topic
inserted, and a short body; reports are other sentences of the same intent (80%) and CLINC150's
out-of-scope sentences (20%).

Encoding 600,000 texts for the semantic matcher at 100k would take this 2-core machine about 40
minutes, so only the 1k base is encoded for real (its cold load is measured). For 10k and 100k
the embedding cache is filled beforehand with vectors composed from real encodings of each
text's parts (its sentence plus its topic word), the warm load and reload run the real code on
that cache, and the cold load is estimated as warm load + texts / encoder throughput (measured).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.embedding import BertEncoder, Vectors, limit_blas_threads, load_encoder
from knowledge.embedding_cache import EmbeddingCache
from knowledge.live import LiveKnowledge
from knowledge.matchers import MatcherChoice, MatcherFactory, measured_policy
from knowledge.triage import decide

CLINC = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "clinc150"
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)
EXAMPLES = 5
QUERIES = 500
ENCODED_FOR_REAL = 1_000
"""Bases up to this size are encoded for real in the semantic run; larger ones are composed."""
TOPIC_WEIGHT = np.float32(0.35)
MARKERS = ("<!-- scale -->", "<!-- /scale -->")
FILES_PER_FOLDER = 1_000


@dataclass(frozen=True)
class Text:
    """One text of the base and what it was made of, for composing its vector."""

    text: str
    sentence: str
    topic: str


@dataclass(frozen=True)
class SyntheticArticle:
    path: str
    intent: str
    title: Text
    examples: tuple[Text, ...]
    body: str


class Corpus:
    """CLINC150's training sentences by intent, its out-of-scope ones, and its vocabulary."""

    def __init__(self, folder: Path = CLINC) -> None:
        rows = [json.loads(line) for line in (folder / "train.jsonl").open(encoding="utf-8")]
        self.by_intent: dict[str, list[str]] = defaultdict(list)
        self.oos: list[str] = []
        counts: Counter[str] = Counter()
        for row in rows:
            text = " ".join(row["text"].split())
            counts.update(re.findall(r"[a-z]+", text.lower()))
            (self.oos if row["label"] == "oos" else self.by_intent[row["label"]]).append(text)
        self.intents = sorted(self.by_intent)
        common = {word for word, _ in counts.most_common(150)}
        self.topics = [w for w, n in counts.items() if n >= 3 and len(w) >= 4 and w not in common]
        self.topic_weights = [counts[w] for w in self.topics]


def with_topic(sentence: str, topic: str, rng: random.Random) -> str:
    """The sentence with the topic word worked in after one of its words."""
    words = sentence.split()
    words.insert(rng.randint(1, len(words)), topic)
    return " ".join(words)


def synthetic_base(size: int, corpus: Corpus) -> list[SyntheticArticle]:
    rng = random.Random(size)
    topics = rng.choices(corpus.topics, corpus.topic_weights, k=2 * size)
    articles = []
    for i in range(size):
        intent = corpus.intents[i % len(corpus.intents)]
        topic, other = topics[2 * i], topics[2 * i + 1]
        name = intent.replace("_", " ")
        title = Text(f"{name.capitalize()}: {topic} {other}", name, topic)
        examples = tuple(
            Text(with_topic(s, topic, rng), s, topic)
            for s in rng.sample(corpus.by_intent[intent], EXAMPLES)
        )
        body = f"How to handle {name} for {topic}: check the {other} settings, then ask again."
        path = f"{i // FILES_PER_FOLDER:03d}/{intent.replace('_', '-')}-{i}.md"
        articles.append(SyntheticArticle(path, intent, title, examples, body))
    return articles


def reports(size: int, corpus: Corpus, articles: Sequence[SyntheticArticle]) -> list[str]:
    """80% reports about an article in words it does not use; 20% about nothing in the base."""
    rng = random.Random(-size)
    texts = []
    for _ in range(QUERIES * 4 // 5):
        article = rng.choice(articles)
        sentence = rng.choice(corpus.by_intent[article.intent])
        texts.append(with_topic(sentence, article.title.topic, rng))
    texts += rng.sample(corpus.oos, QUERIES - len(texts))
    rng.shuffle(texts)
    return texts


def write_base(root: Path, articles: Sequence[SyntheticArticle]) -> None:
    """The articles as markdown files, once per size (a marker says the folder is complete)."""
    done = root / ".complete"
    if done.exists():
        return
    for article in articles:
        lines = ["---", f"title: {json.dumps(article.title.text)}", "examples:"]
        lines += [f"  - {json.dumps(e.text)}" for e in article.examples]
        lines += ["---", article.body, ""]
        path = root / article.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
    done.touch()


class ComposedEncoder:
    """Stands in for the encoder when filling the cache: a text's vector is its sentence's real
    vector plus a share of its topic word's, so neighbours and ties look like real ones."""

    def __init__(self, real: BertEncoder, parts: EmbeddingCache, texts: Sequence[Text]) -> None:
        self.model_id, self.dim = real.model_id, real.dim
        self._recipes = {t.text: (t.sentence, t.topic) for t in texts}
        names = sorted({name for t in texts for name in (t.sentence, t.topic)})
        vectors = parts.embed(real, names)
        self._vectors = dict(zip(names, vectors, strict=True))

    def encode(self, texts: Sequence[str]) -> Vectors:
        rows = []
        for text in texts:
            sentence, topic = self._recipes[text]
            rows.append(self._vectors[sentence] + TOPIC_WEIGHT * self._vectors[topic])
        out = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        normalised: Vectors = out / np.linalg.norm(out, axis=1, keepdims=True)
        return normalised


@dataclass
class Measure:
    size: int
    matcher: str
    texts: int
    load_s: float
    reload_s: float
    p50_ms: float
    p99_ms: float
    base_rss_mib: float
    peak_rss_mib: float
    load_average: float
    cold_load_s: float | None = None
    cold_estimated: bool = False
    encode_per_s: float | None = None


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Base:
    """One synthetic base: its articles, their texts, its folder and its reports."""

    def __init__(self, size: int, work: Path) -> None:
        corpus = Corpus()
        self.size = size
        self.articles = synthetic_base(size, corpus)
        self.texts = [t for a in self.articles for t in (*a.examples, a.title)]
        self.root = work / f"kb-{size}"
        self.cache = work / f"cache-{size}"
        self.parts = work / "parts"
        write_base(self.root, self.articles)
        self.queries = reports(size, corpus, self.articles)


def measure(base: Base, matcher: str) -> Measure:
    """Load, reload and decide in this process; see the module docstring for what is measured."""
    limit_blas_threads(1)
    factory = MatcherFactory(MatcherChoice(matcher), None, base.cache)
    encoder = factory.encoder()
    throughput = None
    if encoder is not None:
        assert isinstance(encoder, BertEncoder)
        throughput = encoder_throughput(encoder, [t.text for t in base.texts[-500:]])
    gc.collect()
    base_rss = peak_rss_mib()
    start = time.perf_counter()
    live = LiveKnowledge(base.root, factory)
    load = time.perf_counter() - start
    reload = edit_and_reload(live, base.root / base.articles[0].path)
    p50, p99 = latency(live, base.queries)
    return Measure(
        base.size, matcher, len(base.texts), load, reload, p50, p99, base_rss, peak_rss_mib(),
        os.getloadavg()[1], encode_per_s=throughput,
    )  # fmt: skip


def cold_load(base: Base) -> float:
    """A first start of the semantic matcher: nothing cached, every text encoded."""
    shutil.rmtree(base.cache, ignore_errors=True)
    factory = MatcherFactory(MatcherChoice.SEMANTIC, None, base.cache)
    factory.encoder()
    start = time.perf_counter()
    LiveKnowledge(base.root, factory)
    return time.perf_counter() - start


def fill_cache(base: Base) -> None:
    """The semantic cache of a base too big to encode here, from composed vectors (once)."""
    done = base.cache / ".complete"
    if done.exists():
        return
    real = load_encoder()
    composed = ComposedEncoder(real, EmbeddingCache(base.parts), base.texts)
    EmbeddingCache(base.cache).embed(composed, [t.text for t in base.texts])
    done.touch()


def encoder_throughput(encoder: BertEncoder, texts: list[str]) -> float:
    encoder.encode(texts[:32])
    start = time.perf_counter()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - start)


def edit_and_reload(live: LiveKnowledge, path: Path) -> float:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("examples:\n", 'examples:\n  - "it broke again today"\n', 1))
    try:
        start = time.perf_counter()
        report = live.reload()
        seconds = time.perf_counter() - start
    finally:
        path.write_text(text, encoding="utf-8")
    assert report.changed, "the edited article was not reloaded"
    return seconds


def latency(live: LiveKnowledge, queries: list[str]) -> tuple[float, float]:
    matcher = live.current.matcher
    policy = measured_policy(matcher)
    for text in queries[:5]:
        decide(text, matcher, policy)
    millis = []
    for text in queries:
        start = time.perf_counter()
        decide(text, matcher, policy)
        millis.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(millis, 50)), float(np.percentile(millis, 99))


def run_one(size: int, matcher: str, work: Path) -> Measure:
    """The measurements for one size and matcher, each phase in a fresh process, so that peak
    RSS belongs to that base and matcher alone."""
    cold = None
    if matcher == MatcherChoice.SEMANTIC and size <= ENCODED_FOR_REAL:
        cold = float(in_child(size, matcher, "cold", work))
    measured = Measure(**json.loads(in_child(size, matcher, "warm", work)))
    measured.cold_load_s = cold
    if matcher == MatcherChoice.SEMANTIC and size > ENCODED_FOR_REAL and measured.encode_per_s:
        unique = len({t.text for t in Base(size, work).texts})
        measured.cold_load_s = measured.load_s + unique / measured.encode_per_s
        measured.cold_estimated = True
    return measured


def in_child(size: int, matcher: str, phase: str, work: Path) -> str:
    command = [sys.executable, __file__, "--one", str(size), matcher, phase, "--work", str(work)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{size} {matcher} {phase} failed:\n{done.stderr}")
    return done.stdout.splitlines()[-1]


def child(size: int, matcher: str, phase: str, work: Path) -> str:
    base = Base(size, work)
    if phase == "cold":
        return str(cold_load(base))
    if phase == "fill":
        fill_cache(base)
        return "filled"
    if matcher == MatcherChoice.SEMANTIC and size > ENCODED_FOR_REAL:
        in_child(size, matcher, "fill", work)  # its memory must not count as this run's
    return json.dumps(asdict(measure(base, matcher)))


def table(rows: Sequence[Measure]) -> str:
    lines = [
        "| articles | matcher | texts | start (cache warm) | start (cache cold) "
        "| reload (1 edit) | p50 | p99 | peak RSS | RSS before the base |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in rows:
        cold = "same"
        if m.cold_load_s is not None:
            cold = f"{'~' if m.cold_estimated else ''}{m.cold_load_s:,.0f} s"
        lines.append(
            f"| {m.size:,} | {m.matcher} | {m.texts:,} | {m.load_s:,.1f} s | {cold} "
            f"| {m.reload_s:,.1f} s | {m.p50_ms:.2f} ms | {m.p99_ms:.2f} ms "
            f"| {m.peak_rss_mib:,.0f} MiB | {m.base_rss_mib:,.0f} MiB |"
        )
    rates = [m.encode_per_s for m in rows if m.encode_per_s]
    notes = [
        "",
        "Start: `LiveKnowledge` reading every file and building the index. `~`: estimated as "
        "start (cache warm) + texts / encoder throughput; the cache was filled from composed "
        "vectors (see `bench/scale.py`). p50/p99: one report through `decide`, encoding "
        "included. RSS: `ru_maxrss` of a fresh process per row.",
    ]
    if rates:
        notes.append(
            f"Encoder throughput {min(rates):.0f}-{max(rates):.0f} texts/s (one BLAS thread)."
        )
    loads = [m.load_average for m in rows]
    notes.append(
        f"Machine: {os.cpu_count()} cores, 5-minute load average {min(loads):.1f}-{max(loads):.1f} "
        "during the runs (other work shared it; an idle machine is faster)."
    )
    return "\n".join(lines + notes)


def write_section(path: Path, text: str, command: str) -> None:
    """Replace what is between the markers in `path` (creating the file if need be)."""
    start, end = MARKERS
    section = f"{start}\n<!-- generated by `{command}`; do not edit by hand -->\n\n{text}\n{end}"
    if not path.exists():
        path.write_text(f"# Performance\n\n{section}\n", encoding="utf-8")
        return
    old = path.read_text(encoding="utf-8")
    if start not in old:
        path.write_text(f"{old.rstrip()}\n\n{section}\n", encoding="utf-8")
        return
    pattern = re.escape(start) + ".*?" + re.escape(end)
    path.write_text(re.sub(pattern, lambda _: section, old, flags=re.S), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the 1k base only")
    parser.add_argument("--sizes", type=int, nargs="+", help="article counts (default 1k 10k 100k)")
    parser.add_argument("--matchers", nargs="+", default=["lexical", "semantic"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/jethro-scale"))
    parser.add_argument("--write", type=Path, help="regenerate this file's scale section")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.one:
        size, matcher, phase = args.one
        print(child(int(size), matcher, phase, args.work))
        return
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    rows = []
    for size in sizes:
        for matcher in args.matchers:
            rows.append(run_one(size, matcher, args.work))
            print(table(rows[-1:]).splitlines()[2], file=sys.stderr, flush=True)
    text = table(rows)
    print(text)
    if args.write:
        command = " ".join(["bench/scale.py", *sys.argv[1:]])
        write_section(args.write, text, command)


if __name__ == "__main__":
    main()
