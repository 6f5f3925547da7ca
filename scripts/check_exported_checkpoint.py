"""Checks that transformers and tokenizers read checkpoints exported by swift-interp as swift-interp does.

Usage (from the repository root; needs torch, transformers, tokenizers; downloads nothing):

    INTERP_EXPORT_CHECK=/tmp/export-check swift test --filter exportsForTransformers
    python3 scripts/check_exported_checkpoint.py /tmp/export-check/*

The Swift harness writes, per exported model directory (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json), a swift_logits.json with the texts it encoded, the input ids and attention mask of the
right-padded batch and the logits our loader computes from the saved files. For each directory this script

  1. loads the tokenizer with `tokenizers.Tokenizer.from_file` and with transformers' `AutoTokenizer`, and checks
     that both encode each text to the ids Swift used (WordLevel model, Whitespace pre-tokenizer, <bos> added);
  2. loads the model with `AutoModelForCausalLM` (fp32, eager attention) and checks that its logits at the real
     (unpadded) positions equal ours to 1e-4.

It prints one line per directory and exits with status 1 if any check fails. Any exported directory with a
swift_logits.json works, e.g. a model saved by `interp train`.
"""

import json
import os
import sys

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer

TOLERANCE = 1e-4


def check(directory):
    with open(os.path.join(directory, "swift_logits.json")) as f:
        reference = json.load(f)
    ids, mask = reference["input_ids"], reference["attention_mask"]
    problems = []

    raw = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(directory)
    for text, row, row_mask in zip(reference["texts"], ids, mask):
        expected = [token for token, real in zip(row, row_mask) if real]
        for name, got in (("tokenizers", raw.encode(text).ids), ("AutoTokenizer", auto(text)["input_ids"])):
            if got != expected:
                problems.append(f"{name} encodes {text!r} as {got}, Swift as {expected}")

    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).logits.float().numpy()
    ours = np.array(reference["logits"], dtype=np.float32).reshape(reference["shape"])
    real = np.array(mask, dtype=bool)
    worst = float(np.abs(logits - ours)[real].max())
    if worst > TOLERANCE:
        problems.append(f"max |logits difference| {worst:.3g} exceeds {TOLERANCE}")
    kind = type(model).__name__
    print(f"{directory}: {kind} (config dtype {model.config.dtype}), "
          f"max |Δ logits| = {worst:.2e} over {int(real.sum())} positions, tokenizer "
          f"{'ok' if not any('encodes' in p for p in problems) else 'MISMATCH'}")
    for problem in problems:
        print(f"  FAIL: {problem}")
    return not problems


def main():
    directories = sys.argv[1:]
    if not directories:
        sys.exit(__doc__)
    results = [check(directory) for directory in directories]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
