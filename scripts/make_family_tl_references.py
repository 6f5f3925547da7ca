"""TransformerLens run_with_cache references for the GPT-NeoX, Gemma, Gemma-2, Phi-3, OLMo-2, Phi and OLMo fixtures.

Setup (TransformerLens 3.9 still has HookedTransformer; it reads the fixtures with the transformers >= 5 that
scripts/make_family_fixtures.py needs, so the venv shares the global torch and transformers):

    python3 -m venv --system-site-packages .venv-tl
    .venv-tl/bin/pip install --no-deps transformer-lens==3.9.0
    .venv-tl/bin/pip install beartype better-abc einops fancy-einsum jaxtyping typeguard rich datasets pandas
    .venv-tl/bin/python scripts/make_family_tl_references.py                 # every fixture
    .venv-tl/bin/python scripts/make_family_tl_references.py phi_tied_bf16   # only the fixtures named

Downloads nothing. For each fixture below it loads the checkpoint with transformers, converts it with
TransformerLens' own weight conversion into a HookedTransformer built from an explicit config and loaded
WITHOUT weight processing (no folded norms, no centring), checks that its logits equal transformers', and
writes Tests/LanguageModelsTests/Fixtures/transformerlens/<fixture>.safetensors: every activation of
run_with_cache (use_attn_result, use_hook_mlp_in) on the first prompt of the fixture's reference batch (12
tokens, longer than the sliding windows), under TransformerLens' names, plus "logits". TransformerLens names OLMo-2's
post-attention and post-MLP norms ln1 and ln2 (the test maps them to ln1_post, ln2_post). A GPT-NeoX without
attention biases is converted with zero biases (TransformerLens' conversion requires them). Phi is the fixture
without q/k LayerNorms and with one KV head per query head (TransformerLens' Phi conversion has neither); OLMo the
one with clip_qkv and no attention biases (TransformerLens' OLMo conversion writes zero biases), clip_qkv passed
to TransformerLens' config.

It also writes Tests/InterpTests/Fixtures/family_patching/<fixture>.json: TransformerLens' activation patching
(`transformer_lens.patching`, denoising: the corrupted run with clean activations) of the same HookedTransformer on
two prompt pairs (the fixture's two reference prompts, corrupted at positions 3 and 7), metric the mean last-position
logit difference between each clean prompt's top token and the corrupted prompt's: resid_pre, attn_out and mlp_out
per layer and position, every head's z over all positions and per position, every query head's q and attention
pattern over all positions, and the noising resid_pre sweep.
"""

import json
import os
import sys
from functools import partial

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM
from transformer_lens import HookedTransformer, HookedTransformerConfig, patching
from transformer_lens.pretrained.weight_conversions import (
    convert_gemma_weights,
    convert_neox_weights,
    convert_olmo2_weights,
    convert_olmo_weights,
    convert_phi3_weights,
    convert_phi_weights,
)

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(REPO, "Tests", "LanguageModelsTests", "Fixtures")
OUT = os.path.join(FIXTURES, "transformerlens")
PATCHING_OUT = os.path.join(REPO, "Tests", "InterpTests", "Fixtures", "family_patching")

torch.set_grad_enabled(False)


def config(hf):
    c = hf.config
    common = dict(n_layers=c.num_hidden_layers, d_vocab=c.vocab_size, d_model=c.hidden_size, d_mlp=c.intermediate_size,
                  n_heads=c.num_attention_heads, n_ctx=c.max_position_embeddings, dtype=torch.float32, device="cpu",
                  default_prepend_bos=False, use_attn_result=True, use_hook_mlp_in=True, positional_embedding_type="rotary",
                  rotary_adjacent_pairs=False, original_architecture=c.architectures[0])
    if c.model_type == "gpt_neox":
        head = c.hidden_size // c.num_attention_heads
        rope = c.rope_parameters
        return HookedTransformerConfig(d_head=head, act_fn=c.hidden_act, normalization_type="LN", eps=c.layer_norm_eps,
                                       parallel_attn_mlp=c.use_parallel_residual,
                                       rotary_dim=int(head * rope["partial_rotary_factor"]),
                                       rotary_base=rope["rope_theta"], **common)
    if c.model_type == "phi":
        head = c.hidden_size // c.num_attention_heads
        rope = c.rope_parameters
        return HookedTransformerConfig(d_head=head, act_fn=c.hidden_act, normalization_type="LN", eps=c.layer_norm_eps,
                                       parallel_attn_mlp=True, rotary_dim=int(head * rope["partial_rotary_factor"]),
                                       rotary_base=rope["rope_theta"], **common)
    if c.model_type == "olmo":
        head = c.hidden_size // c.num_attention_heads
        return HookedTransformerConfig(d_head=head, act_fn=c.hidden_act, normalization_type="LN", eps=1e-5,
                                       rotary_dim=head, rotary_base=c.rope_parameters["rope_theta"], gated_mlp=True,
                                       clip_qkv=c.clip_qkv, **common)
    if c.model_type in ("phi3", "olmo2"):
        head = c.hidden_size // c.num_attention_heads
        rope = c.rope_parameters
        extra = {}
        if getattr(c, "sliding_window", None):
            extra = dict(use_local_attn=True, window_size=c.sliding_window, attn_types=["local"] * c.num_hidden_layers)
        return HookedTransformerConfig(
            d_head=head, n_key_value_heads=c.num_key_value_heads if c.num_key_value_heads != c.num_attention_heads else None,
            act_fn=c.hidden_act, normalization_type="RMS", eps=c.rms_norm_eps,
            rotary_dim=int(head * rope.get("partial_rotary_factor", 1.0)), rotary_base=rope["rope_theta"],
            gated_mlp=True, final_rms=True, **extra, **common)
    gemma2 = c.model_type == "gemma2"
    extra = {}
    if gemma2:
        extra = dict(use_normalization_before_and_after=True, attn_scores_soft_cap=c.attn_logit_softcapping,
                     output_logits_soft_cap=c.final_logit_softcapping, attn_scale=c.query_pre_attn_scalar ** 0.5,
                     use_local_attn=True, window_size=c.sliding_window,
                     attn_types=["local" if t == "sliding_attention" else "global" for t in c.layer_types])
    return HookedTransformerConfig(
        d_head=c.head_dim, n_key_value_heads=c.num_key_value_heads, act_fn="gelu_pytorch_tanh", normalization_type="RMS",
        eps=c.rms_norm_eps, rotary_dim=c.head_dim, rotary_base=c.rope_parameters["rope_theta"], gated_mlp=True,
        final_rms=True, **extra, **common)


