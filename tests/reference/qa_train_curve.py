"""Reference for tests/qa.rs::training_steps_are_pytorchs: a few QA training steps of
all-MiniLM-L6-v2 on SQuAD windows, dropout off, so that burnbert can follow them step by step.

    python3 tests/reference/qa_train_curve.py MINILM_DIR SQUAD_JSON > assets/reference/qa_train.json

Windows: the first WINDOWS training windows of squad_pytorch.py's features (article 0, in
order), batches of BATCH in order. Recipe as squad_pytorch.py (AdamW 1e-4, weight decay 0.01
except biases and LayerNorm, eps 1e-8, warmup 10 % of STEPS then linear decay, clip 1.0). The
head starts from the weights written out here, so both sides start from the same model.
"""
import json
import math
import sys

import torch
from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering, get_linear_schedule_with_warmup

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import squad_pytorch as sp  # noqa: E402

STEPS, BATCH = 6, 8
WINDOWS = STEPS * BATCH


def main():
    model_dir, squad = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    examples = [e for e in sp.read(squad) if e["article"] == 0]
    tok = AutoTokenizer.from_pretrained(model_dir)
    feats = sp.features(tok, examples, True)[:WINDOWS]
    config = BertConfig.from_pretrained(model_dir, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = BertForQuestionAnswering.from_pretrained(model_dir, config=config)
    head = {"weight": model.qa_outputs.weight.tolist(), "bias": model.qa_outputs.bias.tolist()}
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=sp.LR, betas=(0.9, 0.999), eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(0.1 * STEPS), STEPS)
    model.train()
    losses, norms = [], []
    for step in range(STEPS):
        batch = feats[step * BATCH:(step + 1) * BATCH]
        out = model(**sp.pad(batch, tok.pad_token_id), start_positions=torch.tensor([f["start"] for f in batch]),
                    end_positions=torch.tensor([f["end"] for f in batch]))
        out.loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item())
        opt.step(); sched.step(); opt.zero_grad()
        losses.append(out.loss.item())
    json.dump({
        "steps": STEPS, "batch": BATCH, "max_length": sp.MAX_LENGTH, "doc_stride": sp.DOC_STRIDE,
        "learning_rate": sp.LR, "weight_decay": 0.01, "warmup_ratio": 0.1, "max_grad_norm": 1.0,
        "positions": [[f["start"], f["end"]] for f in feats],
        "qa_outputs": head, "losses": losses, "grad_norms": norms,
    }, sys.stdout)


if __name__ == "__main__":
    main()
