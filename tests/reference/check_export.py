"""Loads an HF folder written by burnbert with `transformers` and prints its logits as JSON.

    python3 tests/reference/check_export.py FOLDER INPUTS.json

INPUTS.json holds `input_ids`, `attention_mask`, `token_type_ids` (lists of rows). The model class
is the one `architectures` in config.json names; the output is `{"logits": [...]}` (for QA,
`start_logits` and `end_logits`), flattened row-major, plus `"labels"` from `id2label`.
"""
import json
import sys

import torch
import transformers
from transformers import AutoConfig

folder, inputs_path = sys.argv[1], sys.argv[2]
config = AutoConfig.from_pretrained(folder)
cls = getattr(transformers, config.architectures[0])
model = cls.from_pretrained(folder).eval()
with open(inputs_path) as f:
    inputs = {k: torch.tensor(v) for k, v in json.load(f).items()}
with torch.no_grad():
    out = model(**inputs)
result = {"labels": [config.id2label[i] for i in range(len(config.id2label))]}
for key in ["logits", "start_logits", "end_logits"]:
    if getattr(out, key, None) is not None:
        result[key] = out[key].reshape(-1).tolist()
print(json.dumps(result))
