"""Held-out perplexity of masked LMs on the masks `mlm_pytorch.py` evaluates with, so that
burnbert's exports and PyTorch's runs are scored on the very same masked tokens.

    python3 tests/reference/mlm_eval.py TOKENIZER_DIR REVIEWS_CSV FOLDER [FOLDER ...]
        [--seed 1234] [--max-length 128]

The held-out blocks are mlm_pytorch.py's: the first round(5 %) of the reviews, tokenized whole,
concatenated and cut into blocks of MAX_LENGTH, masked once by DataCollatorForLanguageModeling
(mlm_probability 0.15, seeded SEED, 1234 as mlm_pytorch.py), batches of 32. Prints each
folder's perplexity: exp of the mean cross-entropy over all masked tokens.
"""
import argparse
import csv
import math

import torch
from transformers import AutoTokenizer, BertForMaskedLM, DataCollatorForLanguageModeling

ap = argparse.ArgumentParser()
ap.add_argument("tokenizer")
ap.add_argument("csv")
ap.add_argument("folders", nargs="+")
ap.add_argument("--seed", type=int, default=1234)
ap.add_argument("--max-length", type=int, default=128)
a = ap.parse_args()
torch.set_num_threads(2)
with open(a.csv, encoding="utf-8-sig", newline="") as f:
    texts = [r[1] for r in csv.reader(f)]
held_out = min(max(round(len(texts) * 0.05), 1), len(texts) - 1)
tok = AutoTokenizer.from_pretrained(a.tokenizer)
ids, special = [], []
for d in texts[:held_out]:
    enc = tok(d, return_special_tokens_mask=True, truncation=False)
    ids += enc["input_ids"]
    special += enc["special_tokens_mask"]
n = len(ids) // a.max_length * a.max_length
blocks = [{"input_ids": ids[i:i + a.max_length], "special_tokens_mask": special[i:i + a.max_length]}
          for i in range(0, n, a.max_length)]
collate = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, seed=a.seed)
batches = [collate([dict(b) for b in blocks[i:i + 32]]) for i in range(0, len(blocks), 32)]
for folder in a.folders:
    model = BertForMaskedLM.from_pretrained(folder).eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in batches:
            k = (batch["labels"] != -100).sum().item()
            total += model(**batch).loss.item() * k
            count += k
    print(f"{folder}\t{math.exp(total / count):.2f}", flush=True)
