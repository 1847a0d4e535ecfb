"""Writes burnbert's PyTorch reference fixtures and outputs (run from the repository root).

    python3 tests/reference/make_reference.py            # tiny models + their outputs
    python3 tests/reference/make_reference.py --minilm DIR  # + all-MiniLM-L6-v2 outputs

Tiny random-init BERTs with odd shapes (3 heads, hidden 12, relu / gelu / gelu_new, one token
type) are saved with `transformers` under assets/tiny-*/; their outputs for a padded batch, and
gradients of a loss w.r.t. a few weights, go to assets/reference/*.json. Weights are drawn with a
large spread so that attention is far from uniform and a wrong mask, a swapped LayerNorm
parameter or an untransposed weight shows in the outputs. Deterministic (seed 0).
"""
import argparse
import json
import os
from pathlib import Path

import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
    BertTokenizer,
    BertTokenizerFast,
)

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
WORDS = (
    "the a an movie film was is great bad good not very and but i it this that story "
    "actor play ##s ##ed ##ing un ##aff ##able hello world , . ! ? ' john lives in paris "
    "berlin works for acme corp who where when what did go to see love hate boring fun"
).split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
TEXTS = ["Hello, world! The movie was unaffable.", "A great film"]
PAIRS = [("Who lives in Paris?", "John lives in Paris, and works for Acme Corp."), ("What did it see?", "It was boring")]


def tensor(t):
    return {"shape": list(t.shape), "data": [round(float(x), 8) for x in t.detach().reshape(-1).tolist()]}


