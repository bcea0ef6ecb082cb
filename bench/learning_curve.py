"""The learning curve: `jethro kb replay` on CLINC150, a third of its intents unseen on day one.

One command regenerates docs/learning-curve.md and its chart (docs/images/learning-curve.svg):

    .venv/bin/python bench/learning_curve.py            # about 5 minutes on 2 cores

It builds three bases and streams (in --work, default /tmp/jethro-learning-curve):
- `clinc`: all of CLINC150, a third of the intents left out of the base; the stream is the test
  split shuffled, where a left-out intent keeps its label (`../shared/tools/dataset_to_kb.py
  --unseen 0.333 --replay`): problems engineers solve and an admin publishes.
- `banking`, `domains`: one of CLINC's domains, and three (banking, credit cards, travel), a
  third of their intents left out and labelled "oos", so they never get an article
  (`bench/domain_base.py`), plus CLINC's out-of-scope reports; val and test shuffled into one
  stream: in-domain unknowns that look like known problems.
Each stream goes through `jethro kb replay --json` (the operator's settings: the semantic
matcher where it is installed), and the page shows every window, the first and last quarters
and the issue's targets (#13). Reads ../shared; nothing in the product or its tests does.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DOC = ROOT / "docs" / "learning-curve.md"
CHART = ROOT / "docs" / "images" / "learning-curve.svg"
DOMAINS = ("banking", "credit_cards", "travel")
COUNTS = ("reports", "answered", "right", "in_scope", "oos", "oos_kept", "escalated", "learned")


@dataclass(frozen=True)
class Stream:
    name: str
    title: str
    about: str
    kb: Path
    path: Path
    never_taught: bool
    """Its unknowns are labelled "oos": no article ever comes for them."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=SHARED / "datasets" / "clinc150")
    parser.add_argument("--work", type=Path, default=Path("/tmp/jethro-learning-curve"))
    parser.add_argument("--windows", type=int, default=20, help="points on the curve (by 4)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work, seed = args.work, args.seed
    streams = [
        Stream(
            "clinc",
            "CLINC150, a third of the intents unseen on day one",
            "the test split shuffled; 100 articles of 10 examples on day one, 50 intents "
            "without one, which keep their labels",
            *clinc_stream(args.dataset, work / "clinc", seed),
            never_taught=False,
        ),
        Stream(
            "banking",
            "In-domain unknowns that never get an article: banking",
            "CLINC's banking domain, 10 of its 15 intents as articles and 5 left out and "
            'labelled "oos", with CLINC\'s out-of-scope reports; val and test shuffled',
            *domain_stream(args.dataset, work / "banking", "banking", seed),
            never_taught=True,
        ),
        Stream(
            "domains",
            "In-domain unknowns that never get an article: three domains",
            "banking, credit cards and travel, 30 of their 45 intents as articles and 15 left "
            'out and labelled "oos", with CLINC\'s out-of-scope reports; val and test shuffled',
            *domain_stream(args.dataset, work / "domains", ",".join(DOMAINS), seed),
            never_taught=True,
        ),
    ]
    results = {}
    for stream in streams:
        started = time.perf_counter()
        reports = sum(1 for line in stream.path.read_text().splitlines() if line.strip())
        results[stream.name] = replay(stream.kb, stream.path, -(-reports // args.windows))
        results[stream.name]["seconds"] = round(time.perf_counter() - started, 1)
        if stream.never_taught:  # every label is an article or "oos": `kb eval` can judge it
            results[stream.name]["eval"] = evaluate(stream.kb, stream.path)
        print(f"{stream.name}: {json.dumps(results[stream.name]['overall'])}", file=sys.stderr)
    (work / "results.json").write_text(json.dumps(results, indent=2))
    CHART.parent.mkdir(parents=True, exist_ok=True)
    CHART.write_text(chart(streams, results))
    DOC.write_text(page(streams, results))
    print(f"wrote {DOC.relative_to(ROOT)} and {CHART.relative_to(ROOT)}", file=sys.stderr)


def clinc_stream(dataset: Path, out: Path, seed: int) -> tuple[Path, Path]:
    tool = SHARED / "tools" / "dataset_to_kb.py"
    command = [sys.executable, str(tool), str(dataset), str(out), "--k", "10"]
    subprocess.run([*command, "--unseen", "0.333", "--seed", str(seed), "--replay"], check=True)
    return out / "kb", out / "replay-test.jsonl"


def domain_stream(dataset: Path, out: Path, domains: str, seed: int) -> tuple[Path, Path]:
    builder = ROOT / "bench" / "domain_base.py"
    command = [sys.executable, str(builder), str(dataset), str(out), "--domain", domains]
    subprocess.run([*command, "--seed", str(seed)], check=True)
    rows = [
        line
        for split in ("val", "test")
        for line in (out / f"queries-{split}.jsonl").read_text().splitlines()
        if line.strip()
    ]
    random.Random(seed).shuffle(rows)
    stream = out / "replay.jsonl"
    stream.write_text("".join(f"{row}\n" for row in rows))
    return out / "kb", stream


def replay(kb: Path, stream: Path, window: int) -> dict[str, Any]:
    jethro = Path(sys.executable).parent / "jethro"
    command = [str(jethro), "kb", "replay", "--kb", str(kb), str(stream), "--json"]
    done = subprocess.run([*command, "--window", str(window)], check=True, capture_output=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def evaluate(kb: Path, stream: Path) -> dict[str, Any]:
    """`jethro kb eval` on the same stream: the decision with nothing learned."""
    jethro = Path(sys.executable).parent / "jethro"
    command = [str(jethro), "kb", "eval", "--kb", str(kb), str(stream), "--json"]
    result: dict[str, Any] = json.loads(
        subprocess.run(command, check=True, capture_output=True).stdout
    )
    return result


def quarters(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The windows added up into the four quarters of the stream (`--windows` by 4)."""
    n = len(windows)
    bounds = [round(n * q / 4) for q in range(5)]
    return [combined(windows[a:b]) for a, b in itertools.pairwise(bounds)]


def combined(windows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {key: sum(int(w[key]) for w in windows) for key in COUNTS}
    total["published"] = sum(int(w["published"]) for w in windows)
    total["answered_precision"] = _rate(total["right"], total["answered"])
    total["deflection"] = _rate(total["right"], total["in_scope"])
    total["oos_recall"] = _rate(total["oos_kept"], total["oos"])
    return total


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _show(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def table(windows: list[dict[str, Any]], names: list[str]) -> list[str]:
    lines = [
        "| reports | answered | precision | deflection | oos recall | escalated | learned "
        "| published |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, w in zip(names, windows, strict=True):
        lines.append(
            f"| {name} | {w['answered']} | {_show(w['answered_precision'])} "
            f"| {_show(w['deflection'])} | {_show(w['oos_recall'])} | {w['escalated']} "
            f"| {w['learned']} | {w['published']} |"
        )
    return lines


def spans(windows: list[dict[str, Any]]) -> list[str]:
    names, start = [], 1
    for w in windows:
        end = start + int(w["reports"]) - 1
        names.append(f"{start}-{end}")
        start = end + 1
    return names


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


QUARTERS = ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"]


def page(streams: list[Stream], results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# The learning curve",
        "",
        "What `jethro kb replay` measures while the bot learns from the people it serves (issue",
        "#13): each report is judged by the real decision before anything is learned from it;",
        "the simulated employee clicks Solved or Still broken, or picks the right suggestion; the",
        'engineer resolves each ticket naming the right article, as "none: a new problem", or',
        "with no article for an out-of-scope report; an admin publishes a proposed article",
        "(`jethro kb publish`) once it holds 3 tickets of one new problem. See docs/learning.md.",
        "The matcher is the semantic one with its defaults (calibrated on each base).",
        "",
        "Regenerated by one command (it reads CLINC150 from `../shared/datasets/`):",
        "",
        "    .venv/bin/python bench/learning_curve.py",
        "",
        "![precision, deflection and out-of-scope recall per window](images/learning-curve.svg)",
        "",
        "## Targets",
        "",
        "| stream | target | first quarter | last quarter | |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for stream in streams:
        q = quarters(results[stream.name]["windows"])
        first, last = q[0], q[3]
        lines.append(
            _target(
                stream.name, "answered precision ≥ .95", first, last, "answered_precision", 0.95
            )
        )
        if stream.never_taught:
            lines.append(_target(stream.name, "deflection ≥ .65", first, last, "deflection", 0.65))
        else:
            gain = round(last["deflection"] - first["deflection"], 4)
            lines.append(
                f"| {stream.name} | deflection ≥ first quarter + .20 (+{gain:.3f}) "
                f"| {_show(first['deflection'])} | {_show(last['deflection'])} "
                f"| {verdict(gain >= 0.20)} |"
            )
    for stream in streams:
        result = results[stream.name]
        q = quarters(result["windows"])
        lines += [
            "",
            f"## {stream.title}",
            "",
            f"`{stream.name}`: {result['overall']['reports']} reports, {stream.about}; replayed "
            f"in {result['seconds']} s.",
        ]
        if "eval" in result:
            e = result["eval"]
            lines += [
                "",
                f"With nothing learned (`jethro kb eval` on the same stream): answered precision "
                f"{_show(e['answered_precision'])}, deflection {_show(e['deflection'])}, oos "
                f"recall {_show(e['oos_recall'])}.",
            ]
        lines += [
            "",
            *table(q, QUARTERS),
            "",
            "Every window:",
            "",
            *table(result["windows"], spans(result["windows"])),
        ]
    return "\n".join([*lines, ""])


def _target(
    name: str, what: str, first: dict[str, Any], last: dict[str, Any], rate: str, at_least: float
) -> str:
    value = last[rate]
    return (
        f"| {name} | {what} | {_show(first[rate])} | {_show(value)} "
        f"| {verdict(value is not None and value >= at_least)} |"
    )


def chart(streams: list[Stream], results: dict[str, dict[str, Any]]) -> str:
    """Precision, deflection and out-of-scope recall per window, one panel per stream."""
    width, height, pad = 330, 220, 40
    colours = {"answered_precision": "#1f77b4", "deflection": "#2ca02c", "oos_recall": "#d62728"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{len(streams) * (width + 20)}" '
        f'height="{height + 60}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for panel, stream in enumerate(streams):
        windows = results[stream.name]["windows"]
        x0 = panel * (width + 20) + pad
        w, h = width - pad - 10, height - pad
        parts.append(f'<text x="{x0}" y="16" font-size="13">{stream.name}</text>')
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            y = 24 + h * (1 - tick)
            parts.append(
                f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#ddd"/>'
                f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>'
            )
        y = 24 + h * 0.05
        parts.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#999" '
            f'stroke-dasharray="3,3"/><text x="{x0 + w}" y="{y + 12:.1f}" text-anchor="end" '
            'fill="#666">.95</text>'
        )
        n = len(windows)
        for rate, colour in colours.items():
            points = [
                f"{x0 + w * (i + 0.5) / n:.1f},{24 + h * (1 - v[rate]):.1f}"
                for i, v in enumerate(windows)
                if v[rate] is not None
            ]
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
        total = results[stream.name]["overall"]["reports"]
        parts.append(
            f'<text x="{x0 + w / 2}" y="{24 + h + 16}" text-anchor="middle">'
            f"{total} reports, {n} windows</text>"
        )
    for i, (rate, colour) in enumerate(colours.items()):
        x = pad + i * 160
        parts.append(
            f'<rect x="{x}" y="{height + 36}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{height + 41}">{rate.replace("_", " ")}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    main()
