"""Six masked-LM training steps in PyTorch on the tiny masked LM, dropout off, for
`tests/masked_lm.rs::training_steps_are_pytorchs`: writes assets/reference/mlm_train.json.

    python3 tests/reference/mlm_train_curve.py

Blocks: run_mlm.py's group_texts of TEXTS (blocks of 12 tokens), masked once by
DataCollatorForLanguageModeling (seed 0), in batches of 4; their input ids and labels are saved
so that both sides train on the same tokens. Recipe: AdamW lr 1e-3, weight decay 0.01 except
biases and LayerNorm weights, eps 1e-8, linear decay to 0 over the steps without warmup,
global-norm clipping at 1.0. The loss of each step is saved.
"""
import json
from pathlib import Path

import torch
from transformers import (BertForMaskedLM, BertTokenizerFast, DataCollatorForLanguageModeling,
                          get_linear_schedule_with_warmup)

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "assets" / "tiny-bert-mlm"
TEXTS = [
    "the movie was great and the story was fun",
    "john lives in paris and works for acme corp",
    "i love this film but the actor was bad",
    "who lives in berlin ? john did",
    "the play was boring , not very good",
    "this story is a good story , that film is not",
] * 4
STEPS, BATCH, BLOCK = 6, 4, 12

torch.manual_seed(0)
tok = BertTokenizerFast(str(FOLDER / "vocab.txt"), do_lower_case=True)
ids, special = [], []
for t in TEXTS:
    enc = tok(t, return_special_tokens_mask=True)
    ids += enc["input_ids"]
    special += enc["special_tokens_mask"]
n = len(ids) // BLOCK * BLOCK
blocks = [{"input_ids": ids[i:i + BLOCK], "special_tokens_mask": special[i:i + BLOCK]}
          for i in range(0, n, BLOCK)][:STEPS * BATCH]
collate = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, seed=0)
batches = [collate([dict(b) for b in blocks[i:i + BATCH]]) for i in range(0, len(blocks), BATCH)]

model = BertForMaskedLM.from_pretrained(str(FOLDER), hidden_dropout_prob=0.0,
                                        attention_probs_dropout_prob=0.0)
model.train()
decay = [p for name, p in model.named_parameters() if not ("bias" in name or "LayerNorm" in name)]
no_decay = [p for name, p in model.named_parameters() if "bias" in name or "LayerNorm" in name]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                         {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, eps=1e-8)
sched = get_linear_schedule_with_warmup(opt, 0, STEPS)
losses = []
for batch in batches:
    loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step(); sched.step(); opt.zero_grad()
    losses.append(loss.item())
out = {
    "steps": STEPS, "batch": BATCH, "learning_rate": 1e-3, "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "input_ids": [b["input_ids"].tolist() for b in batches],
    "labels": [b["labels"].tolist() for b in batches],
    "losses": losses,
}
with open(ROOT / "assets" / "reference" / "mlm_train.json", "w") as f:
    json.dump(out, f)
print(losses)
