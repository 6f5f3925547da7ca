"""Reference values of the interpretability methods, from TransformerLens 3.9 and torch autograd.

Setup (TransformerLens 3.9 still has HookedTransformer; 4.x does not), from the repository root:

    python -m venv .venv-tl && .venv-tl/bin/pip install torch transformer-lens==3.9.0
    .venv-tl/bin/python scripts/make_interp_references.py

Downloads nothing: it reads the tiny checkpoints of Tests/LanguageModelsTests/Fixtures/models/ (gpt2, llama_gqa,
qwen2) with transformers, converts their state dicts with TransformerLens' own weight conversions into a
HookedTransformer built WITHOUT weight processing (no folded norms, no centring, value biases unfolded), checks
that its logits equal transformers', and records for a 2 x 7 clean/corrupted prompt pair:

Tests/InterpTests/Fixtures/<model>/
  reference.json     tokens, answers, and every method's reference values (small arrays, 9 significant digits):
    - "dla": TransformerLens' cache.logit_attrs on stack_head_results / decompose_resid (last position) of a
      SECOND HookedTransformer loaded with fold_ln=True (where logit_attrs is exact; fold_value_biases=False,
      no centring), for one target token and for answer minus wrong; the attention output bias b_O as its own
      component; "bias_term" is the folded unembedding bias (the final norm's bias projected on the direction);
    - "patching": transformer_lens.patching.get_act_patch_* (denoising: corrupted run, clean activations),
      logit-difference metric at the last position; resid_post and the noising direction through
      generic_activation_patch with TransformerLens' own patch setters;
    - "attribution": (a(corrupted) - a(clean)) . dm/da at the clean run (torch autograd through TransformerLens
      hooks), summed into [layer, position] / [layer, head] / ... cells, plus the clean metric (noising).
  cache.safetensors  run_with_cache on the clean prompts of every hook point TransformerLens has that we also
    implement (our names), from the model with use_split_qkv_input / use_attn_result / use_hook_mlp_in; plus
    "standard/..." entries for ln1 from a model without split inputs (there ln1 normalizes the shared residual).

Tests/CircuitsTests/Fixtures/<model>/edges.json: a torch reimplementation on TransformerLens hooks of
  - edge patching (receiver input = its input in the current run + corrupted sender output - current sender
    output, for the edges of a set), for a few edge sets;
  - EAP scores of every edge: sum over batch and positions of (out_u(x') - out_u(x)) . dm/d in_v at x,
    m = mean logit difference;
  - EAP-IG with 5 steps: the same with the gradient averaged over runs whose blocks.0.hook_resid_pre is
    corrupted + k/5 (clean - corrupted), k = 0..4.
  Edge names follow Sources/Circuits/ComputationGraph.swift ("a0.h1->a1.h2<q>", "input->m0", "m1->logits",
  "a1.kv0<k>" for grouped-query key/value receivers).
"""

import json
import os
from functools import partial

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens import patching
from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights, convert_llama_weights, convert_qwen2_weights

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(REPO, "Tests", "LanguageModelsTests", "Fixtures", "models")
INTERP_OUT = os.path.join(REPO, "Tests", "InterpTests", "Fixtures")
CIRCUITS_OUT = os.path.join(REPO, "Tests", "CircuitsTests", "Fixtures")
BATCH, LENGTH, IG_STEPS = 2, 7, 5

torch.set_grad_enabled(False)


def rounded(array):
    """Nested lists of float32 values with 9 significant digits (round-trips float32 exactly)."""
    return np.vectorize(lambda v: float(f"{v:.9g}"), otypes=[object])(np.asarray(array, dtype=np.float32)).tolist()


# ----------------------------------------------------------------------------------------------------------
# Models


