"""Reference EAP and EAP-IG edge scores for the mixture-of-experts OLMoE and Qwen-MoE fixtures, from torch autograd.

Run with the TransformerLens venv (make_postnorm_references.py, whose helpers this reuses, imports it), from the
repository root:

    /work/.venv-tl/bin/python scripts/make_moe_references.py

Downloads nothing. It reads the tiny olmoe, olmoe_norm_bf16, qwen2_moe and qwen3_moe checkpoints of
Tests/LanguageModelsTests/Fixtures/models/
and writes Tests/CircuitsTests/Fixtures/moe/<fixture>.json for the pair (clean = the fixture's 2 x 12 reference batch,
corrupted = its rows swapped) and the logit-difference metric at the last position (answers 5, 9; wrongs 1, 2),
averaged over the two examples, as make_postnorm_references.py does.

The forward is explicit for the attention (every head reads its own copy of the residual stream, each copy through
input_layernorm; a head's query is its block of q_proj (with its bias, Qwen2-MoE) of its own input, normalized by
q_norm over every head's projection (OLMoE) or over the head alone (Qwen3-MoE), then clamped to clip_qkv (OLMoE);
keys likewise; causal masks narrowed to the layer's sliding window (Qwen2-MoE's layer 0); heads' outputs are their
blocks of o_proj, which has no bias here) and calls transformers' own MLP module for the MLP (OlmoeSparseMoeBlock,
Qwen2MoeSparseMoeBlock with its shared expert, Qwen3MoeSparseMoeBlock, or a dense layer's MLP), on its own copy of
resid_mid (the MLP's receiver input). The explicit forward is checked against
transformers' logits. Senders: the embeddings, each head's result, each MLP's output.

- "eap": per edge in graph order, (out_s(corrupted) - out_s(clean)) . dm/d(input of r) summed over batch, positions
  and d_model, the gradient from torch autograd on the clean run (through the experts transformers' router chose,
  and through its routing weights into the router).
- "eap_ig": the same with the gradient averaged over 5 runs whose resid_pre 0 is x' + k/5 (x - x'), k = 0..<5.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_postnorm_references import ANSWERS, IG_STEPS, WRONGS, explicit_eap, load, rotate_half  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(REPO, "Tests", "CircuitsTests", "Fixtures", "moe")


def moe_forward(hf, tokens, watch=None, start=None):
    """OLMoE or Qwen-MoE with split q/k/v inputs: the logits and each sender's output."""
    c, m = hf.config, hf.model
    heads, kv, hd = c.num_attention_heads, c.num_key_value_heads, m.layers[0].self_attn.head_dim
    batch, length = tokens.shape
    x = m.embed_tokens(tokens) if start is None else start
    outputs = [x]
    inv = 1.0 / (c.rope_parameters["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv)
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
    causal = torch.full((length, length), float("-inf")).triu(1)
    clip = getattr(c, "clip_qkv", None)

    def clamped(v):
        return v if clip is None else v.clamp(-clip, clip)

    def copies(key, count):
        split = x.unsqueeze(2).expand(batch, length, count, c.hidden_size)
        if watch is None:
            return split
        watch[key] = split.clone()
        watch[key].retain_grad()
        return watch[key]

    for l, layer in enumerate(m.layers):
        a, ln1 = layer.self_attn, layer.input_layernorm
        qi, ki, vi = copies(f"q{l}", heads), copies(f"k{l}", kv), copies(f"v{l}", kv)

        def projected(inputs, proj, norm, g):
            full = proj(ln1(inputs[:, :, g]))                                  # every head's projection of g's input
            if norm is not None and norm.weight.numel() == hd:                 # Qwen3-MoE: per head
                return norm(full.view(batch, length, -1, hd)[:, :, g])
            full = full if norm is None else norm(full)
            return clamped(full).view(batch, length, -1, hd)[:, :, g]

        q = torch.stack([projected(qi, a.q_proj, getattr(a, "q_norm", None), h) for h in range(heads)], 2)
        k = torch.stack([projected(ki, a.k_proj, getattr(a, "k_norm", None), g) for g in range(kv)], 2)
        v = torch.stack([projected(vi, a.v_proj, None, g) for g in range(kv)], 2)
        q, k = q * cos[:, None] + rotate_half(q) * sin[:, None], k * cos[:, None] + rotate_half(k) * sin[:, None]
        k, v = k.repeat_interleave(heads // kv, 2), v.repeat_interleave(heads // kv, 2)
        window = getattr(a, "sliding_window", None)
        mask = causal if window is None else causal.masked_fill(torch.ones(length, length, dtype=torch.bool).tril(-window), float("-inf"))
        pattern = ((torch.einsum("bqhd,bkhd->bhqk", q, k) / hd ** 0.5) + mask).softmax(-1)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        results = torch.einsum("bqhd,ehd->bqhe", z, a.o_proj.weight.view(c.hidden_size, heads, hd))
        outputs += [results[:, :, h] for h in range(heads)]
        x = x + results.sum(2)
        mlp_in = x.clone()             # the MLP's own copy of resid_mid (its receiver input)
        if watch is not None:
            mlp_in.retain_grad()
            watch[f"mlp{l}"] = mlp_in
        mlp_out = layer.mlp(layer.post_attention_layernorm(mlp_in))
        outputs.append(mlp_out)
        x = x + mlp_out
    if watch is not None:
        x = x.clone()
        x.retain_grad()
        watch["final"] = x
    return hf.lm_head(m.norm(x)), outputs


def moe_eap(hf, clean, corrupted, steps=None):
    return explicit_eap(moe_forward, hf.config.model_type, hf, clean, corrupted, steps)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in ["olmoe", "olmoe_norm_bf16", "qwen2_moe", "qwen3_moe"]:
        hf, clean, corrupted = load(name)
        assert all(layer.self_attn.o_proj.bias is None for layer in hf.model.layers)
        reference = dict(clean=clean.tolist(), corrupted=corrupted.tolist(), answers=ANSWERS, wrongs=WRONGS)
        reference["eap"] = moe_eap(hf, clean, corrupted)
        reference["eap_ig"] = moe_eap(hf, clean, corrupted, steps=IG_STEPS)
        with open(os.path.join(OUT, f"{name}.json"), "w") as handle:
            json.dump(reference, handle, separators=(",", ":"))
        print(name, len(reference["eap"]), "edge scores, largest", max(map(abs, reference["eap"])))


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
