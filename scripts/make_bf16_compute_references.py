"""Writes the transformers bfloat16-compute logits of the bf16 fixture models for the `--compute bf16` tests.

Run (from the repository root; needs torch and transformers; downloads nothing):

    python3 scripts/make_bf16_compute_references.py

For each fixture (Tests/LanguageModelsTests/Fixtures/models/{llama_bf16,phi3_bf16}), loads the checkpoint in
transformers with dtype torch.bfloat16 (every op computed in bfloat16, as PyTorch runs a bfloat16 model on the
CPU), runs the `batch` input ids of the fixture's reference.json and writes `bf16_compute.json` next to it:
{"description", "input_ids", "logits" (the bfloat16 logits widened to float32), "torch_version"}.
"""
import json
import os

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures", "models")


def write(name):
    directory = os.path.join(FIXTURES, name)
    with open(os.path.join(directory, "reference.json")) as handle:
        ids = json.load(handle)["batch"]["input_ids"]
    model = transformers.AutoModelForCausalLM.from_pretrained(directory, dtype=torch.bfloat16)
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits.float()
    result = {
        "description": f"transformers {transformers.__version__} logits of {name} computed in bfloat16 (dtype=torch.bfloat16, CPU)",
        "input_ids": ids,
        "logits": [[[round(float(x), 6) for x in row] for row in sequence] for sequence in logits],
        "torch_version": torch.__version__,
    }
    with open(os.path.join(directory, "bf16_compute.json"), "w") as handle:
        json.dump(result, handle)
    print(name, "logits", tuple(logits.shape), "max |logit|", float(logits.abs().max()))


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.set_num_threads(1)
    for fixture in ["llama_bf16", "phi3_bf16"]:
        write(fixture)
