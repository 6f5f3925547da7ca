"""Reference values for edge-level circuit discovery on post-attention-norm families (Gemma-2, OLMo-2).

Run with the TransformerLens venv of scripts/make_family_tl_references.py (TransformerLens 3.9 on the global
torch and transformers), from the repository root:

    /work/venv-tl/bin/python scripts/make_postnorm_references.py

Downloads nothing. It reads the tiny gemma2, olmo2_mha and olmo2 checkpoints of
Tests/LanguageModelsTests/Fixtures/models/ and writes Tests/CircuitsTests/Fixtures/postnorm/<fixture>.json for
the pair (clean = the fixture's 2 x 12 reference batch, corrupted = its rows swapped), the logit-difference
metric at the last position (answers 5, 9; wrongs 1, 2), averaged over the two examples.

The sender definition checked: behind a post-attention norm, head h's output is its share of the normalized
attention output, out_h = g * result_h / s, with s the norm's divisor (hook_scale) of the same run; an MLP's
output is hook_mlp_out (after its post-norm); the input's is resid_pre 0.

- "node_patching" (gemma2 and olmo2_mha, TransformerLens): per sender in graph order (input; per layer its
  heads, then its MLP), the logits [batch, vocab] at the last position of the clean run with that node's output
  replaced by its corrupted output (hook_resid_pre 0 replaced; hook_attn_out += out_h(corrupted) - out_h(clean);
  hook_mlp_out replaced), out_h from TransformerLens' cached hook_result and post-norm hook_scale. Edge patching of
  every edge out of one sender must give these.
- "eap": per edge in graph order (receivers per layer: query heads, key heads, value heads, MLP; then the logits;
  each receiver's senders in order), (out_s(corrupted) - out_s(clean)) . dm/d(input of r) summed over batch,
  positions and d_model, with the gradient from torch autograd on the clean run through split q/k/v inputs:
  TransformerLens' use_split_qkv_input for gemma2; for olmo2 (grouped-query) an explicit per-head torch forward
  on the transformers weights (checked against transformers' logits), because TransformerLens' split inputs on
  OLMo-2 normalize the concatenation of different heads' projections, while here each head's query is
  normalized with every head's projection of its own input (the definition of Attention.normsSpanHeads).
  (The EAP-IG library's hook_result is before ln1_post, so its head outputs are not these.)
- "eap_ig": the same with the gradient averaged over 5 runs whose resid_pre 0 is x' + k/5 (x - x'), k = 0..<5
  (x, x' the clean and corrupted embeddings), as EdgePatching.edgeAttribution(integratedGradientSteps: 5).
"""

import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_family_tl_references import FIXTURES, config  # noqa: E402
from transformer_lens import HookedTransformer  # noqa: E402
from transformer_lens.pretrained.weight_conversions import convert_gemma_weights, convert_olmo2_weights  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(REPO, "Tests", "CircuitsTests", "Fixtures", "postnorm")
ANSWERS, WRONGS = [5, 9], [1, 2]
IG_STEPS = 5


def load(name):
    directory = os.path.join(FIXTURES, "models", name)
    hf = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
    with open(os.path.join(directory, "reference.json")) as handle:
        clean = torch.tensor(json.load(handle)["batch"]["input_ids"])
    return hf, clean, clean.flip(0)


def metric(logits):
    last = logits[:, -1]
    rows = torch.arange(last.shape[0])
    return (last[rows, ANSWERS] - last[rows, WRONGS]).mean()


def tl_model(hf, split):
    cfg = config(hf)
    cfg.use_split_qkv_input = split
    model = HookedTransformer(cfg)
    convert = convert_olmo2_weights if hf.config.model_type == "olmo2" else convert_gemma_weights
    model.load_and_process_state_dict(convert(hf, cfg), fold_ln=False, center_writing_weights=False,
                                      center_unembed=False, fold_value_biases=False)
    return model.eval()


def post_norm(model):
    """The hook prefix of the post-attention norm (TransformerLens calls OLMo-2's ln1)."""
    return "ln1" if model.cfg.original_architecture == "Olmo2ForCausalLM" else "ln1_post"


def tl_sender_outputs(model, tokens):
    """Every sender's output [batch, pos, d] in graph order, per the definition above."""
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    outputs = [cache["blocks.0.hook_resid_pre"]]
    norm = post_norm(model)
    for l, block in enumerate(model.blocks):
        gain = getattr(block, norm).w
        result, scale = cache[f"blocks.{l}.attn.hook_result"], cache[f"blocks.{l}.{norm}.hook_scale"]
        outputs += [result[:, :, h] / scale * gain for h in range(model.cfg.n_heads)]
        outputs.append(cache[f"blocks.{l}.hook_mlp_out"])
    return outputs


