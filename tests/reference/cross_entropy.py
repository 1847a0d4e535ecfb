"""The values of burnbert's cross_entropy_with test (crates/burnbert-model/src/loss.rs):
torch's F.cross_entropy with class weights, ignore_index -100 and label smoothing, and HF's
LabelSmoother for the unweighted case. Run: python3 tests/reference/cross_entropy.py"""
import torch
import torch.nn.functional as F
from transformers.trainer_pt_utils import LabelSmoother

logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0], [3.0, -1.0, 0.0], [0.2, 0.1, -0.4]])
targets = torch.tensor([1, -100, 0, 2])
for weight, smoothing in [(None, 0.1), ([0.5, 2.0, 1.0], 0.0), ([0.5, 2.0, 1.0], 0.2)]:
    w = None if weight is None else torch.tensor(weight)
    loss = F.cross_entropy(logits, targets, weight=w, ignore_index=-100, label_smoothing=smoothing)
    print(weight, smoothing, f"{loss.item():.5f}")
hf = LabelSmoother(epsilon=0.1)({"logits": logits}, targets)
print("LabelSmoother(0.1)", f"{hf.item():.5f}")
