"""CPU per text of the sentence encoder, by runtime and precision, and how far int8 moves a vector.

    .venv/bin/python bench/encoder.py   # the table in docs/matching.md, "Encoder precision"

One thread (as `jethro run` runs it), short reports like Slack's, CPU time of this process
(`time.process_time`), after a warm-up call. Needs the `semantic` extra and the model package.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from knowledge.embedding import BertEncoder, load_encoder

REPORTS = [
    "my vpn keeps dropping every few minutes when I work from home",
    "printer on floor 3 is jammed again",
    "I forgot my password and I am locked out of my account",
    "outlook will not sync my calendar",
    "wifi on the 4th floor is down",
    "can't log into jira since this morning",
    "laptop screen flickers when I plug in the dock",
    "how do I get access to the finance share drive",
]
CONFIGS = [("numpy", "float32"), ("onnx", "float32"), ("onnx", "int8")]


def cpu_ms_per_text(encoder: BertEncoder, batch: int, texts: int) -> float:
    stream = REPORTS * (texts // len(REPORTS) + 1)
    encoder.encode(stream[:batch])
    start = time.process_time()
    for i in range(0, texts, batch):
        encoder.encode(stream[i : i + batch])
    return (time.process_time() - start) * 1000 / texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=256, help="texts timed per cell (256)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    reference = load_encoder(runtime="numpy").encode(REPORTS)
    head = " | ".join(f"batch {b}" for b in args.batches)
    print(f"| runtime, precision | {head} | cosine to the numpy vector (min) |")
    print("|---|" + "---:|" * len(args.batches) + "---|")
    for runtime, precision in CONFIGS:
        encoder = load_encoder(runtime=runtime, precision=precision)
        cells = " | ".join(
            f"{cpu_ms_per_text(encoder, b, args.texts):.1f} ms" for b in args.batches
        )
        cosine = float(np.min((encoder.encode(REPORTS) * reference).sum(axis=1)))
        print(f"| {runtime}, {precision} | {cells} | {cosine:.4f} |")


if __name__ == "__main__":
    main()
