"""The PyTorch side of the short training test (tests/train_curve.rs): HF's recipe on the
committed tiny classifier, dropout off, no shuffle, and the loss of every step.

    python3 tests/reference/train_curve.py   # writes assets/reference/tiny_train.json and
                                             # tiny_train_tasks.json (pairs, regression, multi-label)

Recipe (what `Trainer` does with these TrainingArguments): AdamW lr 1e-2, betas (0.9, 0.999),
eps 1e-8, weight decay 0.01 except biases and LayerNorm weights, linear schedule with 2 warmup
steps over 8 steps, clip_grad_norm_(1.0), batches of 4 taken in order, padded to the batch's
longest sequence.
"""
import json
from pathlib import Path

import torch
from transformers import BertForSequenceClassification, BertTokenizerFast, get_linear_schedule_with_warmup

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "assets" / "tiny-bert-seqcls"
TEXTS = [
    ("the movie was great", "positive"),
    ("a bad boring film", "negative"),
    ("it was a film", "neutral"),
    ("i love this story , very fun", "positive"),
    ("i hate that actor", "negative"),
    ("the actor plays in paris", "neutral"),
    ("not good , not fun", "negative"),
    ("a great play and a good story", "positive"),
]
RECIPE = dict(learning_rate=1e-2, weight_decay=0.01, warmup_steps=2, max_steps=8, batch_size=4, max_grad_norm=1.0)


def optimizer_and_schedule(model, recipe):
    """Trainer's AdamW (no decay on biases and LayerNorm weights) and linear warmup/decay."""
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": recipe["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=recipe["learning_rate"], betas=(0.9, 0.999), eps=1e-8,
    )
    return optimizer, get_linear_schedule_with_warmup(optimizer, recipe["warmup_steps"], recipe["max_steps"])


def main():
    torch.manual_seed(0)
    tokenizer = BertTokenizerFast.from_pretrained(FOLDER)
    model = BertForSequenceClassification.from_pretrained(
        FOLDER, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    ).train()
    optimizer, schedule = optimizer_and_schedule(model, RECIPE)
    label_ids = model.config.label2id
    losses = []
    for step in range(RECIPE["max_steps"]):
        start = (step * RECIPE["batch_size"]) % len(TEXTS)
        rows = TEXTS[start:start + RECIPE["batch_size"]]
        batch = tokenizer([t for t, _ in rows], padding=True, return_tensors="pt")
        labels = torch.tensor([label_ids[l] for _, l in rows])
        loss = model(**batch, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), RECIPE["max_grad_norm"])
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    out = {"texts": TEXTS, "recipe": RECIPE, "losses": losses,
           "classifier.weight": model.classifier.weight.detach().flatten().tolist()}
    with open(ROOT / "assets" / "reference" / "tiny_train.json", "w") as f:
        json.dump(out, f, indent=1)
    print(losses)


# The other problem types and inputs of a sequence classifier, each on the same recipe:
# sentence pairs (cross-entropy, token type 1 on the second text), regression (one new output,
# MSE; the head starts fresh, so its initial weights are written for burnbert to start from
# them) and multi-label classification (the fixture's three labels, BCE with logits). At this
# recipe's learning rate of 1e-2 the pairs' curve is chaotic (a 1e-6 change of the weights moved
# a loss by 2.4e-3): these run at 3e-3, where it moved them by 1.4e-5 at most.
TASK_RECIPE = dict(RECIPE, learning_rate=3e-3)
PAIRS = [
    ("the movie was great", "a great play", "positive"),
    ("a bad boring film", "i hate that actor", "negative"),
    ("it was a film", "the actor plays in paris", "neutral"),
    ("i love this story", "very fun", "positive"),
    ("not good , not fun", "a bad film", "negative"),
    ("the story was in paris", "it was a play", "neutral"),
    ("a good film", "great story , great actor", "positive"),
    ("boring", "not a good play", "negative"),
]
SCORES = [4.8, 1.2, 2.5, 4.0, 0.6, 2.2, 1.0, 4.5]
LABEL_LISTS = [["positive"], ["negative"], [], ["positive", "neutral"], ["negative"],
               ["neutral"], ["negative", "neutral"], ["positive"]]


def task_curve(kind, recipe=TASK_RECIPE):
    torch.manual_seed(0)
    tokenizer = BertTokenizerFast.from_pretrained(FOLDER)
    options = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    if kind == "regression":
        options.update(num_labels=1, problem_type="regression", ignore_mismatched_sizes=True)
    if kind == "multi_label":
        options.update(problem_type="multi_label_classification")
    model = BertForSequenceClassification.from_pretrained(FOLDER, **options).train()
    initial = {"classifier.weight": model.classifier.weight.detach().flatten().tolist(),
               "classifier.bias": model.classifier.bias.detach().tolist()}
    optimizer, schedule = optimizer_and_schedule(model, recipe)
    label_ids = model.config.label2id
    if kind == "pairs":
        rows = [(a, b, l) for a, b, l in PAIRS]
        target = lambda r: label_ids[r[2]]
    elif kind == "regression":
        rows = [(t, None, s) for (t, _), s in zip(TEXTS, SCORES)]
        target = lambda r: [r[2]]
    else:
        rows = [(t, None, ls) for (t, _), ls in zip(TEXTS, LABEL_LISTS)]
        target = lambda r: [1.0 if l in r[2] else 0.0 for l in sorted(label_ids, key=label_ids.get)]
    losses = []
    for step in range(recipe["max_steps"]):
        start = (step * recipe["batch_size"]) % len(rows)
        batch_rows = rows[start:start + recipe["batch_size"]]
        pairs = [b for _, b, _ in batch_rows] if kind == "pairs" else None
        batch = tokenizer([a for a, _, _ in batch_rows], pairs, padding=True, return_tensors="pt")
        labels = torch.tensor([target(r) for r in batch_rows])
        loss = model(**batch, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe["max_grad_norm"])
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return {"rows": rows, "losses": losses, "initial": initial,
            "classifier.weight": model.classifier.weight.detach().flatten().tolist()}


def tasks():
    out = {"recipe": TASK_RECIPE}
    for kind in ["pairs", "regression", "multi_label"]:
        out[kind] = task_curve(kind)
        print(kind, out[kind]["losses"])
    with open(ROOT / "assets" / "reference" / "tiny_train_tasks.json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
    tasks()