def node_patching(model, clean, corrupted):
    sources, currents = tl_sender_outputs(model, corrupted), tl_sender_outputs(model, clean)
    heads, rows = model.cfg.n_heads, []
    for s in range(len(sources)):
        if s == 0:
            hook = ("blocks.0.hook_resid_pre", lambda x, hook: sources[0])
        else:
            l, k = divmod(s - 1, heads + 1)
            if k == heads:
                hook = (f"blocks.{l}.hook_mlp_out", lambda x, hook, s=s: sources[s])
            else:
                hook = (f"blocks.{l}.hook_attn_out", lambda x, hook, s=s: x + sources[s] - currents[s])
        with torch.no_grad():
            logits = model.run_with_hooks(clean, fwd_hooks=[hook])
        rows.append(logits[:, -1].tolist())
    return rows


def scores(sources, currents, gradients, layers, heads, kv_heads):
    """Per edge in graph order: (source - clean output of s) . gradient of r."""
    deltas = [a - b for a, b in zip(sources, currents)]
    values = []

    def receiver(gradient, upstream):
        values.extend((deltas[s] * gradient).sum().item() for s in range(upstream))

    for l in range(layers):
        before = 1 + l * (heads + 1)
        for name, count in (("q", heads), ("k", kv_heads), ("v", kv_heads)):
            for h in range(count):
                receiver(gradients[f"{name}{l}"][:, :, h], before)
        receiver(gradients[f"mlp{l}"], before + heads)
    receiver(gradients["final"], 1 + layers * (heads + 1))
    return values


def tl_eap(hf, clean, corrupted, steps=None):
    model = tl_model(hf, split=True)
    cfg = model.cfg
    kv = cfg.n_key_value_heads or cfg.n_heads
    with torch.no_grad():
        embeddings = [model.run_with_cache(t, names_filter="blocks.0.hook_resid_pre")[1]["blocks.0.hook_resid_pre"]
                      for t in (clean, corrupted)]
    gradients = {}
    for k in range(steps or 1):
        start = None if steps is None else embeddings[1] + k / steps * (embeddings[0] - embeddings[1])
        for key, value in tl_gradients(model, clean, start).items():
            gradients[key] = gradients.get(key, 0) + value / (steps or 1)
    return scores(tl_sender_outputs(model, corrupted), tl_sender_outputs(model, clean), gradients,
                  cfg.n_layers, cfg.n_heads, kv)


