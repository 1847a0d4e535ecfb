"""Loads a folder burnbert exported with transformers and prints its logits for one text as
JSON: {"logits": [...], "label": "..."}. Used by the CLI test of a trained export."""
import json
import sys

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

folder, text = sys.argv[1], sys.argv[2]
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
with torch.no_grad():
    logits = model(**tokenizer(text, return_tensors="pt")).logits[0]
print(json.dumps({"logits": logits.tolist(), "label": model.config.id2label[int(logits.argmax())]}))