def tl_config(hf, split):
    c = hf.config
    common = dict(
        n_layers=c.num_hidden_layers, d_vocab=c.vocab_size, dtype=torch.float32, device="cpu",
        default_prepend_bos=False, use_attn_result=split, use_split_qkv_input=split, use_hook_mlp_in=split,
    )
    if c.model_type == "gpt2":
        return HookedTransformerConfig(
            d_model=c.n_embd, n_heads=c.n_head, d_head=c.n_embd // c.n_head, n_ctx=c.n_positions,
            d_mlp=c.n_inner or 4 * c.n_embd, act_fn=c.activation_function, normalization_type="LN",
            eps=c.layer_norm_epsilon, positional_embedding_type="standard",
            original_architecture="GPT2LMHeadModel", **common)
    rope = getattr(c, "rope_parameters", None) or {}
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    extra = {}
    if rope.get("rope_type") == "llama3":
        extra = dict(use_NTK_by_parts_rope=True, NTK_by_parts_factor=rope["factor"],
                     NTK_by_parts_low_freq_factor=rope["low_freq_factor"],
                     NTK_by_parts_high_freq_factor=rope["high_freq_factor"],
                     NTK_original_ctx_len=rope["original_max_position_embeddings"])
    else:
        assert rope.get("rope_type", "default") == "default", rope
    return HookedTransformerConfig(
        d_model=c.hidden_size, n_heads=c.num_attention_heads, d_head=head_dim,
        n_key_value_heads=c.num_key_value_heads if c.num_key_value_heads != c.num_attention_heads else None,
        n_ctx=c.max_position_embeddings, d_mlp=c.intermediate_size, act_fn=c.hidden_act, normalization_type="RMS",
        eps=c.rms_norm_eps, positional_embedding_type="rotary", rotary_dim=head_dim, rotary_base=rope["rope_theta"],
        rotary_adjacent_pairs=False, gated_mlp=True, final_rms=True,
        original_architecture=c.architectures[0], **extra, **common)


def tl_model(hf, split=True, fold_ln=False):
    cfg = tl_config(hf, split)
    convert = {"gpt2": convert_gpt2_weights, "llama": convert_llama_weights, "qwen2": convert_qwen2_weights}[hf.config.model_type]
    model = HookedTransformer(cfg)
    model.load_and_process_state_dict(convert(hf, cfg), fold_ln=fold_ln, center_writing_weights=False,
                                      center_unembed=False, fold_value_biases=False)
    model.eval().requires_grad_(False)
    return model


def our_hook_names(model):
    """TransformerModel.hookNames (Sources/LanguageModels/Models/TransformerModel.swift), rebuilt here."""
    names = ["hook_embed"] + (["hook_pos_embed"] if model.cfg.positional_embedding_type == "standard" else [])
    for l in range(model.cfg.n_layers):
        b = f"blocks.{l}."
        names += [b + n for n in ["hook_resid_pre", "hook_q_input", "hook_k_input", "hook_v_input", "ln1.hook_scale",
                                  "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v"]]
        if model.cfg.positional_embedding_type == "rotary":
            names += [b + "attn.hook_rot_q", b + "attn.hook_rot_k"]
        names += [b + n for n in ["attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z", "attn.hook_result",
                                  "hook_attn_out", "hook_resid_mid", "hook_mlp_in", "ln2.hook_scale",
                                  "ln2.hook_normalized", "mlp.hook_pre"]]
        if model.cfg.gated_mlp:
            names.append(b + "mlp.hook_pre_linear")
        names += [b + "mlp.hook_post", b + "hook_mlp_out", b + "hook_resid_post"]
    return names + ["ln_final.hook_scale", "ln_final.hook_normalized"]


# ----------------------------------------------------------------------------------------------------------
# Prompts and metric


def prompt_pairs(hf, seed):
    generator = np.random.default_rng(seed)
    clean = generator.integers(3, hf.config.vocab_size, (BATCH, LENGTH))
    corrupted = clean.copy()
    for b in range(BATCH):          # change two earlier tokens of each prompt
        for p in (1, 3 + b):
            corrupted[b, p] = (clean[b, p] + 17 + 29 * b) % (hf.config.vocab_size - 3) + 3
    clean, corrupted = torch.tensor(clean), torch.tensor(corrupted)
    clean_last = hf(clean).logits[:, -1]
    corrupted_last = hf(corrupted).logits[:, -1]
    answers = clean_last.argmax(-1)
    wrongs = corrupted_last.argmax(-1)
    for b in range(BATCH):
        if wrongs[b] == answers[b]:
            wrongs[b] = clean_last[b].topk(2).indices[1]
    return clean, corrupted, answers, wrongs


def logit_diff(logits, answers, wrongs):
    last = logits[:, -1]
    rows = torch.arange(last.shape[0])
    return (last[rows, answers] - last[rows, wrongs]).mean()


