"""The PyTorch side of the side-by-side runs for sentence pairs, regression and multi-label
(README's task table; recipes in docs/measurements.md), on the files `prepare_tasks.py`
writes; `burnbert train` reads the same files with the same recipe.

Usage: python tasks_pytorch.py MODEL_DIR TRAIN DEV --kind classification|regression|multi_label
         --text-column A [--text-pair-column B] --label-column L [--epochs 1] [--seed 0]
         [--max-length 128] [--json OUT]
Recipe (burnbert's flags: --epochs 1 --batch-size 32 --learning-rate 5e-5 --weight-decay 0.01
--max-length 128 --seed S): BertForSequenceClassification, head initialised under
torch.manual_seed(SEED); AdamW lr 5e-5, weight decay 0.01 except biases and LayerNorm weights,
eps 1e-8; linear decay to 0 without warmup; global grad-norm clip 1.0; batch 32 shuffled by
torch.Generator seeded SEED; dynamic padding; pairs truncated longest-first (the tokenizer's
`truncation=True`); dropout on. Losses as transformers picks them by problem_type: cross-entropy,
MSE (one output), BCE with logits. Labels: classes in sorted order; regression targets as
they are (not normalised).
Scores on DEV after the last epoch, as their reference libraries compute them:
- classification: accuracy, macro F1 (scikit-learn);
- regression: Pearson and Spearman (SciPy), MSE;
- multi_label (sigmoid > 0.5): micro, macro and samples F1, subset accuracy (scikit-learn).
"""
import argparse, json, time

import numpy as np, torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score
from transformers import AutoTokenizer, BertForSequenceClassification, get_linear_schedule_with_warmup

ap = argparse.ArgumentParser()
ap.add_argument("model"); ap.add_argument("train"); ap.add_argument("dev")
ap.add_argument("--kind", required=True, choices=["classification", "regression", "multi_label"])
ap.add_argument("--text-column", required=True); ap.add_argument("--text-pair-column")
ap.add_argument("--label-column", required=True)
ap.add_argument("--epochs", type=int, default=1); ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--max-length", type=int, default=128); ap.add_argument("--json")
a = ap.parse_args()
torch.set_num_threads(2)

read = lambda path: [json.loads(line) for line in open(path, encoding="utf-8")]
train, dev = read(a.train), read(a.dev)
if a.kind == "classification":
    labels = sorted({r[a.label_column] for r in train + dev})
    target = lambda r: labels.index(r[a.label_column])
    num_labels, problem = len(labels), "single_label_classification"
elif a.kind == "multi_label":
    labels = sorted({l for r in train + dev for l in r[a.label_column]})
    target = lambda r: [1.0 if l in r[a.label_column] else 0.0 for l in labels]
    num_labels, problem = len(labels), "multi_label_classification"
else:
    target = lambda r: float(r[a.label_column])
    num_labels, problem = 1, "regression"

tok = AutoTokenizer.from_pretrained(a.model)
torch.manual_seed(a.seed)
model = BertForSequenceClassification.from_pretrained(a.model, num_labels=num_labels, problem_type=problem)
decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                         {"params": no_decay, "weight_decay": 0.0}], lr=5e-5, eps=1e-8)
steps_per_epoch = (len(train) + 31) // 32
sched = get_linear_schedule_with_warmup(opt, 0, steps_per_epoch * a.epochs)
gen = torch.Generator().manual_seed(a.seed)


def batch(rows):
    texts = [r[a.text_column] for r in rows]
    pairs = [r[a.text_pair_column] for r in rows] if a.text_pair_column else None
    enc = tok(texts, pairs, truncation=True, max_length=a.max_length, padding=True, return_tensors="pt")
    y = torch.tensor([target(r) for r in rows])
    return enc, y


def scores():
    model.eval(); outputs = []
    with torch.inference_mode():
        for i in range(0, len(dev), 64):
            enc, _ = batch(dev[i:i + 64])
            outputs.append(model(**enc).logits)
    model.train()
    logits = torch.cat(outputs).numpy()
    y = np.array([target(r) for r in dev])
    if a.kind == "classification":
        pred = logits.argmax(-1)
        return {"accuracy": accuracy_score(y, pred), "macro_f1": f1_score(y, pred, average="macro")}
    if a.kind == "multi_label":
        pred = (1 / (1 + np.exp(-logits)) > 0.5).astype(int)
        return {"f1": f1_score(y, pred, average="micro", zero_division=0),
                "macro_f1": f1_score(y, pred, average="macro", zero_division=0),
                "samples_f1": f1_score(y, pred, average="samples", zero_division=0),
                "subset_accuracy": accuracy_score(y, pred)}
    pred = logits[:, 0]
    return {"pearson": pearsonr(pred, y).statistic, "spearmanr": spearmanr(pred, y).statistic,
            "mse": float(np.mean((pred - y) ** 2))}


history = []
for epoch in range(1, a.epochs + 1):
    t = time.perf_counter(); order = torch.randperm(len(train), generator=gen).tolist()
    model.train()
    for i in range(0, len(order), 32):
        enc, y = batch([train[j] for j in order[i:i + 32]])
        loss = model(**enc, labels=y).loss
        loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step(); opt.zero_grad()
    secs = time.perf_counter() - t; s = {k: float(v) for k, v in scores().items()}
    history.append({"epoch": epoch, **s, "seconds": round(secs, 1)})
    print(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in s.items()) + f" ({secs:.0f} s)", flush=True)
if a.json:
    json.dump({"torch": torch.__version__, "history": history}, open(a.json, "w"), indent=1)
