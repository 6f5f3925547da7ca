"""Logit-lens references from TransformerLens 3.9 for Tests/InterpTests/LogitLensReferenceTests.swift.

    /work/venv-tl/bin/python scripts/make_logit_lens_references.py     # (a venv as in make_family_tl_references.py)

Downloads nothing. For the tiny GPT-2, grouped-query Llama, Qwen2 (make_interp_references.tl_model), Gemma-2 (final
logit soft-capping, sliding window) and Phi-3 (make_family_tl_references.config) fixtures it runs TransformerLens'
HookedTransformer (unprocessed weights) on the fixture's first reference prompt, stacks `blocks.{l}.hook_resid_pre`
for every layer and the last `hook_resid_post`, applies TransformerLens' own `ln_final` to each row (each with its
own scale, as the logit lens is defined) and `unembed` (then Gemma-2's `output_logits_soft_cap`), and writes
Tests/InterpTests/Fixtures/logit_lens.json: per fixture the tokens, the read position (the last and the third),
a target token, and per layer the softmax's top 5 (ids, probabilities) and the target's probability and rank.
"""

import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM
from transformer_lens import HookedTransformer
from transformer_lens.pretrained.weight_conversions import convert_gemma_weights, convert_phi3_weights

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_interp_references import tl_model  # noqa: E402
from make_family_tl_references import config as family_config  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(REPO, "Tests", "LanguageModelsTests", "Fixtures", "models")
OUT = os.path.join(REPO, "Tests", "InterpTests", "Fixtures", "logit_lens.json")
torch.set_grad_enabled(False)


def load(name):
    hf = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), attn_implementation="eager",
                                              dtype=torch.float32).eval()
    if hf.config.model_type in ("gpt2", "llama", "qwen2"):
        return hf, tl_model(hf, split=False)
    cfg = family_config(hf)
    model = HookedTransformer(cfg)
    convert = {"phi3": convert_phi3_weights}.get(hf.config.model_type, convert_gemma_weights)
    model.load_and_process_state_dict(convert(hf, cfg), fold_ln=False, center_writing_weights=False,
                                      center_unembed=False, fold_value_biases=False)
    return hf, model.eval()


def main():
    references = {}
    for name in ["gpt2", "llama_gqa", "qwen2", "gemma2", "phi3"]:
        hf, model = load(name)
        with open(os.path.join(MODELS, name, "reference.json")) as handle:
            tokens = json.load(handle)["batch"]["input_ids"][0]
        logits, cache = model.run_with_cache(torch.tensor([tokens]))
        difference = (logits - hf(torch.tensor([tokens])).logits).abs().max().item()
        assert difference < 1e-4, f"{name}: TransformerLens logits differ from transformers' by {difference}"
        stack = torch.stack([cache[f"blocks.{l}.hook_resid_pre"][0] for l in range(model.cfg.n_layers)]
                            + [cache[f"blocks.{model.cfg.n_layers - 1}.hook_resid_post"][0]])
        lens = model.unembed(model.ln_final(stack))                       # [layers + 1, positions, vocab]
        cap = getattr(model.cfg, "output_logits_soft_cap", -1.0)
        if cap and cap > 0:
            lens = cap * torch.tanh(lens / cap)
        assert (lens[-1] - logits[0]).abs().max().item() < 1e-4
        probabilities = lens.softmax(-1)
        reads = []
        for position in (len(tokens) - 1, 2):
            target = tokens[position]
            rows = probabilities[:, position]
            top = rows.topk(5)
            reads.append({
                "position": position, "target": target,
                "top_ids": top.indices.tolist(), "top_probabilities": top.values.tolist(),
                "target_probability": rows[:, target].tolist(),
                "target_rank": [int((row > row[target]).sum()) for row in rows],
            })
        references[name] = {"tokens": tokens, "reads": reads}
        print(name, f"{len(tokens)} tokens, {model.cfg.n_layers + 1} lens rows, max |TL - transformers| {difference:.1e}")
    with open(OUT, "w") as handle:
        json.dump(references, handle, separators=(",", ":"))


if __name__ == "__main__":
    main()
