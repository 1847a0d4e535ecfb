"""What `transformers.pipeline` gives on the tiny test models (run from the repository root):
assets/reference/pipelines.json, which tests/pipeline.rs compares burnbert's pipelines with.
transformers 5 has no question-answering pipeline: `question_answering` below is the
pre- and post-processing of transformers 4.57's `QuestionAnsweringPipeline` (top_k=1,
align_to_words=True, handle_impossible_answer=False), on the model and tokenizer of 5.x.

    python tests/reference/make_pipelines.py
"""
import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, pipeline

ASSETS = Path("assets")
LONG = ("John lives in Paris and Mary works in Berlin while Peter visits London "
        "with Anna from Rome and Paul of Madrid")


def decode_spans(start, end, topk, max_answer_len, undesired_tokens):
    """transformers 4.57, pipelines/question_answering.py: the topk spans of one window."""
    outer = np.matmul(np.expand_dims(start, -1), np.expand_dims(end, 1))
    candidates = np.tril(np.triu(outer), max_answer_len - 1)
    scores_flat = candidates.flatten()
    if topk == 1:
        idx_sort = [np.argmax(scores_flat)]
    elif len(scores_flat) < topk:
        idx_sort = np.argsort(-scores_flat)
    else:
        idx = np.argpartition(-scores_flat, topk)[0:topk]
        idx_sort = idx[np.argsort(-scores_flat[idx])]
    starts, ends = np.unravel_index(idx_sort, candidates.shape)[1:]
    desired = np.isin(starts, undesired_tokens.nonzero()) & np.isin(ends, undesired_tokens.nonzero())
    starts, ends = starts[desired], ends[desired]
    return starts, ends, candidates[0, starts, ends]


def question_answering(folder, question, context, max_seq_len, doc_stride, max_answer_len=15):
    """transformers 4.57's QuestionAnsweringPipeline(question=..., context=...), top_k=1."""
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForQuestionAnswering.from_pretrained(folder).eval()
    enc = tok(text=question, text_pair=context, truncation="only_second", max_length=max_seq_len,
              stride=doc_stride, return_token_type_ids=True, return_overflowing_tokens=True,
              return_offsets_mapping=True)
    top_k = 1
    answers = []
    for i in range(len(enc["input_ids"])):
        ids = enc["input_ids"][i]
        p_mask = np.array([s != 1 for s in enc.sequence_ids(i)]).astype(int)
        p_mask[np.array(ids) == tok.cls_token_id] = 0
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]),
                        attention_mask=torch.tensor([enc["attention_mask"][i]]),
                        token_type_ids=torch.tensor([enc["token_type_ids"][i]]))
        start, end = out.start_logits.numpy(), out.end_logits.numpy()
        undesired = np.abs(p_mask - 1) & np.array([enc["attention_mask"][i]])
        mask = undesired == 0
        start = np.where(mask, -10000.0, start)
        end = np.where(mask, -10000.0, end)
        start = np.exp(start - start.max(axis=-1, keepdims=True))
        start = start / start.sum()
        end = np.exp(end - end.max(axis=-1, keepdims=True))
        end = end / end.sum()
        start[0, 0] = end[0, 0] = 0.0
        starts, ends, scores = decode_spans(start, end, top_k * 2 + 10, max_answer_len, undesired)
        window = enc[i]
        for s, e, score in zip(starts, ends, scores):
            try:
                s_char = window.word_to_chars(window.token_to_word(s), sequence_index=1)[0]
                e_char = window.word_to_chars(window.token_to_word(e), sequence_index=1)[1]
            except Exception:
                s_char, e_char = window.offsets[s][0], window.offsets[e][1]
            text = context[s_char:e_char]
            same = next((a for a in answers if a["answer"].lower() == text.lower()), None)
            if same:
                same["score"] += float(score)
            else:
                answers.append({"score": float(score), "start": s_char, "end": e_char,
                                "answer": text})
    return sorted(answers, key=lambda a: a["score"], reverse=True)[0]


def main():
    torch.manual_seed(0)
    out = {"transformers": transformers.__version__, "torch": torch.__version__}

    classify = pipeline("text-classification", model=str(ASSETS / "tiny-bert-seqcls"),
                        device="cpu", top_k=None)
    pairs = [["Who lives in Paris?", "John lives in Paris, and works for Acme Corp."],
             ["What did it see?", "It was boring"]]
    out["text-classification"] = {
        "pairs": pairs,
        "outputs": [classify({"text": a, "text_pair": b}) for a, b in pairs],
    }

    tag = pipeline("token-classification", model=str(ASSETS / "tiny-bert-tokcls"),
                   device="cpu", aggregation_strategy="first")
    tokens = pipeline("token-classification", model=str(ASSETS / "tiny-bert-tokcls"),
                      device="cpu", aggregation_strategy="none")
    # Words whose first token covers more characters than it has (a combining accent, a soft
    # hyphen): the pipeline reads the token as a subword and joins it to the word before.
    texts = ["John lives in Paris", LONG, "John lives in Pa\u0301ris",
             "The movie was u\u0301naffable", "Ber\u00adlin is unaffable"]

    def plain(x):
        return {k: (float(v) if k == "score" else v) for k, v in x.items()}

    out["token-classification"] = {
        "texts": texts,
        "entities": [[plain(e) for e in tag(t)] for t in texts],
        "tokens": [[plain(e) for e in tokens(t)] for t in texts],
    }

    # The tiny model has 40 positions: windows of 40 tokens, 16 shared.
    questions = [["Who lives in Paris?", "John lives in Paris, and works for Acme Corp."],
                 ["who played?",
                  "The unaffable actors playing in Berlin's Tiergarten were unflappable."],
                 ["Where does Mary work?", LONG]]
    out["question-answering"] = {
        "inputs": questions,
        "max_seq_len": 40,
        "doc_stride": 16,
        "max_answer_len": 15,
        "answers": [question_answering(str(ASSETS / "tiny-bert-qa"), q, c, 40, 16)
                    for q, c in questions],
    }

    features = pipeline("feature-extraction", model=str(ASSETS / "tiny-bert"), device="cpu")
    texts = ["Hello, world! The movie was unaffable.", "A great film"]
    out["feature-extraction"] = {
        "texts": texts,
        "last_hidden_state": [features(t)[0] for t in texts],
    }
    with open(ASSETS / "reference" / "pipelines.json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
