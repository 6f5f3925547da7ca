"""Reference values of AtP* (Kramár et al. 2024, arXiv 2403.00745) on the tiny GPT-2 and grouped-query Llama fixtures,
from TransformerLens 3.9 hooks and torch autograd.

Regenerate, from the repository root (the venv of scripts/make_interp_references.py):

    .venv-tl/bin/python scripts/make_atp_star_references.py

For each of gpt2 and llama_gqa it reads Tests/LanguageModelsTests/Fixtures/models/<model> (transformers), builds the
same unprocessed HookedTransformer as scripts/make_interp_references.py, takes the clean/corrupted prompts, answers
and wrong answers of Tests/InterpTests/Fixtures/<model>/reference.json, and writes
Tests/InterpTests/Fixtures/<model>/atp_star.json:

  nodes: {name: {atp, atp_qk_fix, grad_drop, exact}} for every node of AtPStar (Sources/Interp/AtPStar.swift):
  head outputs (attn.hook_z), queries, keys, values (hook_q / hook_k / hook_v; hook_rot_q / hook_rot_k with rotary
  embeddings) per head (keys and values per key-value head, "a1.kv0<k>" with grouped-query attention) and the MLP
  (hook_mlp_out), over all positions (name "a1.h2<k>") and at each position (name "a1.h2<k>@3"); and each MLP
  neuron (mlp.hook_post, name "m1.n17") over all positions. Metric: mean logit difference at
  the last position; noising (the clean run patched with corrupted activations, as in the paper).
  - atp: (corrupted - clean) . dm/dact at the clean run (torch autograd);
  - atp_qk_fix: for queries and keys, sum over query rows of (A' - A) . dm/dA, with A' = softmax of the scores
    recomputed with torch from the clean q/k and the patched query or key, A the clean pattern (a key-value head's
    key: summed over the query heads that read it); others = atp;
  - grad_drop: sum over layers l of |estimate with hook_attn_out and hook_mlp_out of block l detached|, the
    estimate being atp_qk_fix's; for nodes in layers >= l the undropped estimate;
  - exact: metric with the node patched (TransformerLens hook replacing the node's slice) minus the clean metric.
"""

import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_interp_references import MODELS, INTERP_OUT, tl_model, logit_diff  # noqa: E402


def node_names(cfg, length):
    names = []
    kv_heads = cfg.n_key_value_heads or cfg.n_heads
    kv = "kv" if kv_heads != cfg.n_heads else "h"
    for l in range(cfg.n_layers):
        for kind in ("head", "q", "k", "v"):
            for h in range(cfg.n_heads if kind in ("head", "q") else kv_heads):
                base = {"head": f"a{l}.h{h}", "q": f"a{l}.h{h}<q>"}.get(kind, f"a{l}.{kv}{h}<{kind}>")
                names += [(base, l, kind, h, None)] + [(f"{base}@{p}", l, kind, h, p) for p in range(length)]
        names += [(f"m{l}", l, "mlp", 0, None)] + [(f"m{l}@{p}", l, "mlp", 0, p) for p in range(length)]
        names += [(f"m{l}.n{n}", l, "neuron", n, None) for n in range(cfg.d_mlp)]
    return names


def hook_names(cfg):
    rotary = cfg.positional_embedding_type == "rotary"
    return {"head": "attn.hook_z", "q": "attn.hook_rot_q" if rotary else "attn.hook_q",
            "k": "attn.hook_rot_k" if rotary else "attn.hook_k", "v": "attn.hook_v", "mlp": "hook_mlp_out",
            "neuron": "mlp.hook_post"}


def select(x, kind, h, p):
    """The node's slice of an activation [batch, pos, head, d] or [batch, pos, neuron] (a whole MLP: [batch, pos, d])."""
    index = [slice(None), slice(None) if p is None else slice(p, p + 1)]
    if kind != "mlp":
        index.append(slice(h, h + 1))
    return tuple(index)


def gradients(model, tokens, metric, names, dropped=None):
    kept = {}

    def keep(x, hook):
        x = x.detach().clone().requires_grad_(True) if hook.name == "blocks.0.hook_resid_pre" else x.clone()
        x.retain_grad()
        kept[hook.name] = x
        return x

    hooks = [("blocks.0.hook_resid_pre", keep)] + [(n, keep) for n in names]
    if dropped is not None:
        hooks += [(f"blocks.{dropped}.hook_attn_out", lambda x, hook: x.detach()),
                  (f"blocks.{dropped}.hook_mlp_out", lambda x, hook: x.detach())]
    with torch.enable_grad():
        metric(model.run_with_hooks(tokens, fwd_hooks=hooks)).backward()
    return {n: (kept[n].grad if kept[n].grad is not None else torch.zeros_like(kept[n])).detach() for n in names}


