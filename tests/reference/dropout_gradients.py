"""Dropout's effect on one training step, as a distribution: the loss and the gradients of a token
classifier in train mode (every dropout site active) on one fixed padded batch, over many draws.
Two implementations of dropout agree when the mean and variance of the loss and the mean of each
gradient entry agree over the draws (tests/dropout_gradients.rs): a mask drawn with the wrong
rate, scaled wrongly, shared between sites or steps, or a backward pass that does not use the
forward's mask, moves them.

Models: assets/tiny-bert-tokcls with every dropout probability at 0.3, and all-MiniLM-L6-v2 (its
config: 0.1) with a token-classification head of 9 labels, weight[o][i] = 0.05·sin(384·o + i + 1)
and bias 0.
Of MiniLM's weight matrices the gradients of the first 2 rows (outputs) are kept, so that the
file stays small; of the tiny model's, all.
Writes assets/reference/dropout_gradients.json.

    python3 tests/reference/dropout_gradients.py MINILM_FOLDER   # torch 2.9.0, transformers 5.23.0
"""
import json
import os
import sys

import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TINY = os.path.join(ROOT, "assets", "tiny-bert-tokcls")
OUT = os.path.join(ROOT, "assets", "reference", "dropout_gradients.json")
SENTENCES = [
    "John lives in Paris and works for Acme Corp .",
    "The film was boring .",
    "EU rejects German call to boycott British lamb .",
    "Peter Blackburn",
]
# The parameters whose gradients are compared (HF names), one per kind of site they sit after.
GRADS = [
    "classifier.weight",
    "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.0.attention.self.value.weight",
    "bert.encoder.layer.0.output.dense.weight",
    "bert.embeddings.LayerNorm.weight",
]


def tensor(t):
    return {"shape": list(t.shape), "data": [float(f"{x:.7g}") for x in t.flatten().tolist()]}


def moments(model, batch, labels, draws, seed, rows):
    torch.manual_seed(seed)
    model.train()
    params = dict(model.named_parameters())
    losses, sums, squares = [], {}, {}
    for _ in range(draws):
        model.zero_grad()
        loss = model(**batch, labels=labels).loss
        loss.backward()
        losses.append(loss.item())
        for name in GRADS:
            g = params[name].grad.detach().double()
            g = g[:rows] if g.dim() == 2 else g
            sums[name] = sums.get(name, 0) + g
            squares[name] = squares.get(name, 0) + g * g
    mean = {n: sums[n] / draws for n in GRADS}
    var = {n: (squares[n] - draws * mean[n] ** 2) / (draws - 1) for n in GRADS}
    return {
        "draws": draws,
        "rows": rows,
        "loss_mean": sum(losses) / draws,
        "loss_var": sum((x - sum(losses) / draws) ** 2 for x in losses) / (draws - 1),
        "grad_mean": {n: tensor(mean[n]) for n in GRADS},
        "grad_var": {n: tensor(var[n]) for n in GRADS},
    }


def labels_for(input_ids, attention_mask, num_labels):
    # Every real token gets label (id mod num_labels); padding is ignored (-100).
    labels = input_ids % num_labels
    return labels.masked_fill(attention_mask == 0, -100)


def main():
    minilm = sys.argv[1]
    out = {}

    model = AutoModelForTokenClassification.from_pretrained(
        TINY, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3)
    reference = json.load(open(os.path.join(ROOT, "assets", "reference", "tiny.json")))
    inputs = {k: torch.tensor(v) for k, v in reference["tiny-bert-tokcls"]["inputs"].items()}
    labels = labels_for(inputs["input_ids"], inputs["attention_mask"], model.config.num_labels)
    out["tiny"] = {"dropout": 0.3, "inputs": {k: v.tolist() for k, v in inputs.items()},
                   "labels": labels.tolist(), **moments(model, inputs, labels, 4000, 0, None)}

    model = AutoModelForTokenClassification.from_pretrained(minilm, num_labels=9)
    with torch.no_grad():
        out_features, in_features = model.classifier.weight.shape
        index = torch.arange(out_features * in_features, dtype=torch.float64) + 1
        model.classifier.weight.copy_((0.05 * torch.sin(index)).reshape(out_features, in_features))
        model.classifier.bias.zero_()
    tokenizer = AutoTokenizer.from_pretrained(minilm)
    batch = dict(tokenizer(SENTENCES, padding=True, return_tensors="pt"))
    labels = labels_for(batch["input_ids"], batch["attention_mask"], 9)
    out["minilm"] = {
        "dropout": model.config.hidden_dropout_prob,
        "inputs": {k: v.tolist() for k, v in batch.items()},
        "labels": labels.tolist(),
        **moments(model, batch, labels, 400, 0, 2),
    }
    with open(OUT, "w") as f:
        json.dump(out, f)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
