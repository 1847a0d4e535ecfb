"""Reads a run's TensorBoard event files back with TensorBoard's own reader and prints them as
JSON: {"scalars": {tag: [[step, value], ...]}, "texts": {tag: text}}.

Usage: python read_tensorboard.py LOGDIR   (tensorboard 2.21.0 from PyPI)
"""
import json, sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
tags = acc.Tags()
out = {"scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
       "texts": {}}
for t in tags["tensors"]:
    for e in acc.Tensors(t):
        out["texts"][t] = e.tensor_proto.string_val[0].decode()
print(json.dumps(out))
