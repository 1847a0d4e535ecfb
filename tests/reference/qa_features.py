"""transformers' QA features for burnbert's tests: windows, offsets and answer positions of a
few questions on the committed tiny tokenizer (assets/tiny-bert-qa), made the way run_qa.py's
prepare_train_features makes them.

    python3 tests/reference/qa_features.py   # writes assets/reference/qa_features.json
"""
import json
from pathlib import Path

from transformers import BertTokenizerFast

ROOT = Path(__file__).resolve().parents[2]
FILLER = "the movie was great and the story was fun but i hate that actor".split()


def main():
    tok = BertTokenizerFast.from_pretrained(ROOT / "assets" / "tiny-bert-qa")
    long_context = " ".join(FILLER[i % len(FILLER)] for i in range(60)) + " john lives in paris . " + " ".join(FILLER)
    cases = [
        # (question, context, answer text, max_length, stride)
        ("Who lives in Paris?", "John lives in Paris, and works for Acme Corp.", "Acme Corp", 40, 8),
        ("  where did john go?", long_context, "paris", 24, 8),
        ("who works for acme?", "Zoë works for Acme; John lives in Paris.", "Zoë", 40, 8),
        # An answer across a window boundary: whole in some windows, [CLS] in others.
        ("what did i see?", " ".join(FILLER) + " the boring unaffable film " + " ".join(FILLER), "boring unaffable film", 20, 10),
    ]
    out = []
    for question, context, answer, max_length, stride in cases:
        start_char = context.index(answer)
        end_char = start_char + len(answer)
        enc = tok(question.lstrip(), context, truncation="only_second", max_length=max_length, stride=stride,
                  return_overflowing_tokens=True, return_offsets_mapping=True)
        windows = []
        for i in range(len(enc["input_ids"])):
            seq = enc.sequence_ids(i)
            offsets = enc["offset_mapping"][i]
            ts = seq.index(1)
            te = len(seq) - 1 - seq[::-1].index(1)
            if not (offsets[ts][0] <= start_char and offsets[te][1] >= end_char):
                start, end = 0, 0
            else:
                while ts < len(offsets) and seq[ts] == 1 and offsets[ts][0] <= start_char:
                    ts += 1
                while seq[te] == 1 and offsets[te][1] >= end_char:
                    te -= 1
                start, end = ts - 1, te + 1
            windows.append({"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                            "offsets": [list(o) if seq[k] == 1 else None for k, o in enumerate(offsets)],
                            "start_position": start, "end_position": end})
        out.append({"question": question, "context": context, "answer": answer, "answer_start": start_char,
                    "max_length": max_length, "doc_stride": stride, "windows": windows})
    with open(ROOT / "assets" / "reference" / "qa_features.json", "w") as f:
        json.dump(out, f)
    print([len(c["windows"]) for c in out], [[w["start_position"] for w in c["windows"]] for c in out])


if __name__ == "__main__":
    main()
