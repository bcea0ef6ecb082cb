"""Build a small IT-style knowledge base and labelled queries from the bundled sample base.

Each article keeps its first `--keep` examples (title and body untouched); its other examples
become the reports that must be answered with it, and CLINC150's out-of-scope test reports are
added at the test split's 18% share. A study base for `jethro kb eval`, never read by the product.

    .venv/bin/python bench/it_base.py ../shared/datasets/clinc150 /tmp/cal/it
    jethro kb eval --kb /tmp/cal/it/kb /tmp/cal/it/queries-test.jsonl --json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from knowledge.loader import load_kb, sample_kb_path

OOS_SHARE = 0.18


def trimmed(text: str, keep: int) -> str:
    """The article file with only its first `keep` example lines in the front matter."""
    out, in_examples, seen = [], False, 0
    for line in text.splitlines():
        if line.startswith("examples:"):
            in_examples = True
        elif in_examples and line.startswith("  - "):
            seen += 1
            if seen > keep:
                continue
        else:
            in_examples = False
        out.append(line)
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="CLINC150 folder, for out-of-scope reports")
    parser.add_argument("out", type=Path)
    parser.add_argument("--keep", type=int, default=3)
    args = parser.parse_args()
    root = sample_kb_path()
    kb = load_kb(root)
    queries = []
    for article in kb.articles:
        target = args.out / "kb" / article.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(trimmed((root / article.path).read_text("utf-8"), args.keep), "utf-8")
        queries += [{"text": t, "label": article.id} for t in article.examples[args.keep :]]
    with (args.dataset / "test.jsonl").open(encoding="utf-8") as lines:
        oos = [r for r in map(json.loads, lines) if r["label"] == "oos"]
    queries += oos[: round(len(queries) * OOS_SHARE / (1 - OOS_SHARE))]
    with (args.out / "queries-test.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(q) + "\n" for q in queries)
    print(f"{len(kb.articles)} articles in {args.out / 'kb'}, {len(queries)} queries")


if __name__ == "__main__":
    main()
