"""The PyTorch side of burnbert's SQuAD comparison (`cargo run --release --example squad`):
the same data, windows, recipe, steps and seeds, with transformers' own feature code and
post-processing, and the official SQuAD v1.1 scoring.

    python3 tests/reference/squad_pytorch.py MODEL_DIR SQUAD_JSON [--seed 0] [--max-steps 200] [--json OUT]

Data: SQuAD v1.1 dev (the asset `squad` of `cargo xtask assets`); train on the questions of
articles 0-37, evaluate on articles 38-47.
Features (run_qa.py's prepare_train_features / prepare_validation_features): question
left-stripped, truncation="only_second", max_length 256, stride 128, overflowing windows,
offsets; the first answer's start/end tokens in each window, [CLS] when not wholly inside.
Recipe: BertForQuestionAnswering from MODEL_DIR (head initialised under torch.manual_seed(SEED)),
AdamW lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 except biases and LayerNorm,
linear schedule with 10 % warmup over max-steps, clip_grad_norm_ 1.0, batches of 16 windows in an
order shuffled by a torch.Generator seeded SEED (reshuffled when exhausted), padded per batch.
Scoring: postprocess_qa_predictions (n_best 20, max_answer_length 30, best over windows), then
the official evaluate-v1.1 exact match and F1 (max over gold answers).
"""
import argparse
import collections
import json
import re
import string
import time

import torch
from transformers import AutoTokenizer, BertForQuestionAnswering, get_linear_schedule_with_warmup

MAX_LENGTH, DOC_STRIDE, BATCH, LR, N_BEST, MAX_ANSWER = 256, 128, 16, 1e-4, 20, 30


def read(path):
    data = json.load(open(path, encoding="utf-8"))["data"]
    out = []
    for a, article in enumerate(data):
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                out.append({"article": a, "id": qa["id"], "question": qa["question"], "context": p["context"],
                            "answers": [(x["text"], x["answer_start"]) for x in qa["answers"]]})
    return out


def fix_start(context, text, start):
    for s in (start, start - 1, start + 1):
        if s >= 0 and context[s:s + len(text)] == text:
            return s
    raise ValueError(f"answer {text!r} not at {start}")


def features(tok, examples, train):
    enc = tok([e["question"].lstrip() for e in examples], [e["context"] for e in examples], truncation="only_second",
              max_length=MAX_LENGTH, stride=DOC_STRIDE, return_overflowing_tokens=True, return_offsets_mapping=True)
    feats = []
    for i in range(len(enc["input_ids"])):
        ex = enc["overflow_to_sample_mapping"][i]
        seq = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        f = {"example": ex, "input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
             "offsets": [o if seq[k] == 1 else None for k, o in enumerate(offsets)]}
        if train:
            text, start = examples[ex]["answers"][0]
            start_char = fix_start(examples[ex]["context"], text, start)
            end_char = start_char + len(text)
            ts = seq.index(1)
            te = len(seq) - 1 - seq[::-1].index(1)
            if not (offsets[ts][0] <= start_char and offsets[te][1] >= end_char):
                f["start"], f["end"] = 0, 0
            else:
                while ts < len(offsets) and seq[ts] == 1 and offsets[ts][0] <= start_char:
                    ts += 1
                while seq[te] == 1 and offsets[te][1] >= end_char:
                    te -= 1
                f["start"], f["end"] = ts - 1, te + 1
        feats.append(f)
    return feats


def pad(batch, pad_id):
    n = max(len(f["input_ids"]) for f in batch)
    ids = torch.tensor([f["input_ids"] + [pad_id] * (n - len(f["input_ids"])) for f in batch])
    types = torch.tensor([f["token_type_ids"] + [0] * (n - len(f["token_type_ids"])) for f in batch])
    mask = torch.tensor([[1] * len(f["input_ids"]) + [0] * (n - len(f["input_ids"])) for f in batch])
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def normalize_answer(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1(prediction, truth):
    p, g = normalize_answer(prediction).split(), normalize_answer(truth).split()
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model"); ap.add_argument("squad")
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--max-steps", type=int, default=200)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(2)
    examples = read(a.squad)
    train = [e for e in examples if e["article"] <= 37]
    valid = [e for e in examples if e["article"] >= 38]
    tok = AutoTokenizer.from_pretrained(a.model)
    train_f, valid_f = features(tok, train, True), features(tok, valid, False)
    torch.manual_seed(a.seed)
    model = BertForQuestionAnswering.from_pretrained(a.model)
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.999), eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, int(0.1 * a.max_steps + 0.999999), a.max_steps)
    gen = torch.Generator().manual_seed(a.seed)
    order, t0 = [], time.perf_counter()
    model.train()
    for step in range(1, a.max_steps + 1):
        if len(order) < BATCH:
            order += torch.randperm(len(train_f), generator=gen).tolist()
        idx, order = order[:BATCH], order[BATCH:]
        batch = [train_f[i] for i in idx]
        out = model(**pad(batch, tok.pad_token_id), start_positions=torch.tensor([f["start"] for f in batch]),
                    end_positions=torch.tensor([f["end"] for f in batch]))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step(); opt.zero_grad()
        if step % 25 == 0:
            print(f"step {step}: loss {out.loss.item():.4f}", flush=True)
    train_secs = time.perf_counter() - t0

    model.eval()
    best = {}
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(valid_f), 64):
            batch = valid_f[i:i + 64]
            out = model(**pad(batch, tok.pad_token_id))
            for b, f in enumerate(batch):
                n = len(f["input_ids"])
                sl, el = out.start_logits[b, :n].tolist(), out.end_logits[b, :n].tolist()
                starts = sorted(range(n), key=lambda k: -sl[k])[:N_BEST]
                ends = sorted(range(n), key=lambda k: -el[k])[:N_BEST]
                ctx = valid[f["example"]]["context"]
                for s in starts:
                    for e in ends:
                        if f["offsets"][s] is None or f["offsets"][e] is None or e < s or e - s + 1 > MAX_ANSWER:
                            continue
                        score = sl[s] + el[e]
                        if f["example"] not in best or score > best[f["example"]][0]:
                            best[f["example"]] = (score, ctx[f["offsets"][s][0]:f["offsets"][e][1]])
    eval_secs = time.perf_counter() - t0
    em = f1_sum = 0.0
    for k, ex in enumerate(valid):
        pred = best.get(k, (0, ""))[1]
        em += max(float(normalize_answer(pred) == normalize_answer(t)) for t, _ in ex["answers"])
        f1_sum += max(f1(pred, t) for t, _ in ex["answers"])
    res = {"seed": a.seed, "exact_match": 100 * em / len(valid), "f1": 100 * f1_sum / len(valid),
           "questions": len(valid), "train_windows": len(train_f), "valid_windows": len(valid_f),
           "steps": a.max_steps, "train_seconds": round(train_secs, 1), "eval_seconds": round(eval_secs, 1),
           "torch": torch.__version__}
    print(json.dumps(res))
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
