"""What `transformers.pipeline` gives on the tiny test models (run from the repository root):
assets/reference/pipelines.json, which tests/pipeline.rs compares burnbert's pipelines with.
transformers 5 has no question-answering pipeline: QuestionAnsweringPipeline follows 4.x's.

    python tests/reference/make_pipelines.py
"""
import json
from pathlib import Path

import torch
import transformers
from transformers import pipeline

ASSETS = Path("assets")
LONG = ("John lives in Paris and Mary works in Berlin while Peter visits London "
        "with Anna from Rome and Paul of Madrid")


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
    texts = ["John lives in Paris", LONG]

    def plain(x):
        return {k: (float(v) if k == "score" else v) for k, v in x.items()}

    out["token-classification"] = {
        "texts": texts,
        "entities": [[plain(e) for e in tag(t)] for t in texts],
        "tokens": [[plain(e) for e in tokens(t)] for t in texts],
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
