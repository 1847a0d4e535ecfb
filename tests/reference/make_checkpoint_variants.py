"""Checkpoint variants of assets/tiny-bert that hub folders come in, and what transformers makes
of them: the weights stored as float16, bfloat16 and float64, and sharded (safetensors and .bin,
with their index files). Writes tests/fixtures/tiny-bert-{f16,bf16,f64,sharded,sharded-bin}/ and
tests/fixtures/checkpoint_variants.json: for each, the last_hidden_state that
`BertModel.from_pretrained(folder)` (float32, transformers' default) gives for "hello world".

    python3 tests/reference/make_checkpoint_variants.py   # torch 2.9.0, transformers 5.23.0
"""
import json
import os
import shutil

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, BertModel

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SRC = os.path.join(ROOT, "assets", "tiny-bert")
OUT = os.path.join(ROOT, "tests", "fixtures")
TOKENIZER = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json"]


def folder(name):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    for f in TOKENIZER:
        shutil.copy(os.path.join(SRC, f), path)
    return path


def shards(tensors, n):
    names = sorted(tensors)
    size = (len(names) + n - 1) // n
    return [{k: tensors[k] for k in names[i : i + size]} for i in range(0, len(names), size)]


tensors = load_file(os.path.join(SRC, "model.safetensors"))
for name, dtype in [("tiny-bert-f16", torch.float16), ("tiny-bert-bf16", torch.bfloat16),
                    ("tiny-bert-f64", torch.float64)]:
    path = folder(name)
    save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()},
              os.path.join(path, "model.safetensors"), metadata={"format": "pt"})

path = folder("tiny-bert-sharded")
weight_map = {}
for i, part in enumerate(shards(tensors, 3)):
    file = f"model-{i + 1:05d}-of-00003.safetensors"
    save_file(part, os.path.join(path, file), metadata={"format": "pt"})
    weight_map.update({k: file for k in part})
json.dump({"metadata": {}, "weight_map": weight_map},
          open(os.path.join(path, "model.safetensors.index.json"), "w"), indent=2)

# The second shard holds only the last layer: its indices must be read as they are.
path = folder("tiny-bert-sharded-bin")
weight_map = {}
last = "encoder.layer.1."
bin_shards = [{k: v for k, v in tensors.items() if not k.startswith(last)},
              {k: v for k, v in tensors.items() if k.startswith(last)}]
for i, part in enumerate(bin_shards):
    file = f"pytorch_model-{i + 1:05d}-of-00002.bin"
    torch.save(part, os.path.join(path, file))
    weight_map.update({k: file for k in part})
json.dump({"metadata": {}, "weight_map": weight_map},
          open(os.path.join(path, "pytorch_model.bin.index.json"), "w"), indent=2)

reference = {}
for name in ["tiny-bert-f16", "tiny-bert-bf16", "tiny-bert-f64", "tiny-bert-sharded",
             "tiny-bert-sharded-bin"]:
    path = os.path.join(OUT, name)
    tok = AutoTokenizer.from_pretrained(path)
    model = BertModel.from_pretrained(path).eval()
    assert next(model.parameters()).dtype == torch.float32
    with torch.no_grad():
        out = model(**tok("hello world", return_tensors="pt")).last_hidden_state[0]
    reference[name] = {"shape": list(out.shape), "data": [round(x, 7) for x in out.flatten().tolist()]}
json.dump(reference, open(os.path.join(OUT, "checkpoint_variants.json"), "w"))
print("wrote", ", ".join(reference))
