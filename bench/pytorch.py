"""PyTorch + transformers side of `cargo xtask bench`: the measurement of examples/bench.rs.

One process per (model, mode), one JSON line out:
    python3 bench/pytorch.py --model minilm --minilm-folder DIR --mode train

- `--model minilm`: all-MiniLM-L6-v2's weights, a new 2-label head; `bert-base`:
  bert-base-uncased's shape (BertConfig()), randomly initialised.
- `--mode train`: one training step per run: model.train() (dropout on), forward with labels,
  backward, clip_grad_norm_(1.0), AdamW (weight decay 0.01 except biases and LayerNorm) and a
  linear warmup/decay schedule, as Trainer does; `inference`: model.eval() and
  torch.inference_mode(), logits.
- The same pseudo-random ids and labels as examples/bench.rs; `--warmup` untimed runs, then
  `--runs` timed, median reported; peak RSS from getrusage.
- `--device cuda` (a GPU: each run ends when the GPU has finished it, and the peak memory is the
  device's, `torch.cuda.max_memory_allocated`); `--dtype bf16` runs the forward passes under
  `torch.autocast` in bfloat16 (weights, gradients and optimizer state stay fp32), as Trainer's
  `bf16=True` does.
"""
import argparse
import json
import resource
import statistics
import time

import torch
import transformers
from transformers import BertConfig, BertForSequenceClassification, get_linear_schedule_with_warmup


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="minilm", choices=["minilm", "bert-base"])
    p.add_argument("--minilm-folder")
    p.add_argument("--mode", default="train", choices=["train", "inference"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    a = p.parse_args()
    torch.manual_seed(0)
    device = torch.device(a.device)
    autocast = torch.autocast(a.device, dtype=torch.bfloat16, enabled=a.dtype == "bf16")

    def finished():
        if a.device == "cuda":
            torch.cuda.synchronize()

    if a.model == "minilm":
        model = BertForSequenceClassification.from_pretrained(a.minilm_folder, num_labels=2)
    else:
        model = BertForSequenceClassification(BertConfig(num_labels=2))
    model.to(device)
    ids = [
        [101 if i == 0 else 102 if i == a.seq - 1 else 1000 + (row * a.seq + i) * 7919 % 20000
         for i in range(a.seq)]
        for row in range(a.batch)
    ]
    input_ids = torch.tensor(ids, device=device)
    attention_mask = torch.ones_like(input_ids)
    token_type_ids = torch.zeros_like(input_ids)
    labels = torch.tensor([row % 2 for row in range(a.batch)], device=device)

    times = []
    if a.mode == "train":
        model.train()
        no_decay = ["bias", "LayerNorm.weight"]
        groups = [
            {"params": [p for n, p in model.named_parameters() if not any(d in n for d in no_decay)],
             "weight_decay": 0.01},
            {"params": [p for n, p in model.named_parameters() if any(d in n for d in no_decay)],
             "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=5e-5, eps=1e-8)
        steps = a.warmup + a.runs
        scheduler = get_linear_schedule_with_warmup(optimizer, 1, steps)
        for _ in range(steps):
            started = time.perf_counter()
            optimizer.zero_grad()
            with autocast:
                out = model(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids, labels=labels)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            out.loss.item()
            finished()
            times.append(time.perf_counter() - started)
    else:
        model.eval()
        with torch.inference_mode(), autocast:
            for _ in range(a.warmup + a.runs):
                started = time.perf_counter()
                logits = model(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).logits
                logits.float().cpu().numpy()
                finished()
                times.append(time.perf_counter() - started)
    median = statistics.median(times[a.warmup:])
    print(json.dumps({
        "framework": "pytorch",
        "backend": (f"torch {torch.__version__} cpu, {torch.get_num_threads()} threads"
                    if a.device == "cpu" else f"torch {torch.__version__} {torch.cuda.get_device_name()}"),
        "device": a.device,
        "dtype": a.dtype,
        "transformers": transformers.__version__,
        "attn_implementation": model.config._attn_implementation,
        "model": a.model,
        "mode": a.mode,
        "batch": a.batch,
        "seq": a.seq,
        "median_s": median,
        "samples_per_s": a.batch / median,
        "times_s": times,
        "warmup": a.warmup,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_device_mb": (torch.cuda.max_memory_allocated() / 2**20 if a.device == "cuda" else None),
        # The ATen kernels' dispatch level on this CPU: DEFAULT, AVX2, AVX512, ...
        "simd": torch.backends.cpu.get_cpu_capability(),
    }))


if __name__ == "__main__":
    main()