def tl_gradients(model, clean, start):
    """dm/d(receiver inputs) on the clean prompts, with resid_pre 0 replaced by `start` when given."""
    cfg = model.cfg
    saved = {}

    def keep(key):
        def hook(x, hook):
            x.retain_grad()
            saved[key] = x
            return x
        return hook

    hooks = []
    for l in range(cfg.n_layers):
        for name in "qkv":
            hooks.append((f"blocks.{l}.hook_{name}_input", keep(f"{name}{l}")))
        hooks.append((f"blocks.{l}.hook_mlp_in", keep(f"mlp{l}")))
    hooks.append((f"blocks.{cfg.n_layers - 1}.hook_resid_post", keep("final")))
    if start is not None:
        hooks.insert(0, ("blocks.0.hook_resid_pre", lambda x, hook: start.clone().requires_grad_(True)))
    with torch.enable_grad():
        metric(model.run_with_hooks(clean, fwd_hooks=hooks)).backward()
    return {key: value.grad for key, value in saved.items()}


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def olmo2_forward(hf, tokens, watch=None, start=None):
    """OLMo-2 with every head reading its own copy of the residual stream (split q/k/v inputs): returns the logits
    and each sender's output (head h: its share of post_attention_layernorm's output at the run's divisor)."""
    c, m = hf.config, hf.model
    heads, kv, hd = c.num_attention_heads, c.num_key_value_heads, c.hidden_size // c.num_attention_heads
    batch, length = tokens.shape
    x = m.embed_tokens(tokens) if start is None else start
    outputs = [x]
    inv = 1.0 / (c.rope_parameters["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv)
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
    causal = torch.full((length, length), float("-inf")).triu(1)

    def rms(v, eps=c.rms_norm_eps):
        return torch.sqrt(v.pow(2).mean(-1, keepdim=True) + eps)

    def copies(key, count):
        split = x.unsqueeze(2).expand(batch, length, count, c.hidden_size)
        if watch is None:
            return split
        watch[key] = split.clone()
        watch[key].retain_grad()
        return watch[key]

    for l, layer in enumerate(m.layers):
        a = layer.self_attn
        qi, ki, vi = copies(f"q{l}", heads), copies(f"k{l}", kv), copies(f"v{l}", kv)

        def normalized(inputs, proj, norm, g):
            full = proj(inputs[:, :, g])                                       # every head's projection of g's input
            return (full / rms(full) * norm.weight).view(batch, length, -1, hd)[:, :, g]

        q = torch.stack([normalized(qi, a.q_proj, a.q_norm, h) for h in range(heads)], 2)
        k = torch.stack([normalized(ki, a.k_proj, a.k_norm, g) for g in range(kv)], 2)
        v = torch.stack([a.v_proj(vi[:, :, g]).view(batch, length, kv, hd)[:, :, g] for g in range(kv)], 2)
        q, k = q * cos[:, None] + rotate_half(q) * sin[:, None], k * cos[:, None] + rotate_half(k) * sin[:, None]
        k, v = k.repeat_interleave(heads // kv, 2), v.repeat_interleave(heads // kv, 2)
        pattern = ((torch.einsum("bqhd,bkhd->bhqk", q, k) / hd ** 0.5) + causal).softmax(-1)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        w_o = a.o_proj.weight.view(c.hidden_size, heads, hd)
        results = torch.einsum("bqhd,ehd->bqhe", z, w_o)
        divisor = rms(results.sum(2)).unsqueeze(2)
        shares = results / divisor * layer.post_attention_layernorm.weight
        outputs += [shares[:, :, h] for h in range(heads)]
        x = x + shares.sum(2)
        mlp_in = x.clone()             # the MLP's own copy of resid_mid (its receiver input)
        if watch is not None:
            mlp_in.retain_grad()
            watch[f"mlp{l}"] = mlp_in
        mlp_out = layer.post_feedforward_layernorm(layer.mlp(mlp_in))
        outputs.append(mlp_out)
        x = x + mlp_out
    if watch is not None:
        x = x.clone()
        x.retain_grad()
        watch["final"] = x
    return hf.lm_head(m.norm(x)), outputs


def explicit_eap(forward, label, hf, clean, corrupted, steps=None):
    """EAP (steps None) or EAP-IG scores from `forward`, an explicit split-input forward pass of `hf` (checked first
    against transformers' own logits), with the gradients from torch autograd."""
    with torch.no_grad():
        logits, currents = forward(hf, clean)
        _, sources = forward(hf, corrupted)
        difference = (logits - hf(clean).logits).abs().max().item()
    assert difference < 1e-4, f"the explicit {label} forward differs from transformers' by {difference}"
    gradients = {}
    for k in range(steps or 1):
        start = None if steps is None else sources[0] + k / steps * (currents[0] - sources[0])
        watch = {}
        with torch.enable_grad():
            metric(forward(hf, clean, watch, start if start is None else start.clone().requires_grad_(True))[0]).backward()
        for key, value in watch.items():
            gradients[key] = gradients.get(key, 0) + value.grad / (steps or 1)
    c = hf.config
    return scores(sources, currents, gradients, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads)


def olmo2_eap(hf, clean, corrupted, steps=None):
    return explicit_eap(olmo2_forward, "OLMo-2", hf, clean, corrupted, steps)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in ["gemma2", "olmo2_mha", "olmo2"]:
        hf, clean, corrupted = load(name)
        reference = dict(clean=clean.tolist(), corrupted=corrupted.tolist(), answers=ANSWERS, wrongs=WRONGS)
        if name != "olmo2":          # TransformerLens 3.9's OLMo-2 conversion does not handle grouped-query heads
            model = tl_model(hf, split=False)
            difference = (model(clean) - hf(clean).logits).abs().max().item()
            assert difference < 1e-4, f"{name}: TransformerLens logits differ from transformers' by {difference}"
            reference["node_patching"] = node_patching(model, clean, corrupted)
        eap = olmo2_eap if name.startswith("olmo2") else tl_eap
        reference["eap"] = eap(hf, clean, corrupted)
        reference["eap_ig"] = eap(hf, clean, corrupted, steps=IG_STEPS)
        with open(os.path.join(OUT, f"{name}.json"), "w") as handle:
            json.dump(reference, handle, separators=(",", ":"))
        print(name, len(reference.get("node_patching", [])), "node patches,", len(reference["eap"]), "edge scores")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
