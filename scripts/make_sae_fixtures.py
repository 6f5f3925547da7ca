"""Tiny random sparse autoencoders in SAELens' own save format, and reference values computed with SAELens and torch.

Regenerate, from the repository root (SAELens 6.x in its own venv; it brings TransformerLens but keeps the
system's transformers and torch):

    python3 -m venv --system-site-packages /work/.venv-sae && /work/.venv-sae/bin/pip install sae-lens
    /work/.venv-sae/bin/python scripts/make_sae_fixtures.py

Downloads nothing. For each of the tiny gpt2 and grouped-query llama_gqa checkpoints of
Tests/LanguageModelsTests/Fixtures/models/ it builds SAEs with SAELens (`SAE.from_dict`), fills their weights with
seeded random values scaled to the model's activations, saves them with `SAE.save_model` (cfg.json +
sae_weights.safetensors) and loads them back with `SAE.load_from_disk`, which is what the references use. One more
directory ("legacy") is a pre-6 cfg.json written by hand in the 3.x-5.x layout (hook_point, activation_fn_str
"topk" with activation_fn_kwargs.k, boolean normalize_activations, a scaling_factor of ones), loaded through
SAELens' own handle_pre_6_0_config.

The model runs are transformers' (the SAE's activation read and replaced by forward (pre-)hooks on the decoder
layers: blocks.L.hook_resid_pre is layer L's input, blocks.L.hook_resid_post its output, blocks.L.attn.hook_z the input of
its attention's output projection, split into heads; the hook_z SAEs use reshape_activations "hook_z") on the clean/corrupted
prompts of Tests/InterpTests/Fixtures/<model>/reference.json. Written to Tests/InterpTests/Fixtures/saes/<model>/:

  <sae>/cfg.json, <sae>/sae_weights.safetensors     the SAEs
  reference.json        per SAE: hook, the ablated feature and the set feature/positions/value, clean and
                        corrupted metric (mean logit difference at the last position, answers/wrongs of the prompts)
  reference.safetensors per SAE, "<sae>.<name>":
    acts           SAELens encode of the clean activation [2, 7, d_sae]
    recons         SAELens decode of acts [2, 7, d_in] (hook_z: [2, 7, heads, d_head])
    logits_spliced last-position logits with the activation replaced by sae(x) (use_error_term=False) [2, vocab]
    logits_error   the same with use_error_term=True (equal to the model's logits up to rounding)
    logits_ablated use_error_term=True and a hook on hook_sae_acts_post zeroing the ablated feature at position 6
    logits_set     the same setting the set feature to the set value at the set positions
    attr_features  Marks et al. node attribution, (f(corrupted) - f(clean)) * dm/df at the clean run with the
                   error term x - x_hat kept (torch autograd), summed over examples [7, d_sae]
    attr_error     the same for the error node, summed over examples and d_in (heads and d_head) [7]
  and "pair.logits_spliced": the standard and jumprelu SAEs spliced together without error terms;
  "pair.<sae>.attr_features" / "pair.<sae>.attr_error": the node attribution of both spliced together with their
  error terms, each error recomputed from its SAE's input so that it does not depend on the features (the model's
  output and gradients unchanged; on gpt2 blocks.0.hook_resid_post and blocks.1.hook_resid_pre are the same
  activation, the SAEs applied one after the other).
"""

import json
import os
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
from sae_lens import SAE
from transformers import AutoModelForCausalLM

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(REPO, "Tests", "LanguageModelsTests", "Fixtures", "models")
INTERP = os.path.join(REPO, "Tests", "InterpTests", "Fixtures")
D_SAE = 24

