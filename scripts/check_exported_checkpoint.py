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

With --export, each argument is a model (directory or .gguf file) that `interp export` first writes to a temporary
Hugging Face directory, which is then checked the same way on fixed prompts (tokenizer ids against
`tokenizers.Tokenizer` only: the fixtures' word-level tokenizer.json is not the tokenizer class the model type names).
This covers every family the export writes:

    python3 scripts/check_exported_checkpoint.py --export Tests/LanguageModelsTests/Fixtures/models/{gpt_neox_parallel,gpt_neox_sequential,gpt_neox_fp16,gemma,gemma2,gemma3,phi3,phi3_bf16,olmo2,olmo2_mha,phi_qk,phi_tied_bf16,olmo_clip,olmo_gqa_bf16,olmo3,smollm3,gemma3_multimodal,olmoe,olmoe_norm_bf16,mixtral,qwen2_moe,qwen3_moe,ministral,ministral3,mistral3_ministral3,mistral3_mistral} Tests/LanguageModelsTests/Fixtures/gguf/{gemma,gemma2,gemma3,olmoe-f32,olmoe-q8_0,mixtral-f16,mixtral-split,mixtral-kquants,olmo3}.gguf

It prints one line per directory and exits with status 1 if any check fails.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer

TOLERANCE = 1e-4
INTERP = os.path.join(".build", "release", "interp")


def interp(*arguments):
    return json.loads(subprocess.run([INTERP, *arguments, "--json"], check=True, capture_output=True, text=True).stdout)


EXPORT_PROMPTS = ["hello world and the text", "the word, the text; and i = 2 + 3", "Hello  there, what is it?"]


def check(directory, prompts=4, texts=None):
    if texts is None:
        with open(os.path.join(directory, "task.json")) as f:
            texts = [example["clean"] for example in json.load(f)["examples"][:prompts]]
    raw = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(directory) if os.path.exists(os.path.join(directory, "task.json")) else None
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
    problems, worst = [], 0.0
    for text in texts:
        ours = [token["id"] for token in interp("tokenize", "--model", directory, "--text", text)["tokens"]]
        candidates = [("tokenizers", raw.encode(text).ids)] + ([("AutoTokenizer", auto(text)["input_ids"])] if auto else [])
        for name, got in candidates:
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


def export_and_check(source, workspace):
    name = os.path.basename(source.rstrip("/")).replace(".gguf", "-gguf")
    directory = os.path.join(workspace, name)
    subprocess.run([INTERP, "export", "--model", source, "--out", directory], check=True, capture_output=True)
    try:
        return check(directory, texts=EXPORT_PROMPTS)
    except Exception as error:  # one unreadable export must not hide the others' results
        print(f"{directory}: FAIL: {type(error).__name__}: {error}")
        return False


def main():
    arguments = sys.argv[1:]
    export = arguments[:1] == ["--export"]
    sources = arguments[1:] if export else arguments
    if not sources:
        sys.exit(__doc__)
    if export:
        with tempfile.TemporaryDirectory() as workspace:
            results = [export_and_check(source, workspace) for source in sources]
    else:
        results = [check(directory) for directory in sources]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