# ----------------------------------------------------------------------------------------------------------
# 2. Activations


def activations(model, standard, clean):
    _, cache = model.run_with_cache(clean)
    tensors = {}
    for name in our_hook_names(model):
        assert name in cache.cache_dict, f"TransformerLens has no {name}"
        tensors[name] = cache[name].contiguous().clone()
    _, standard_cache = standard.run_with_cache(clean)
    for l in range(model.cfg.n_layers):
        for hook in ("ln1.hook_scale", "ln1.hook_normalized"):
            tensors[f"standard/blocks.{l}.{hook}"] = standard_cache[f"blocks.{l}.{hook}"].contiguous().clone()
    # Documented differences, checked here so that the Swift test's adjustments rest on facts.
    n_kv = model.cfg.n_key_value_heads or model.cfg.n_heads
    assert tensors["blocks.0.attn.hook_k"].shape[2] == n_kv, "hook_k has the un-repeated key-value heads"
    assert tensors["blocks.0.ln1.hook_scale"].shape == (BATCH, LENGTH, n_kv, 1), "split ln1 caches the value input's scale"
    scores = tensors["blocks.0.attn.hook_attn_scores"]
    assert torch.isneginf(scores[0, 0, 0, 1]) and torch.isfinite(scores[0, 0, 1, 0]), "masked scores are -inf"
    return tensors


# ----------------------------------------------------------------------------------------------------------
# 3. Direct logit attribution (folded model)


def direct_logit_attribution(folded, clean, hf_logits, target, wrong):
    logits, cache = folded.run_with_cache(clean)
    assert torch.allclose(logits, hf_logits, atol=1e-4), "fold_ln changed the logits"
    targets = torch.full((BATCH,), target)
    wrongs = torch.full((BATCH,), wrong)
    heads, head_labels = cache.stack_head_results(layer=-1, pos_slice=-1, return_labels=True)
    resid, resid_labels = cache.decompose_resid(layer=-1, mode="all", pos_slice=-1, return_labels=True)
    components = {}
    for name, incorrect in (("token", None), ("difference", wrongs)):
        attrs = {}
        for stack, labels in ((heads, head_labels), (resid, resid_labels)):
            values = cache.logit_attrs(stack, tokens=targets, incorrect_tokens=incorrect, pos_slice=-1)
            attrs.update({label: values[i] for i, label in enumerate(labels)})
        for l in range(folded.cfg.n_layers):
            b_o = folded.blocks[l].attn.b_O.expand(1, BATCH, -1)
            if b_o.abs().max() > 0:
                attrs[f"{l}_attn_bias"] = cache.logit_attrs(b_o, tokens=targets, incorrect_tokens=incorrect, pos_slice=-1)[0]
            summed = attrs[f"{l}_attn_out"] - sum(attrs[f"L{l}H{h}"] for h in range(folded.cfg.n_heads))
            assert torch.allclose(summed, attrs.get(f"{l}_attn_bias", torch.zeros(BATCH)), atol=1e-4)
        b_u = folded.unembed.b_U
        bias = b_u[targets] - (b_u[wrongs] if incorrect is not None else 0)
        real = logits[:, -1, target] - (logits[:, -1, wrong] if incorrect is not None else 0)
        total = sum(v for k, v in attrs.items() if not k.endswith("_attn_out")) + bias
        assert torch.allclose(total, real, atol=1e-4), "logit attributions do not sum to the logit"
        components[name] = {"components": {k: rounded(v) for k, v in attrs.items()}, "bias_term": rounded(bias),
                            "logits": rounded(real)}
    return {"target": int(target), "wrong": int(wrong), **components}


# ----------------------------------------------------------------------------------------------------------
# 4. Activation patching