# name: (hook, architecture, extra cfg fields); the models have 2 layers and d_model 32.
SAES = {
    "gpt2": {
        "standard": ("blocks.1.hook_resid_pre", "standard", {}),
        "jumprelu": ("blocks.0.hook_resid_post", "jumprelu", {}),
        "topk": ("blocks.1.hook_resid_post", "topk", {"k": 6}),
        "gated": ("blocks.1.hook_resid_pre", "gated", {"apply_b_dec_to_input": False}),
        "layer_norm": ("blocks.0.hook_resid_pre", "standard", {"normalize_activations": "layer_norm"}),
        "constant_norm": ("blocks.1.hook_resid_post", "jumprelu", {"normalize_activations": "constant_norm_rescale"}),
        "hook_z": ("blocks.1.attn.hook_z", "standard", {"reshape_activations": "hook_z"}),
    },
    "llama_gqa": {
        "standard": ("blocks.0.hook_resid_post", "standard", {}),
        "jumprelu": ("blocks.1.hook_resid_pre", "jumprelu", {}),
        "topk": ("blocks.1.hook_resid_post", "topk", {"k": 5, "rescale_acts_by_decoder_norm": True}),
        "gated": ("blocks.0.hook_resid_pre", "gated", {}),
        "hook_z": ("blocks.0.attn.hook_z", "jumprelu", {"reshape_activations": "hook_z"}),
    },
}
LEGACY = ("gpt2", "legacy", "blocks.1.hook_resid_pre", 4)


def layers(model):
    return model.transformer.h if hasattr(model, "transformer") else model.model.layers


def hidden(args, kwargs):
    return kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]


def with_hidden(args, kwargs, value):
    if "hidden_states" in kwargs:
        return args, {**kwargs, "hidden_states": value}
    return (value,) + tuple(args[1:]), kwargs


