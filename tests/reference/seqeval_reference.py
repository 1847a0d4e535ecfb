"""seqeval's scores of random tag sequences, for burnbert's seqeval tests.

    python3 tests/reference/seqeval_reference.py   # writes assets/reference/seqeval.json

Random IOB2 / IOB1 / BIOES-ish sequences (including broken ones: I- after O, type changes,
E- without B-) scored with seqeval's default (non-strict) mode: micro P/R/F1, per-type
classification_report numbers, and accuracy_score.
"""
import json
import random
from pathlib import Path

import seqeval
from seqeval.metrics import accuracy_score, classification_report, f1_score, precision_score, recall_score

ROOT = Path(__file__).resolve().parents[2]
TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "E-PER", "S-LOC", "I-MISC"]


def main():
    rng = random.Random(0)
    cases = []
    for _ in range(40):
        n_sent = rng.randint(1, 4)
        gold = [[rng.choice(TAGS) for _ in range(rng.randint(1, 12))] for _ in range(n_sent)]
        pred = [[t if rng.random() < 0.7 else rng.choice(TAGS) for t in s] for s in gold]
        report = classification_report(gold, pred, output_dict=True, zero_division=0)
        per_type = {k: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]), "support": int(v["support"])}
                    for k, v in report.items() if not k.endswith("avg")}
        cases.append({
            "gold": gold, "pred": pred,
            "precision": float(precision_score(gold, pred, zero_division=0)),
            "recall": float(recall_score(gold, pred, zero_division=0)),
            "f1": float(f1_score(gold, pred, zero_division=0)),
            "accuracy": float(accuracy_score(gold, pred)),
            "per_type": per_type,
        })
    out = {"seqeval": seqeval.__version__ if hasattr(seqeval, "__version__") else "1.2.2", "cases": cases}
    with open(ROOT / "assets" / "reference" / "seqeval.json", "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