def activation_patching(model, clean, corrupted, metric):
    _, clean_cache = model.run_with_cache(clean)
    _, corrupted_cache = model.run_with_cache(corrupted)
    sweeps = {
        "resid_pre": patching.get_act_patch_resid_pre,
        "resid_mid": patching.get_act_patch_resid_mid,
        "attn_out": patching.get_act_patch_attn_out,
        "mlp_out": patching.get_act_patch_mlp_out,
        "head_out": patching.get_act_patch_attn_head_out_all_pos,
        "head_out/byPosition": patching.get_act_patch_attn_head_out_by_pos,
        "q": patching.get_act_patch_attn_head_q_all_pos,
        "k": patching.get_act_patch_attn_head_k_all_pos,
        "v": patching.get_act_patch_attn_head_v_all_pos,
        "q/byPosition": patching.get_act_patch_attn_head_q_by_pos,
        "k/byPosition": patching.get_act_patch_attn_head_k_by_pos,
        "v/byPosition": patching.get_act_patch_attn_head_v_by_pos,
        "pattern": patching.get_act_patch_attn_head_pattern_all_pos,
        "pattern/destinationSource": patching.get_act_patch_attn_head_pattern_dest_src_pos,
    }
    results = {name: sweep(model, corrupted, clean_cache, metric) for name, sweep in sweeps.items()}
    results["resid_post"] = patching.generic_activation_patch(
        model, corrupted, clean_cache, metric, patching.layer_pos_patch_setter, "resid_post",
        index_axis_names=("layer", "pos"))
    noising = {
        "resid_pre": ("resid_pre", patching.layer_pos_patch_setter, ("layer", "pos")),
        "head_out": ("z", patching.layer_head_vector_patch_setter, ("layer", "head")),
        "pattern": ("pattern", patching.layer_head_pattern_patch_setter, ("layer", "head")),
    }
    for name, (activation, setter, axes) in noising.items():
        results["noising/" + name] = patching.generic_activation_patch(
            model, clean, corrupted_cache, metric, setter, activation, index_axis_names=axes)
    return {name: rounded(values) for name, values in results.items()}


# ----------------------------------------------------------------------------------------------------------
# 5. Attribution patching (noising: gradient at the clean run, corrupted - clean)


ATTRIBUTION_HOOKS = {"resid_pre": "hook_resid_pre", "resid_mid": "hook_resid_mid", "resid_post": "hook_resid_post",
                     "attn_out": "hook_attn_out", "mlp_out": "hook_mlp_out", "head_out": "attn.hook_z",
                     "q": "attn.hook_q", "k": "attn.hook_k", "v": "attn.hook_v", "pattern": "attn.hook_pattern"}


def with_gradients(model, tokens, names, metric, input_override=None):
    """The metric and d metric / d activation for each hook name (total derivatives, all in one pass)."""
    kept = {}

    def leaf(x, hook):
        x = (input_override if input_override is not None else x).detach().clone().requires_grad_(True)
        if hook.name in names:
            kept[hook.name] = x
        return x

    def keep(x, hook):
        x = x.clone()
        x.retain_grad()
        kept[hook.name] = x
        return x

    hooks = [("blocks.0.hook_resid_pre", leaf)] + [(n, keep) for n in names if n != "blocks.0.hook_resid_pre"]
    with torch.enable_grad():
        value = metric(model.run_with_hooks(tokens, fwd_hooks=hooks))
        value.backward()
    return value.item(), {n: kept[n].grad.detach() for n in names}, {n: kept[n].detach() for n in names}


def attribution_patching(model, clean, corrupted, metric):
    layers = model.cfg.n_layers
    names = [f"blocks.{l}.{h}" for h in ATTRIBUTION_HOOKS.values() for l in range(layers)]
    clean_value, grads, clean_acts = with_gradients(model, clean, names, metric)
    _, corrupted_cache = model.run_with_cache(corrupted)
    results = {"clean_value": clean_value}
    for component, hook in ATTRIBUTION_HOOKS.items():
        per_layer = [(corrupted_cache[f"blocks.{l}.{hook}"] - clean_acts[f"blocks.{l}.{hook}"]) * grads[f"blocks.{l}.{hook}"]
                     for l in range(layers)]
        if component == "pattern":                         # [batch, head, dest, src]
            results["pattern"] = torch.stack([p.sum((0, 2, 3)) for p in per_layer])
            results["pattern/destinationSource"] = torch.stack([p.sum(0) for p in per_layer])
        elif hook.startswith("attn."):                     # [batch, pos, head, d_head]
            results[component] = torch.stack([p.sum((0, 1, 3)) for p in per_layer])
            results[component + "/byPosition"] = torch.stack([p.sum((0, 3)) for p in per_layer])
        else:                                              # [batch, pos, d_model]
            results[component] = torch.stack([p.sum((0, 2)) for p in per_layer])
    return {k: (v if isinstance(v, float) else rounded(v + clean_value)) for k, v in results.items()}


