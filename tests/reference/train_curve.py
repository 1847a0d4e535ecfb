"""The PyTorch side of the short training test (tests/train_curve.rs): HF's recipe on the
committed tiny classifier, dropout off, no shuffle, and the loss of every step.

    python3 tests/reference/train_curve.py   # writes assets/reference/tiny_train.json

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


def main():
    torch.manual_seed(0)
    tokenizer = BertTokenizerFast.from_pretrained(FOLDER)
    model = BertForSequenceClassification.from_pretrained(
        FOLDER, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    ).train()
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": RECIPE["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=RECIPE["learning_rate"], betas=(0.9, 0.999), eps=1e-8,
    )
    schedule = get_linear_schedule_with_warmup(optimizer, RECIPE["warmup_steps"], RECIPE["max_steps"])
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


if __name__ == "__main__":
    main()