def randomize(model, seed):
    """Large-spread weights: N(0, 0.5) matrices, LayerNorm gamma around 1 and beta around 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=g))
            elif "LayerNorm.bias" in name or name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))


def write_tokenizer(folder, fast_json):
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    slow = BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True)
    slow.save_pretrained(folder)
    if fast_json:
        BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    else:
        for f in ["tokenizer.json"]:
            (folder / f).unlink(missing_ok=True)
    # save_pretrained writes its own copies; keep only what an HF folder needs.
    for f in ["special_tokens_map.json", "added_tokens.json"]:
        (folder / f).unlink(missing_ok=True)
    return BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True)


def batch(tokenizer, pairs=False):
    if pairs:
        q, c = zip(*PAIRS)
        return tokenizer(list(q), list(c), padding=True, return_tensors="pt")
    return tokenizer(TEXTS, padding=True, return_tensors="pt")


def encode_record(enc):
    out = {k: enc[k].tolist() for k in ["input_ids", "attention_mask", "token_type_ids"]}
    return out


def save(model, folder, **kw):
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", help="folder of all-MiniLM-L6-v2 (cargo xtask assets)")
    args = ap.parse_args()
    torch.manual_seed(0)
    (ASSETS / "reference").mkdir(parents=True, exist_ok=True)
    common = dict(vocab_size=len(VOCAB), hidden_size=12, num_attention_heads=3, intermediate_size=20,
                  num_hidden_layers=2, max_position_embeddings=40)
    reference = {}

    # (a) A bare encoder: relu, one token type. Safetensors without prefix; pytorch_model.bin
    # with the `bert.` prefix and TF-era LayerNorm gamma/beta names.
    folder = ASSETS / "tiny-bert"
    config = BertConfig(hidden_act="relu", type_vocab_size=1, **common)
    model = BertModel(config).eval()
    randomize(model, 1)
    save(model, folder)
    legacy = {}
    for k, v in model.state_dict().items():
        k = "bert." + k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        legacy[k] = v.clone()
    torch.save(legacy, folder / "pytorch_model.bin")
    tok = write_tokenizer(folder, fast_json=True)
    enc = batch(tok)
    enc["token_type_ids"].zero_()
    with torch.no_grad():
        out = model(**enc)
    reference["tiny-bert"] = {
        "texts": TEXTS,
        "inputs": encode_record(enc),
        "last_hidden_state": tensor(out.last_hidden_state),
        "pooler_output": tensor(out.pooler_output),
    }

    # (b) Sequence classification, gelu, three named labels, sentence pairs.
    folder = ASSETS / "tiny-bert-seqcls"
    config = BertConfig(hidden_act="gelu", id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2}, **common)
    model = BertForSequenceClassification(config).eval()
    randomize(model, 2)
    save(model, folder)
    tok = write_tokenizer(folder, fast_json=False)
    enc = batch(tok, pairs=True)
    labels = torch.tensor([2, 0])
    out = model(**enc, labels=labels)
    out.loss.backward()
    grads = {name: tensor(p.grad) for name, p in model.named_parameters() if name in GRAD_NAMES}
    reference["tiny-bert-seqcls"] = {
        "pairs": PAIRS,
        "inputs": encode_record(enc),
        "labels": labels.tolist(),
        "logits": tensor(out.logits),
        "loss": out.loss.item(),
        "grads": grads,
    }

    # (c) Token classification, gelu_new, five labels.
    folder = ASSETS / "tiny-bert-tokcls"
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    config = BertConfig(hidden_act="gelu_new", id2label=dict(enumerate(tags)),
                        label2id={t: i for i, t in enumerate(tags)}, **common)
    model = BertForTokenClassification(config).eval()
    randomize(model, 3)
    save(model, folder)
    tok = write_tokenizer(folder, fast_json=False)
    enc = batch(tok)
    with torch.no_grad():
        out = model(**enc)
    reference["tiny-bert-tokcls"] = {"inputs": encode_record(enc), "logits": tensor(out.logits)}

    # (d) Question answering.
    folder = ASSETS / "tiny-bert-qa"
    config = BertConfig(hidden_act="gelu", **common)
    model = BertForQuestionAnswering(config).eval()
    randomize(model, 4)
    save(model, folder)
    tok = write_tokenizer(folder, fast_json=False)
    enc = batch(tok, pairs=True)
    with torch.no_grad():
        out = model(**enc)
    reference["tiny-bert-qa"] = {
        "inputs": encode_record(enc),
        "start_logits": tensor(out.start_logits),
        "end_logits": tensor(out.end_logits),
    }
    with open(ASSETS / "reference" / "tiny.json", "w") as f:
        json.dump(reference, f)

    # (e) Masked LM, gelu, decoder tied to the word embeddings: logits of a padded batch, the
    # loss on a few labelled positions, and the fill-mask pipeline's top 3.
    folder = ASSETS / "tiny-bert-mlm"
    config = BertConfig(hidden_act="gelu", **common)
    model = BertForMaskedLM(config).eval()
    randomize(model, 5)
    save(model, folder)
    tok = write_tokenizer(folder, fast_json=False)
    enc = batch(tok)
    labels = torch.full(enc["input_ids"].shape, -100)
    labels[0, 2] = enc["input_ids"][0, 2]
    labels[0, 5] = 7
    labels[1, 1] = enc["input_ids"][1, 1]
    out = model(**enc, labels=labels)
    out.loss.backward()
    # The decoder is the word-embedding table: its gradient sums the lookup's and the decoder's.
    mlm_grads = {name: tensor(p.grad) for name, p in model.named_parameters()
                 if name in ("bert.embeddings.word_embeddings.weight",
                             "cls.predictions.transform.dense.weight", "cls.predictions.bias")}
    from transformers import pipeline

    fill = pipeline("fill-mask", model=str(folder), tokenizer=str(folder), device="cpu")
    masked = ["the movie was [MASK] .", "[MASK] lives in paris"]
    mlm = {
        "inputs": encode_record(enc),
        "labels": labels.tolist(),
        "logits": tensor(out.logits),
        "loss": out.loss.item(),
        "grads": mlm_grads,
        "fill_mask": {"texts": masked, "top_k": 3, "outputs": [fill(t, top_k=3) for t in masked]},
    }
    with open(ASSETS / "reference" / "tiny_mlm.json", "w") as f:
        json.dump(mlm, f)

    if args.minilm:
        minilm(Path(args.minilm))


GRAD_NAMES = {
    "classifier.weight",
    "bert.pooler.dense.bias",
    "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.1.output.LayerNorm.weight",
    "bert.embeddings.position_embeddings.weight",
}

MINILM_TEXTS = ["This is an example sentence", "Hello, World! unaffable"]


def minilm(folder):
    tok = BertTokenizerFast.from_pretrained(folder)
    model = BertModel.from_pretrained(folder).eval()
    enc = tok(MINILM_TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)
    mask = enc["attention_mask"].unsqueeze(-1).float()
    mean = (out.last_hidden_state * mask).sum(1) / mask.sum(1)
    normalized = torch.nn.functional.normalize(mean, dim=-1)
    ref = {
        "texts": MINILM_TEXTS,
        "inputs": encode_record(enc),
        "last_hidden_state": tensor(out.last_hidden_state),
        "pooler_output": tensor(out.pooler_output),
        "mean_pooled_normalized": tensor(normalized),
    }
    with open(ASSETS / "reference" / "minilm.json", "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main()