def logit_diff(logits, answers, wrongs):
    last = logits[:, -1]
    rows = torch.arange(last.shape[0])
    return (last[rows, answers] - last[rows, wrongs]).mean()


def rounded(tensor):
    return [round(float(v), 6) for v in tensor.flatten().tolist()]


def activation_patching(model, clean, vocabulary):
    """TransformerLens' patching sweeps on `clean` and its corruption at positions 3 and 7."""
    corrupted = clean.clone()
    corrupted[:, [3, 7]] = (corrupted[:, [3, 7]] + 17) % (vocabulary - 1) + 1
    clean_logits, clean_cache = model.run_with_cache(clean)
    corrupted_logits, corrupted_cache = model.run_with_cache(corrupted)
    answers = clean_logits[:, -1].argmax(-1)
    ranked = corrupted_logits[:, -1].argsort(-1, descending=True)
    wrongs = torch.where(ranked[:, 0] != answers, ranked[:, 0], ranked[:, 1])
    metric = partial(logit_diff, answers=answers, wrongs=wrongs)
    sweeps = {
        "resid_pre": patching.get_act_patch_resid_pre,
        "attn_out": patching.get_act_patch_attn_out,
        "mlp_out": patching.get_act_patch_mlp_out,
        "head_out": patching.get_act_patch_attn_head_out_all_pos,
        "head_out/byPosition": patching.get_act_patch_attn_head_out_by_pos,
        "q": patching.get_act_patch_attn_head_q_all_pos,
        "pattern": patching.get_act_patch_attn_head_pattern_all_pos,
    }
    results = {name: rounded(sweep(model, corrupted, clean_cache, metric)) for name, sweep in sweeps.items()}
    results["noising/resid_pre"] = rounded(patching.generic_activation_patch(
        model, clean, corrupted_cache, metric, patching.layer_pos_patch_setter, "resid_pre", index_axis_names=("layer", "pos")))
    return {"clean": clean.tolist(), "corrupted": corrupted.tolist(), "answers": answers.tolist(), "wrongs": wrongs.tolist(),
            "clean_value": float(metric(clean_logits)), "corrupted_value": float(metric(corrupted_logits)), "sweeps": results}


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(PATCHING_OUT, exist_ok=True)
    # olmo2_mha, not olmo2: TransformerLens 3.9's OLMo-2 conversion does not handle grouped-query heads.
    names = ["gpt_neox_parallel", "gpt_neox_sequential", "gemma", "gemma2", "phi3", "olmo2_mha", "phi_tied_bf16", "olmo_clip"]
    for name in sys.argv[1:] or names:
        directory = os.path.join(FIXTURES, "models", name)
        hf = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
        cfg = config(hf)
        convert = {"gpt_neox": convert_neox_weights, "phi3": convert_phi3_weights, "olmo2": convert_olmo2_weights,
                   "phi": convert_phi_weights, "olmo": convert_olmo_weights}.get(hf.config.model_type, convert_gemma_weights)
        if hf.config.model_type == "gpt_neox" and not hf.config.attention_bias:
            # TransformerLens' conversion expects biases: give it zeros, which change nothing.
            for layer in hf.gpt_neox.layers:
                for linear in (layer.attention.query_key_value, layer.attention.dense):
                    linear.bias = torch.nn.Parameter(torch.zeros(linear.out_features))
        model = HookedTransformer(cfg)
        model.load_and_process_state_dict(convert(hf, cfg), fold_ln=False, center_writing_weights=False,
                                          center_unembed=False, fold_value_biases=False)
        model.eval()
        with open(os.path.join(directory, "reference.json")) as handle:
            tokens = torch.tensor(json.load(handle)["batch"]["input_ids"][:1])
        logits, cache = model.run_with_cache(tokens)
        reference = hf(tokens).logits
        difference = (logits - reference).abs().max().item()
        assert difference < 1e-4, f"{name}: TransformerLens logits differ from transformers' by {difference}"
        tensors = {key: value.clone().contiguous() for key, value in cache.items()}
        tensors["logits"] = logits.clone().contiguous()
        save_file(tensors, os.path.join(OUT, f"{name}.safetensors"), metadata={"tokens": json.dumps(tokens.tolist())})
        print(name, f"max |TL - transformers| = {difference:.2e}", len(tensors), "activations")
        with open(os.path.join(directory, "reference.json")) as handle:
            pair_prompts = torch.tensor(json.load(handle)["batch"]["input_ids"])
        with open(os.path.join(PATCHING_OUT, f"{name}.json"), "w") as handle:
            json.dump(activation_patching(model, pair_prompts, hf.config.vocab_size), handle, separators=(",", ":"))


if __name__ == "__main__":
    main()
