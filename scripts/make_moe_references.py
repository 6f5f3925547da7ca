"""Reference EAP and EAP-IG edge scores for the mixture-of-experts OLMoE fixtures, from torch autograd.

Run with the TransformerLens venv (make_postnorm_references.py, whose helpers this reuses, imports it), from the
repository root:

    /work/.venv-tl/bin/python scripts/make_moe_references.py

Downloads nothing. It reads the tiny olmoe and olmoe_norm_bf16 checkpoints of Tests/LanguageModelsTests/Fixtures/models/
and writes Tests/CircuitsTests/Fixtures/moe/<fixture>.json for the pair (clean = the fixture's 2 x 12 reference batch,
corrupted = its rows swapped) and the logit-difference metric at the last position (answers 5, 9; wrongs 1, 2),
averaged over the two examples, as make_postnorm_references.py does.

The forward is explicit for the attention (every head reads its own copy of the residual stream, each copy through
input_layernorm; a head's query is q_norm over every head's projection of its own input, then clamped to clip_qkv;
heads' outputs are their blocks of o_proj, which has no bias here) and calls transformers' own OlmoeSparseMoeBlock for
the MLP, on its own copy of resid_mid (the MLP's receiver input). The explicit forward is checked against
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


def olmoe_forward(hf, tokens, watch=None, start=None):
    """OLMoE with split q/k/v inputs: the logits and each sender's output."""
    c, m = hf.config, hf.model
    heads, kv, hd = c.num_attention_heads, c.num_key_value_heads, c.hidden_size // c.num_attention_heads
    batch, length = tokens.shape
    x = m.embed_tokens(tokens) if start is None else start
    outputs = [x]
    inv = 1.0 / (c.rope_parameters["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv)
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
    causal = torch.full((length, length), float("-inf")).triu(1)
    clip = c.clip_qkv

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
            full = full if norm is None else norm(full)
            return clamped(full).view(batch, length, -1, hd)[:, :, g]

        q = torch.stack([projected(qi, a.q_proj, a.q_norm, h) for h in range(heads)], 2)
        k = torch.stack([projected(ki, a.k_proj, a.k_norm, g) for g in range(kv)], 2)
        v = torch.stack([projected(vi, a.v_proj, None, g) for g in range(kv)], 2)
        q, k = q * cos[:, None] + rotate_half(q) * sin[:, None], k * cos[:, None] + rotate_half(k) * sin[:, None]
        k, v = k.repeat_interleave(heads // kv, 2), v.repeat_interleave(heads // kv, 2)
        pattern = ((torch.einsum("bqhd,bkhd->bhqk", q, k) / hd ** 0.5) + causal).softmax(-1)
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


def olmoe_eap(hf, clean, corrupted, steps=None):
    return explicit_eap(olmoe_forward, "OLMoE", hf, clean, corrupted, steps)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in ["olmoe", "olmoe_norm_bf16"]:
        hf, clean, corrupted = load(name)
        assert not hf.config.attention_bias
        reference = dict(clean=clean.tolist(), corrupted=corrupted.tolist(), answers=ANSWERS, wrongs=WRONGS)
        reference["eap"] = olmoe_eap(hf, clean, corrupted)
        reference["eap_ig"] = olmoe_eap(hf, clean, corrupted, steps=IG_STEPS)
        with open(os.path.join(OUT, f"{name}.json"), "w") as handle:
            json.dump(reference, handle, separators=(",", ":"))
        print(name, len(reference["eap"]), "edge scores, largest", max(map(abs, reference["eap"])))


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
