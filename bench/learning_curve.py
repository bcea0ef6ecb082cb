"""The learning curve: `jethro kb replay` on CLINC150, a third of its intents unseen on day one.

One command regenerates docs/learning-curve.md and its chart (docs/images/learning-curve.svg):

    .venv/bin/python bench/learning_curve.py            # about 10 minutes on 2 cores

It builds two bases and streams (in --work, default /tmp/jethro-learning-curve):
- `clinc`: all of CLINC150, a third of the intents left out of the base; the stream is the test
  split shuffled, where a left-out intent keeps its label (`../shared/tools/dataset_to_kb.py
  --unseen 0.333 --replay`): problems engineers solve and an admin publishes.
- `domain`: three of CLINC's domains (banking, credit cards, travel), a third of their intents
  left out and labelled "oos", so they never get an article (`bench/domain_base.py`), plus
  CLINC's out-of-scope reports; val and test shuffled into one stream: in-domain unknowns that
  look like known problems.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DOC = ROOT / "docs" / "learning-curve.md"
CHART = ROOT / "docs" / "images" / "learning-curve.svg"
RATES = ("answered_precision", "deflection", "oos_recall")
COUNTS = ("reports", "answered", "right", "in_scope", "oos", "oos_kept", "escalated", "learned")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=SHARED / "datasets" / "clinc150")
    parser.add_argument("--work", type=Path, default=Path("/tmp/jethro-learning-curve"))
    parser.add_argument("--windows", type=int, default=20, help="points on the curve (by 4)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    streams = {
        "clinc": clinc_stream(args.dataset, args.work / "clinc", args.seed),
        "domain": domain_stream(args.dataset, args.work / "domain", args.seed),
    }
    results = {}
    for name, (kb, stream) in streams.items():
        started = time.perf_counter()
        reports = sum(1 for line in stream.read_text().splitlines() if line.strip())
        results[name] = replay(kb, stream, -(-reports // args.windows))
        results[name]["seconds"] = round(time.perf_counter() - started, 1)
        print(f"{name}: {json.dumps(results[name]['overall'])}", file=sys.stderr)
    (args.work / "results.json").write_text(json.dumps(results, indent=2))
    CHART.parent.mkdir(parents=True, exist_ok=True)
    CHART.write_text(chart(results))
    DOC.write_text(page(results))
    print(f"wrote {DOC.relative_to(ROOT)} and {CHART.relative_to(ROOT)}", file=sys.stderr)


def clinc_stream(dataset: Path, out: Path, seed: int) -> tuple[Path, Path]:
    tool = SHARED / "tools" / "dataset_to_kb.py"
    command = [sys.executable, str(tool), str(dataset), str(out), "--k", "10"]
    subprocess.run([*command, "--unseen", "0.333", "--seed", str(seed), "--replay"], check=True)
    return out / "kb", out / "replay-test.jsonl"


def domain_stream(dataset: Path, out: Path, seed: int) -> tuple[Path, Path]:
    builder = ROOT / "bench" / "domain_base.py"
    domains = "banking,credit_cards,travel"
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


def page(results: dict[str, dict[str, Any]]) -> str:
    clinc, domain = results["clinc"], results["domain"]
    cq = quarters(clinc["windows"])
    dq = quarters(domain["windows"])
    c_prec, c_first, c_last = (
        cq[3]["answered_precision"],
        cq[0]["deflection"],
        cq[3]["deflection"],
    )
    d_prec, d_defl = dq[3]["answered_precision"], dq[3]["deflection"]
    gain = round(c_last - c_first, 4)
    lines = [
        "# The learning curve",
        "",
        "What `jethro kb replay` measures while the bot learns from the people it serves (issue",
        "#13): each report is judged by the real decision before anything is learned from it;",
        "the simulated employee clicks Solved or Still broken, or picks the right suggestion; the",
        'engineer resolves each ticket naming the right article, as "none: a new problem", or',
        "with no article for an out-of-scope report; an admin publishes a proposed article",
        "(`jethro kb publish`) once it holds 3 tickets of one new problem. See docs/learning.md.",
        "",
        "Regenerated by one command (it reads CLINC150 from `../shared/datasets/`):",
        "",
        "    .venv/bin/python bench/learning_curve.py",
        "",
        "![precision, deflection and out-of-scope recall per window](images/learning-curve.svg)",
        "",
        "## Targets",
        "",
        "| target | first quarter | last quarter | |",
        "| --- | ---: | ---: | --- |",
        f"| base missing a third of its problems: answered precision ≥ .95 in the last quarter "
        f"| {_show(cq[0]['answered_precision'])} | {_show(c_prec)} "
        f"| {verdict(c_prec is not None and c_prec >= 0.95)} |",
        f"| same: deflection in the last quarter ≥ first + .20 (+{gain:.3f}) "
        f"| {_show(c_first)} | {_show(c_last)} | {verdict(gain >= 0.20)} |",
        f"| in-domain unknowns that never get an article: precision ≥ .95 "
        f"| {_show(dq[0]['answered_precision'])} | {_show(d_prec)} "
        f"| {verdict(d_prec is not None and d_prec >= 0.95)} |",
        f"| same: deflection ≥ .65 | {_show(dq[0]['deflection'])} | {_show(d_defl)} "
        f"| {verdict(d_defl is not None and d_defl >= 0.65)} |",
        "",
        "## CLINC150, a third of the intents unseen on day one",
        "",
        f"{clinc['overall']['reports']} reports (the test split, shuffled), 100 articles of 10 "
        f"examples on day one, 50 intents without one; {clinc['seconds']} s.",
        "",
        "Quarters:",
        "",
        *table(cq, ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"]),
        "",
        "Every window:",
        "",
        *table(clinc["windows"], spans(clinc["windows"])),
        "",
        "## In-domain unknowns that never get an article",
        "",
        "Banking, credit cards and travel (45 intents), 15 of them left out and labelled",
        f'"oos", with CLINC\'s out-of-scope reports: {domain["overall"]["reports"]} reports '
        f"(val and test, shuffled); {domain['seconds']} s.",
        "",
        "Quarters:",
        "",
        *table(dq, ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"]),
        "",
        "Every window:",
        "",
        *table(domain["windows"], spans(domain["windows"])),
        "",
    ]
    return "\n".join(lines)


def chart(results: dict[str, dict[str, Any]]) -> str:
    """Precision, deflection and out-of-scope recall per window, one panel per stream."""
    width, height, pad = 360, 220, 40
    colours = {"answered_precision": "#1f77b4", "deflection": "#2ca02c", "oos_recall": "#d62728"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width + 20}" height="{height + 60}"'
        ' font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for panel, (name, title) in enumerate(
        [("clinc", "CLINC150, a third unseen"), ("domain", "in-domain unknowns, never taught")]
    ):
        windows = results[name]["windows"]
        x0 = panel * (width + 20) + pad
        w, h = width - pad - 10, height - pad
        parts.append(f'<text x="{x0}" y="16" font-size="13">{title}</text>')
        for tick in (0.0, 0.25, 0.5, 0.75, 0.95, 1.0):
            y = 24 + h * (1 - tick)
            dash = ' stroke-dasharray="3,3"' if tick == 0.95 else ""
            parts.append(
                f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#ddd"{dash}/>'
                f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>'
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
        total = results[name]["overall"]["reports"]
        parts.append(
            f'<text x="{x0 + w / 2}" y="{24 + h + 16}" text-anchor="middle">'
            f"reports (of {total}), in {len(windows)} windows</text>"
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