def qk_fixed(model, clean_cache, corrupted_cache, pattern_grad, l, kind, h, p):
    """sum (A' - A) . dm/dA for query head h's (or key-value head h's) query (key) patched at position p (None: all)."""
    hooks = hook_names(model.cfg)
    group = model.cfg.n_heads // (model.cfg.n_key_value_heads or model.cfg.n_heads)
    positions = slice(None) if p is None else slice(p, p + 1)
    total = 0.0
    for head in ([h] if kind == "q" else range(h * group, (h + 1) * group)):
        q = clean_cache[f"blocks.{l}.{hooks['q']}"][:, :, head].clone()
        k = clean_cache[f"blocks.{l}.{hooks['k']}"][:, :, head // group].clone()
        patched_input = q if kind == "q" else k
        source = corrupted_cache[f"blocks.{l}.{hooks[kind]}"][:, :, head if kind == "q" else h]
        patched_input[:, positions] = source[:, positions]
        length = q.shape[1]
        scores = torch.einsum("bqd,bkd->bqk", q, k) / model.cfg.d_head ** 0.5
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
        patched = scores.masked_fill(causal, float("-inf")).softmax(-1)
        clean = clean_cache[f"blocks.{l}.attn.hook_pattern"][:, head]
        total += ((patched - clean) * pattern_grad[f"blocks.{l}.attn.hook_pattern"][:, head]).sum().item()
    return total


def write(fixture):
    reference = json.load(open(os.path.join(INTERP_OUT, fixture, "reference.json")))
    hf = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, fixture), dtype=torch.float32).eval()
    model = tl_model(hf, split=False)
    clean, corrupted = torch.tensor(reference["clean"]), torch.tensor(reference["corrupted"])
    answers, wrongs = torch.tensor(reference["answers"]), torch.tensor(reference["wrongs"])

    def metric(logits):
        return logit_diff(logits, answers, wrongs)

    layers, length = model.cfg.n_layers, clean.shape[1]
    HOOK = hook_names(model.cfg)
    hooks = [f"blocks.{l}.{hook}" for l in range(layers) for hook in list(HOOK.values()) + ["attn.hook_pattern"]]
    with torch.no_grad():
        clean_value = metric(model(clean)).item()
        _, clean_cache = model.run_with_cache(clean)
        _, corrupted_cache = model.run_with_cache(corrupted)
    dropped = [gradients(model, clean, metric, hooks)] + [gradients(model, clean, metric, hooks, dropped=l) for l in range(1, layers)]

    def estimate(grads, l, kind, h, p, fixed):
        if fixed and kind in ("q", "k"):
            return qk_fixed(model, clean_cache, corrupted_cache, grads, l, kind, h, p)
        name = f"blocks.{l}.{HOOK[kind]}"
        index = select(clean_cache[name], kind, h, p)
        return ((corrupted_cache[name] - clean_cache[name]) * grads[name])[index].sum().item()

    def exact(l, kind, h, p):
        name = f"blocks.{l}.{HOOK[kind]}"

        def patch(x, hook):
            index = select(x, kind, h, p)
            x = x.clone()
            x[index] = corrupted_cache[name][index]
            return x

        with torch.no_grad():
            return metric(model.run_with_hooks(clean, fwd_hooks=[(name, patch)])).item() - clean_value

    nodes = {}
    for name, l, kind, h, p in node_names(model.cfg, length):
        atp = estimate(dropped[0], l, kind, h, p, fixed=False)
        fixed = estimate(dropped[0], l, kind, h, p, fixed=True)
        # GradDrop: layers <= l leave the node's gradient as it is; dropping a later layer changes it.
        grad_drop = (l + 1) * abs(fixed) + sum(abs(estimate(dropped[d], l, kind, h, p, fixed=True)) for d in range(l + 1, layers))
        nodes[name] = {key: float(f"{value:.9g}") for key, value in
                       dict(atp=atp, atp_qk_fix=fixed, grad_drop=grad_drop, exact=exact(l, kind, h, p)).items()}
    path = os.path.join(INTERP_OUT, fixture, "atp_star.json")
    with open(path, "w") as f:
        json.dump({"clean_value": clean_value, "nodes": nodes}, f, indent=1, sort_keys=True)
    print("wrote", path)


if __name__ == "__main__":
    for name in ("gpt2", "llama_gqa"):
        write(name)
