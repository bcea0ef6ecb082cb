"""Build a one-domain knowledge base from CLINC150, a third of its intents left out, to measure
how the decision treats in-domain problems the base has no article for.

CLINC150's intent-to-domain mapping is not in the dataset folder; the lists below are CLINC's
own domains (Larson et al. 2019) as the intents' names read, fixed here for the study only.
Articles are written as `../shared/tools/dataset_to_kb.py` writes them (the first K training
texts of each intent). Queries: the domain's val and test reports, those of the left-out intents
relabelled "oos", plus CLINC's own out-of-scope reports at the test split's 18% share.

    .venv/bin/python bench/domain_base.py ../shared/datasets/clinc150 /tmp/cal/banking \
        --domain banking
    jethro kb eval --kb /tmp/cal/banking/kb /tmp/cal/banking/queries-test.jsonl --json
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

DOMAINS = {
    "banking": (
        "account_blocked balance bill_balance bill_due freeze_account interest_rate min_payment "
        "order_checks pay_bill pin_change report_fraud routing spending_history transactions "
        "transfer"
    ),
    "credit_cards": (
        "apr application_status card_declined credit_limit credit_limit_change credit_score "
        "damaged_card expiration_date improve_credit_score international_fees new_card "
        "redeem_rewards replacement_card_duration report_lost_card rewards_balance"
    ),
    "travel": (
        "book_flight book_hotel car_rental carry_on exchange_rate flight_status "
        "international_visa lost_luggage plug_type timezone translate travel_alert "
        "travel_notification travel_suggestion vaccines"
    ),
}
OOS_SHARE = 0.18


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("out", type=Path)
    choices = ", ".join(DOMAINS)
    parser.add_argument("--domain", default="banking", help=f"comma-separated: {choices}")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--unseen", type=float, default=1 / 3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    intents = sorted(i for d in args.domain.split(",") for i in DOMAINS[d].split())
    unseen = set(random.Random(args.seed).sample(intents, round(len(intents) * args.unseen)))
    examples: dict[str, list[str]] = defaultdict(list)
    for row in read(args.dataset / "train.jsonl"):
        examples[row["label"]].append(row["text"])
    kb = args.out / "kb"
    kb.mkdir(parents=True, exist_ok=True)
    for intent in intents:
        if intent in unseen:
            continue
        title = intent.replace("_", " ").strip().capitalize()
        lines = ["---", f"title: {json.dumps(title)}", "examples:"]
        lines += [f"  - {json.dumps(t)}" for t in examples[intent][: args.k]]
        lines += ["---", f"How to handle: {title.lower()}.", ""]
        (kb / f"{intent}.md").write_text("\n".join(lines), encoding="utf-8")
    for split in ("val", "test"):
        rows = read(args.dataset / f"{split}.jsonl")
        kept = [
            {"text": r["text"], "label": "oos" if r["label"] in unseen else r["label"]}
            for r in rows
            if r["label"] in intents
        ]
        oos = [r for r in rows if r["label"] == "oos"]
        kept += oos[: round(len(kept) * OOS_SHARE / (1 - OOS_SHARE))]
        with (args.out / f"queries-{split}.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(r) + "\n" for r in kept)
    print(f"{len(intents) - len(unseen)} articles in {kb}; left out: {', '.join(sorted(unseen))}")


if __name__ == "__main__":
    main()