def at_hook(model, hook, function):
    """Registers function(x) -> x' at a TransformerLens-named hook; returns the handle. attn.hook_z is the input of
    the attention's output projection (heads concatenated), handed to function as [batch, pos, heads, d_head]."""
    layer = int(hook.split(".")[1])
    module = layers(model)[layer]
    if hook.endswith("attn.hook_z"):
        projection = module.attn.c_proj if hasattr(module, "attn") else module.self_attn.o_proj
        heads = model.config.num_attention_heads

        def z(mod, args, kwargs):
            x = hidden(args, kwargs)
            split = function(x.reshape(*x.shape[:-1], heads, x.shape[-1] // heads))
            return with_hidden(args, kwargs, split.reshape(x.shape))
        return projection.register_forward_pre_hook(z, with_kwargs=True)
    if hook.endswith("hook_resid_pre"):
        def pre(mod, args, kwargs):
            return with_hidden(args, kwargs, function(hidden(args, kwargs)))
        return module.register_forward_pre_hook(pre, with_kwargs=True)
    assert hook.endswith("hook_resid_post"), hook

    def post(mod, args, output):
        if isinstance(output, tuple):
            return (function(output[0]),) + tuple(output[1:])
        return function(output)
    return module.register_forward_hook(post)


def last_logits(model, tokens, hooks=()):
    handles = [at_hook(model, hook, f) for hook, f in hooks]
    try:
        return model(tokens).logits[:, -1]
    finally:
        for h in handles:
            h.remove()


def capture(model, tokens, hook):
    kept = {}

    def keep(x):
        kept["x"] = x.detach().clone()
        return x
    last_logits(model, tokens, [(hook, keep)])
    return kept["x"]


def random_weights(sae, x, generator, architecture, cfg):
    """Seeded weights giving pre-activations of order 1 and reconstructions of the activation's scale."""
    d_in = x[0, 0].numel()
    normalized = cfg.get("normalize_activations", "none") != "none"
    scale = 1.0 if normalized else float(x.std())
    normal = lambda *shape: torch.randn(*shape, generator=generator)
    with torch.no_grad():
        sae.W_enc.copy_(normal(d_in, D_SAE) / (scale * d_in ** 0.5))
        sae.W_dec.copy_(normal(D_SAE, d_in) * scale / 3)
        sae.b_dec.copy_(normal(d_in) * scale * 0.1)
        if architecture == "gated":
            sae.b_gate.copy_(normal(D_SAE) * 0.5 - 0.3)
            sae.r_mag.copy_(normal(D_SAE) * 0.3)
            sae.b_mag.copy_(normal(D_SAE) * 0.5)
        else:
            sae.b_enc.copy_(normal(D_SAE) * 0.5 - 0.3)
        if architecture == "jumprelu":
            sae.threshold.copy_(torch.rand(D_SAE, generator=generator) * 0.6)


def write_legacy(directory, x, generator):
    """A pre-6 SAELens directory: cfg.json in the 3.x-5.x layout, weights with a scaling_factor of ones."""
    os.makedirs(directory, exist_ok=True)
    d_in = x[0, 0].numel()
    cfg = {"model_name": "tiny-gpt2", "hook_point": LEGACY[2], "hook_point_layer": 1, "hook_point_head_index": None,
           "d_in": d_in, "d_sae": D_SAE, "dtype": "float32", "device": "cpu", "activation_fn_str": "topk",
           "activation_fn_kwargs": {"k": LEGACY[3]}, "apply_b_dec_to_input": True, "normalize_activations": False,
           "finetuning_scaling_factor": False, "context_size": 128, "prepend_bos": True,
           "sae_lens_training_version": "3.13.0"}
    scale = float(x.std())
    normal = lambda *shape: torch.randn(*shape, generator=generator)
    weights = {"W_enc": normal(d_in, D_SAE) / (scale * d_in ** 0.5), "b_enc": normal(D_SAE) * 0.5 - 0.3,
               "W_dec": normal(D_SAE, d_in) * scale / 3, "b_dec": normal(d_in) * scale * 0.1,
               "scaling_factor": torch.ones(D_SAE)}
    save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(directory, "sae_weights.safetensors"))
    with open(os.path.join(directory, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def metric(logits, answers, wrongs):
    rows = torch.arange(logits.shape[0])
    return (logits[rows, answers] - logits[rows, wrongs]).mean()


def attribution(model, sae, hook, clean, corrupted, answers, wrongs):
    """Marks et al. node attribution with the error term kept (not detached): true gradients at f and at x - x_hat."""
    kept = {}

    def corrupted_run(x):
        f = sae.encode(x)
        kept["f_corrupted"], kept["e_corrupted"] = f.detach(), (x - sae.decode(f)).detach()
        return x
    last_logits(model, corrupted, [(hook, corrupted_run)])

    def clean_run(x):
        # SAELens' decode restores the normalization statistics its last encode stored: encode before each decode.
        f = sae.encode(x).detach().requires_grad_(True)
        error = (x - sae.decode(f)).detach().requires_grad_(True)
        kept["f"], kept["e"] = f, error
        sae.encode(x)
        return sae.decode(f) + error
    with torch.enable_grad():
        value = metric(last_logits(model, clean, [(hook, clean_run)]), answers, wrongs)
        value.backward()
    features = ((kept["f_corrupted"] - kept["f"].detach()) * kept["f"].grad).sum(0)
    error = ((kept["e_corrupted"] - kept["e"].detach()) * kept["e"].grad).flatten(2).sum(-1).sum(0)
    return features, error


def joint_attribution(model, spliced, clean, corrupted, answers, wrongs):
    """Node attribution with several SAEs spliced at once, each with its error term recomputed from its input (so the
    error does not depend on the features and the output equals the input): gradients at each feature and error are
    the model's, and flow on to earlier SAEs as through the unmodified model."""
    kept = {}

    def splice(name, sae, record):
        def function(x):
            f = sae.encode(x)
            error = x - sae.decode(sae.encode(x))
            if record:
                f.retain_grad()
                error.retain_grad()
            kept[name] = (f, error)
            sae.encode(x)
            return sae.decode(f) + error
        return function
    last_logits(model, corrupted, [(hook, splice(name, sae, False)) for name, hook, sae in spliced])
    corrupted_values = {name: (f.detach(), e.detach()) for name, (f, e) in kept.items()}
    with torch.enable_grad():
        value = metric(last_logits(model, clean, [(hook, splice(name, sae, True)) for name, hook, sae in spliced]), answers, wrongs)
        value.backward()
    result = {}
    for name, (f, error) in kept.items():
        f_corrupted, e_corrupted = corrupted_values[name]
        result[f"{name}.attr_features"] = ((f_corrupted - f.detach()) * f.grad).sum(0)
        result[f"{name}.attr_error"] = ((e_corrupted - error.detach()) * error.grad).flatten(2).sum(-1).sum(0)
    return result


def main():
    torch.set_grad_enabled(False)
    for model_name, saes in SAES.items():
        model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, model_name), dtype=torch.float32).eval()
        prompts = json.load(open(os.path.join(INTERP, model_name, "reference.json")))
        clean, corrupted = torch.tensor(prompts["clean"]), torch.tensor(prompts["corrupted"])
        answers, wrongs = torch.tensor(prompts["answers"]), torch.tensor(prompts["wrongs"])
        out = os.path.join(INTERP, "saes", model_name)
        shutil.rmtree(out, ignore_errors=True)
        generator = torch.Generator().manual_seed(2024 + len(model_name))
        entries = dict(saes)
        if model_name == LEGACY[0]:
            entries[LEGACY[1]] = (LEGACY[2], "topk", None)
        tensors, info = {}, {"clean_metric": None, "saes": {}}
        info["clean_metric"] = float(metric(last_logits(model, clean), answers, wrongs))
        info["corrupted_metric"] = float(metric(last_logits(model, corrupted), answers, wrongs))
        loaded = {}
        for name, (hook, architecture, extra) in entries.items():
            directory = os.path.join(out, name)
            x = capture(model, clean, hook)
            if extra is None:
                write_legacy(directory, x, generator)
            else:
                cfg = {"architecture": architecture, "d_in": x[0, 0].numel(), "d_sae": D_SAE, "dtype": "float32",
                       "metadata": {"hook_name": hook, "model_name": f"tiny-{model_name}"}, **extra}
                sae = SAE.from_dict(cfg)
                random_weights(sae, x, generator, architecture, extra)
                sae.save_model(directory)
            sae = SAE.load_from_disk(directory)
            loaded[name] = sae
            acts = sae.encode(x)
            tensors[f"{name}.acts"] = acts
            tensors[f"{name}.recons"] = sae.decode(acts)
            sae.use_error_term = False
            tensors[f"{name}.logits_spliced"] = last_logits(model, clean, [(hook, sae)])
            sae.use_error_term = True
            tensors[f"{name}.logits_error"] = last_logits(model, clean, [(hook, sae)])
            ablated = int(acts[0, -1].argmax())
            set_feature, set_positions, set_value = int(acts[1].sum(0).argmin()), [2, 6], 2.5

            def ablate(f, hook=None):
                f = f.clone()
                f[:, 6, ablated] = 0
                return f

            def set_to(f, hook=None):
                f = f.clone()
                f[:, set_positions, set_feature] = set_value
                return f
            for key, function in (("logits_ablated", ablate), ("logits_set", set_to)):
                sae.hook_sae_acts_post.add_hook(function)
                tensors[f"{name}.{key}"] = last_logits(model, clean, [(hook, sae)])
                sae.reset_hooks()
            features, error = attribution(model, sae, hook, clean, corrupted, answers, wrongs)
            tensors[f"{name}.attr_features"], tensors[f"{name}.attr_error"] = features, error
            info["saes"][name] = {"hook": hook, "ablated_feature": ablated, "ablated_position": 6,
                                  "set_feature": set_feature, "set_positions": set_positions, "set_value": set_value,
                                  "fraction_active": float((acts > 0).float().mean())}
        for sae in loaded.values():
            sae.use_error_term = False
        pair = [(entries[n][0], loaded[n]) for n in ("standard", "jumprelu")]
        tensors["pair.logits_spliced"] = last_logits(model, clean, pair)
        joint = [(n, entries[n][0], loaded[n]) for n in ("jumprelu", "standard")]
        for key, value in joint_attribution(model, joint, clean, corrupted, answers, wrongs).items():
            tensors[f"pair.{key}"] = value
        save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, os.path.join(out, "reference.safetensors"))
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(info, f, indent=1)
        print(model_name, {n: round(v["fraction_active"], 3) for n, v in info["saes"].items()})


if __name__ == "__main__":
    main()