# ----------------------------------------------------------------------------------------------------------
# 6. Edge patching, EAP, EAP-IG


class Graph:
    """Senders and receivers in the order and with the names of Sources/Circuits/ComputationGraph.swift."""

    def __init__(self, cfg):
        self.layers, self.heads = cfg.n_layers, cfg.n_heads
        self.kv = cfg.n_key_value_heads or cfg.n_heads
        kv_node = "kv" if self.kv != self.heads else "h"
        # (name, hook, slot)
        self.senders = [("input", "blocks.0.hook_resid_pre", None)]
        self.receivers = []
        self.upstream = []
        for l in range(self.layers):
            before = len(self.senders)
            self.receivers += [(f"a{l}.h{h}<q>", f"blocks.{l}.hook_q_input", h) for h in range(self.heads)]
            self.receivers += [(f"a{l}.{kv_node}{g}<k>", f"blocks.{l}.hook_k_input", g) for g in range(self.kv)]
            self.receivers += [(f"a{l}.{kv_node}{g}<v>", f"blocks.{l}.hook_v_input", g) for g in range(self.kv)]
            self.upstream += [before] * (self.heads + 2 * self.kv)
            self.senders += [(f"a{l}.h{h}", f"blocks.{l}.attn.hook_result", h) for h in range(self.heads)]
            self.receivers.append((f"m{l}", f"blocks.{l}.hook_mlp_in", None))
            self.upstream.append(len(self.senders))
            self.senders.append((f"m{l}", f"blocks.{l}.hook_mlp_out", None))
        self.receivers.append(("logits", f"blocks.{self.layers - 1}.hook_resid_post", None))
        self.upstream.append(len(self.senders))

    def edges(self):
        return [(s, r) for r in range(len(self.receivers)) for s in range(self.upstream[r])]

    def name(self, edge):
        return self.senders[edge[0]][0] + "->" + self.receivers[edge[1]][0]


def take(x, slot):
    return x if slot is None else x[:, :, slot]


def sender_outputs(model, graph, tokens):
    _, cache = model.run_with_cache(tokens)
    return [take(cache[hook], slot).clone() for _, hook, slot in graph.senders]


def edge_patched_metric(model, graph, clean, corrupted_outputs, edges, metric):
    """Receiver input = its input in this run + sum over its patched edges of (corrupted - current sender output)."""
    current = {}
    incoming = {}
    for s, r in edges:
        incoming.setdefault(r, []).append(s)

    def record(x, hook):
        for s, (_, name, slot) in enumerate(graph.senders):
            if name == hook.name:
                current[s] = take(x, slot).clone()
        return x

    def receive(x, hook):
        x = x.clone()
        for r, (_, name, slot) in enumerate(graph.receivers):
            if name != hook.name or r not in incoming:
                continue
            delta = sum(corrupted_outputs[s] - current[s] for s in incoming[r])
            if slot is None:
                x = x + delta
            else:
                x[:, :, slot] = x[:, :, slot] + delta
        return x

    hooks = [(name, record) for name in dict.fromkeys(h for _, h, _ in graph.senders)]
    hooks += [(name, receive) for name in dict.fromkeys(h for _, h, _ in graph.receivers)]
    return metric(model.run_with_hooks(clean, fwd_hooks=hooks)).item()


def edge_attribution(model, graph, clean, clean_outputs, corrupted_outputs, metric, steps=None):
    receiver_hooks = list(dict.fromkeys(h for _, h, _ in graph.receivers))
    gradients = {h: 0 for h in receiver_hooks}
    runs = steps or 1
    for k in range(runs):
        override = None
        if steps is not None:
            override = corrupted_outputs[0] + (k / steps) * (clean_outputs[0] - corrupted_outputs[0])
        _, grads, _ = with_gradients(model, clean, receiver_hooks, metric, input_override=override)
        for h in receiver_hooks:
            gradients[h] = gradients[h] + grads[h] / runs
    scores = {}
    for s, r in graph.edges():
        _, hook, slot = graph.receivers[r]
        delta = corrupted_outputs[s] - clean_outputs[s]
        scores[graph.name((s, r))] = float((delta * take(gradients[hook], slot)).sum())
    return scores


