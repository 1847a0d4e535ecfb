"""Dropout in training, as a distribution: assets/tiny-bert-seqcls with every dropout
probability set to p (hidden and attention), fine-tuned with HF's recipe on the 48 sentences of
assets/reference/dropout_train.csv (AdamW lr 1e-2, no weight decay, no warmup, linear decay,
global-norm clip 1.0, batch 8, 15 epochs, max_length 16, the checkpoint's head kept), then its
mean cross-entropy on the same sentences in eval mode, for seeds 0-11. Dropout draws differ
between PyTorch and burnbert, so single runs differ; the distributions over seeds must agree
(crates/burnbert-cli/tests/dropout.rs). Writes assets/reference/dropout_losses.json.

    python3 tests/reference/dropout_pytorch.py   # torch 2.9.0, transformers 5.23.0
"""
import csv
import itertools
import json
import os
import shutil
import tempfile

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SRC = os.path.join(ROOT, "assets", "tiny-bert-seqcls")
DATA = os.path.join(ROOT, "assets", "reference", "dropout_train.csv")
LABELS = ["negative", "neutral", "positive"]
EPOCHS, BATCH, LR, SEEDS = 15, 8, 1e-2, 12


def sentences():
    rows = []
    for det, noun, adj in itertools.product(["the", "this"], ["movie", "film", "story", "play"],
                                            ["great", "good", "fun", "bad", "boring"]):
        rows.append((f"{det} {noun} was {adj}", "positive" if adj in ("great", "good", "fun") else "negative"))
    for who, what in itertools.product(["john", "who"], ["lives in paris", "works for acme corp", "lives in berlin"]):
        rows.append((f"{who} {what}", "neutral"))
    return rows


def folder(p, tmp):
    path = os.path.join(tmp, f"p{p}")
    shutil.copytree(SRC, path)
    config = json.load(open(os.path.join(path, "config.json")))
    config["hidden_dropout_prob"] = config["attention_probs_dropout_prob"] = p
    json.dump(config, open(os.path.join(path, "config.json"), "w"))
    return path


def final_loss(path, rows, seed):
    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    enc = tok([r[0] for r in rows], padding=True, truncation=True, max_length=16, return_tensors="pt")
    y = torch.tensor([LABELS.index(r[1]) for r in rows])
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0, eps=1e-8)
    steps = EPOCHS * ((len(rows) + BATCH - 1) // BATCH)
    schedule = get_linear_schedule_with_warmup(opt, 0, steps)
    order = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        model.train()
        for idx in torch.randperm(len(rows), generator=order).split(BATCH):
            batch = {k: v[idx] for k, v in enc.items()}
            model(**batch, labels=y[idx]).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            schedule.step()
            opt.zero_grad()
    model.eval()
    with torch.no_grad():
        return float(model(**enc, labels=y).loss)


if __name__ == "__main__":
    torch.set_num_threads(1)
    rows = sentences()
    with open(DATA, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    out = {"recipe": {"epochs": EPOCHS, "batch": BATCH, "learning_rate": LR, "max_length": 16},
           "losses": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for p in [0.0, 0.1, 0.3]:
            path = folder(p, tmp)
            out["losses"][str(p)] = [round(final_loss(path, rows, s), 6) for s in range(SEEDS)]
    json.dump(out, open(os.path.join(ROOT, "assets", "reference", "dropout_losses.json"), "w"), indent=1)
    print(json.dumps({p: sum(l) / len(l) for p, l in out["losses"].items()}))
