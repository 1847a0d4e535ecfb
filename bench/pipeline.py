"""The transformers side of the batch-prediction measurement in docs/measurements.md: the
text-classification pipeline over a file, as `burnbert predict MODEL --file FILE --batch-size N` runs it.

Usage: python3 bench/pipeline.py MODEL_DIR FILE [--batch-size 32] [--max-length 128]
  FILE  one JSON object per line with `text` (and `text_pair`), as `burnbert predict --file`
Prints one JSON line: texts, seconds (the pipeline call over the whole file, the model loaded
and warmed on 8 texts first), texts_per_second, torch's CPU capability and threads.
"""
import argparse, json, time

import torch
from transformers import pipeline

ap = argparse.ArgumentParser()
ap.add_argument("model"); ap.add_argument("file")
ap.add_argument("--batch-size", type=int, default=32); ap.add_argument("--max-length", type=int, default=128)
a = ap.parse_args()
rows = [json.loads(line) for line in open(a.file, encoding="utf-8")]
inputs = [{"text": r["text"], "text_pair": r["text_pair"]} if r.get("text_pair") else r["text"] for r in rows]
clf = pipeline("text-classification", model=a.model, device="cpu")
kwargs = dict(batch_size=a.batch_size, truncation=True, max_length=a.max_length)
clf(inputs[:8], **kwargs)
start = time.perf_counter()
out = clf(inputs, **kwargs)
seconds = time.perf_counter() - start
assert len(out) == len(inputs)
print(json.dumps({"texts": len(inputs), "seconds": round(seconds, 2),
                  "texts_per_second": round(len(inputs) / seconds, 1),
                  "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                  "threads": torch.get_num_threads(), "torch": torch.__version__}))