def edge_references(model, clean, corrupted, metric, seed):
    graph = Graph(model.cfg)
    clean_outputs = sender_outputs(model, graph, clean)
    corrupted_outputs = sender_outputs(model, graph, corrupted)
    edges = graph.edges()
    by_name = {graph.name(e): e for e in edges}
    last = graph.layers - 1
    kv = "kv" if graph.kv != graph.heads else "h"
    chosen = {
        "single_q": [f"a0.h1->a{last}.h2<q>"],
        "single_k": [f"a0.h0->a{last}.{kv}1<k>"],
        "input_to_mlp": ["input->m0"],
        "mlp_to_logits": [f"m{last}->logits"],
        "mixed": [f"input->a0.{kv}1<v>", f"a0.h3->m0", f"m0->a{last}.h3<q>", f"a0.h0->a{last}.{kv}0<v>",
                  f"a{last}.h0->logits", "input->logits"],
    }
    generator = np.random.default_rng(seed)
    chosen["random_third"] = [graph.name(e) for e in edges if generator.random() < 1 / 3]
    chosen["all"] = [graph.name(e) for e in edges]
    patched = {name: {"edges": names,
                      "metric": edge_patched_metric(model, graph, clean, corrupted_outputs, [by_name[n] for n in names], metric)}
               for name, names in chosen.items()}
    corrupted_value = metric(model(corrupted)).item()
    assert abs(patched["all"]["metric"] - corrupted_value) < 1e-4, "patching every edge must give the corrupted run"
    return {
        "edge_count": len(edges),
        "clean_value": metric(model(clean)).item(),
        "corrupted_value": corrupted_value,
        "patched": patched,
        "eap": edge_attribution(model, graph, clean, clean_outputs, corrupted_outputs, metric),
        "eap_ig": edge_attribution(model, graph, clean, clean_outputs, corrupted_outputs, metric, steps=IG_STEPS),
    }


# ----------------------------------------------------------------------------------------------------------


def write(name, seed):
    directory = os.path.join(MODELS, name)
    hf = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
    model, standard, folded = tl_model(hf), tl_model(hf, split=False), tl_model(hf, fold_ln=True)
    clean, corrupted, answers, wrongs = prompt_pairs(hf, seed)
    hf_logits = hf(clean).logits
    for tl in (model, standard):
        assert torch.allclose(tl(clean), hf_logits, atol=1e-4), f"{name}: TransformerLens logits differ from transformers'"
        assert tl.cfg.default_prepend_bos is False
    metric = partial(logit_diff, answers=answers, wrongs=wrongs)

    tensors = activations(model, standard, clean)
    tensors["logits"] = hf_logits.contiguous()
    reference = {
        "model": name,
        "clean": clean.tolist(), "corrupted": corrupted.tolist(),
        "answers": answers.tolist(), "wrongs": wrongs.tolist(),
        "hook_names": our_hook_names(model),
        "dla": direct_logit_attribution(folded, clean, hf_logits, int(answers[0]), int(wrongs[0])),
        "patching": {"clean_value": metric(model(clean)).item(), "corrupted_value": metric(model(corrupted)).item(),
                     **activation_patching(model, clean, corrupted, metric)},
        "attribution": attribution_patching(model, clean, corrupted, metric),
    }
    out = os.path.join(INTERP_OUT, name)
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "cache.safetensors"))
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f, separators=(",", ":"))

    edges = {"model": name, "clean": clean.tolist(), "corrupted": corrupted.tolist(), "answers": answers.tolist(),
             "wrongs": wrongs.tolist(), "ig_steps": IG_STEPS, **edge_references(model, clean, corrupted, metric, seed)}
    out = os.path.join(CIRCUITS_OUT, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "edges.json"), "w") as f:
        json.dump(edges, f, separators=(",", ":"))
    print(f"{name}: clean {reference['patching']['clean_value']:.4f}, corrupted {reference['patching']['corrupted_value']:.4f}, "
          f"{edges['edge_count']} edges")


if __name__ == "__main__":
    for index, name in enumerate(["gpt2", "llama_gqa", "qwen2"]):
        write(name, seed=100 + index)
