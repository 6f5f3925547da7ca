"""Checks that transformers and tokenizers read checkpoints written by swift-interp as swift-interp does.

Usage (from the repository root; needs torch, transformers, tokenizers; downloads nothing):

    swift build -c release --product interp
    python3 scripts/check_exported_checkpoint.py Sources/InterpCLI/Resources/DefaultModel [more model directories]

Any directory written by `interp train` (config.json, model.safetensors, tokenizer.json, tokenizer_config.json and a
task.json of held-out examples) works. For the first prompts of task.json this script

  1. asks `interp tokenize --json` for swift-interp's token ids and checks that `tokenizers.Tokenizer.from_file` and
     transformers' `AutoTokenizer` give the same ids;
  2. asks `interp run --json --logits` for swift-interp's last-position logits and checks that
     `AutoModelForCausalLM` (fp32, eager attention) gives the same logits to 1e-4.

It prints one line per directory and exits with status 1 if any check fails.
"""

import json
import os
import subprocess
import sys

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer

TOLERANCE = 1e-4
INTERP = os.path.join(".build", "release", "interp")


def interp(*arguments):
    return json.loads(subprocess.run([INTERP, *arguments, "--json"], check=True, capture_output=True, text=True).stdout)


def check(directory, prompts=4):
    with open(os.path.join(directory, "task.json")) as f:
        texts = [example["clean"] for example in json.load(f)["examples"][:prompts]]
    raw = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
    problems, worst = [], 0.0
    for text in texts:
        ours = [token["id"] for token in interp("tokenize", "--model", directory, "--text", text)["tokens"]]
        for name, got in (("tokenizers", raw.encode(text).ids), ("AutoTokenizer", auto(text)["input_ids"])):
            if got != ours:
                problems.append(f"{name} encodes {text!r} as {got}, swift-interp as {ours}")
        our_logits = np.array(interp("run", "--model", directory, "--prompt", text, "--logits")["logits"], dtype=np.float32)
        with torch.no_grad():
            theirs = model(input_ids=torch.tensor([ours])).logits[0, -1].float().numpy()
        worst = max(worst, float(np.abs(theirs - our_logits).max()))
    if worst > TOLERANCE:
        problems.append(f"max |logits difference| {worst:.3g} exceeds {TOLERANCE}")
    print(f"{directory}: {type(model).__name__}, max |Δ logits| = {worst:.2e} over {len(texts)} prompts, tokenizer "
          f"{'ok' if not any('encodes' in p for p in problems) else 'MISMATCH'}")
    for problem in problems:
        print(f"  FAIL: {problem}")
    return not problems


def main():
    directories = sys.argv[1:]
    if not directories:
        sys.exit(__doc__)
    sys.exit(0 if all(check(directory) for directory in directories) else 1)


if __name__ == "__main__":
    main()
