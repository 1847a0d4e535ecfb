"""The PyTorch side of the masked-LM comparison: `examples/mlm.rs`'s data, split and recipe with
`transformers` (BertForMaskedLM, DataCollatorForLanguageModeling), written as run_mlm.py does it.

    python3 tests/reference/mlm_pytorch.py MODEL_DIR REVIEWS_CSV [--seed 0] [--max-steps 200]
        [--batch-size 16] [--max-length 128] [--json OUT]

MODEL_DIR: all-MiniLM-L6-v2 (its MLM head is absent, so freshly initialised under
torch.manual_seed(SEED), as from_pretrained does). REVIEWS_CSV: the 1,500 Pang & Lee reviews
(`reviews.csv` of the asset cache; UTF-8 with BOM, rows "label","text").
Split: the first round(5 %) of the reviews, in file order, are held out (run_mlm.py's
`train[:5%]`), the rest train. Both are tokenized whole ([CLS] ... [SEP] each), concatenated in
groups of 1,000 documents (datasets.map's batch) and cut into blocks of MAX_LENGTH tokens, each
group's remainder dropped (run_mlm.py's group_texts).
Recipe: AdamW lr 5e-5, weight decay 0.01 except biases and LayerNorm weights, eps 1e-8, linear
decay to 0 over MAX_STEPS without warmup, global grad-norm clip 1.0, batches of BATCH_SIZE
blocks shuffled by torch.Generator seeded SEED, dropout on, DataCollatorForLanguageModeling
(mlm_probability 0.15, 80/10/10).
Perplexity: exp of the mean cross-entropy over all masked tokens of the held-out blocks,
masked once by the collator seeded 1234, batches of 32; before and after training.
Prints one JSON line: block counts, perplexities, seconds, torch and transformers versions.
"""
import argparse
import csv
import json
import math
import time

import torch
import transformers
from transformers import AutoTokenizer, BertForMaskedLM, DataCollatorForLanguageModeling
from transformers import get_linear_schedule_with_warmup

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("csv")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--max-steps", type=int, default=200)
ap.add_argument("--batch-size", type=int, default=16)
ap.add_argument("--max-length", type=int, default=128)
ap.add_argument("--json")
a = ap.parse_args()
torch.set_num_threads(2)

with open(a.csv, encoding="utf-8-sig", newline="") as f:
    texts = [r[1] for r in csv.reader(f)]
held_out = min(max(round(len(texts) * 0.05), 1), len(texts) - 1)
valid_texts, train_texts = texts[:held_out], texts[held_out:]
tok = AutoTokenizer.from_pretrained(a.model)


def blocks(docs):
    out = []
    for g in range(0, len(docs), 1000):
        ids, special = [], []
        for d in docs[g:g + 1000]:
            enc = tok(d, return_special_tokens_mask=True, truncation=False)
            ids += enc["input_ids"]
            special += enc["special_tokens_mask"]
        n = len(ids) // a.max_length * a.max_length
        for i in range(0, n, a.max_length):
            out.append({"input_ids": ids[i:i + a.max_length],
                        "special_tokens_mask": special[i:i + a.max_length]})
    return out


train, valid = blocks(train_texts), blocks(valid_texts)
torch.manual_seed(a.seed)
model = BertForMaskedLM.from_pretrained(a.model)
collate = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, seed=a.seed)
eval_collate = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, seed=1234)
eval_batches = [eval_collate([dict(b) for b in valid[i:i + 32]]) for i in range(0, len(valid), 32)]


def perplexity():
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in eval_batches:
            n = (batch["labels"] != -100).sum().item()
            total += model(**batch).loss.item() * n
            count += n
    model.train()
    return math.exp(total / count), count


before, masked = perplexity()
decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                         {"params": no_decay, "weight_decay": 0.0}], lr=5e-5, eps=1e-8)
sched = get_linear_schedule_with_warmup(opt, 0, a.max_steps)
gen = torch.Generator().manual_seed(a.seed)
model.train()
t = time.perf_counter()
step = 0
while step < a.max_steps:
    order = torch.randperm(len(train), generator=gen).tolist()
    for i in range(0, len(order), a.batch_size):
        if step == a.max_steps:
            break
        batch = collate([dict(train[j]) for j in order[i:i + a.batch_size]])
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step(); opt.zero_grad()
        step += 1
seconds = time.perf_counter() - t
after, _ = perplexity()
result = {"seed": a.seed, "train_blocks": len(train), "valid_blocks": len(valid),
          "valid_masked_tokens": masked, "perplexity_before": before, "perplexity_after": after,
          "steps": a.max_steps, "batch_size": a.batch_size, "train_seconds": round(seconds, 1),
          "torch": torch.__version__, "transformers": transformers.__version__}
print(json.dumps(result), flush=True)
if a.json:
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
