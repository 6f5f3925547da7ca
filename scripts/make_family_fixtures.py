"""Builds tiny random checkpoints of the GPT-NeoX, Gemma, Gemma-2, Gemma-3, Phi-3, OLMo-2, Phi and OLMo families.

Regenerate (from the repository root; needs torch, transformers >= 5, safetensors, numpy; downloads nothing):

    python3 scripts/make_family_fixtures.py            # everything
    python3 scripts/make_family_fixtures.py sweep      # only the sweep regressions below
    python3 scripts/make_family_fixtures.py phi_olmo   # only the Phi and OLMo (v1) checkpoints (phi_olmo())
    python3 scripts/make_family_fixtures.py olmoe      # only the OLMoE and Mixtral checkpoints (olmoe()) and router_ties.json
    python3 scripts/make_family_fixtures.py qwen_moe   # only the Qwen2-MoE and Qwen3-MoE checkpoints (qwen_moe())
    python3 scripts/make_family_fixtures.py ministral  # only the Ministral, Ministral 3 and Mistral 3 checkpoints (ministral())

The sweep regressions (sweep_regressions(): gemma3_attn_softcap, phi3_longrope, qwen3_yarn, gemma3_multimodal_softcap,
olmo3_yarn_untruncated, gemma3_yarn_untruncated, llama_yarn_top_level_original, qwen2_rope_scaling_first, and
activations.json with
transformers' ACT2FN on inputs in [-12, 12] for every activation name interp reads) cover what
scripts/sweep_family_configs.py found.

Writes Tests/LanguageModelsTests/Fixtures/models/<name>/ for each model below: config.json, model.safetensors,
tokenizer.json (the word-level fixture tokenizer, 247 tokens, so the checkpoints load as a LanguageModel) and
reference.json. Every model has random weights (std 0.3, norms around 1) and each turns its family's unusual
options on: parallel and sequential residuals, partial rotary, attention and final logit soft-capping, sliding
windows shorter than the prompts, q/k norms, head_dim unlike hidden_size / heads. Some config.json files are
rewritten into the older layouts real checkpoints carry (rotary_pct, rope_theta + rope_local_base_freq, ...);
transformers reads the rewritten file to the same model (checked here).

reference.json holds, from transformers in fp32 eval mode with attn_implementation="eager":
  - "config": what transformers derives from config.json per layer (sliding window, attention scaling, rotary
    inverse frequencies) to check config decoding against;
  - "batch": input_ids [2, T] (T = 12, longer than every sliding window) with logits [2, T, V] and
    block_outputs ([n_layers] x [2, T, d_model], each block's output by forward hooks);
  - "padded": the second prompt shorter and left-padded (pad id 0): input_ids, attention_mask, the position ids
    passed explicitly (counting from the first real token) and logits.
The OLMoE, Mixtral and Qwen-MoE checkpoints' reference.json also holds "routing" (per layer, the batch's chosen experts
[2, T, k] from transformers' router; null for a layer with a dense MLP) and "gradients" (torch autograd of the metric
logits[:, -1, 5] - logits[:, -1, 9] summed over the batch, with respect to each block's input of the MLP, resid_mid
[2, T, d_model], and the router weight [experts, d_model] of the first mixture layer, "router_layer").
The Ministral 3 checkpoints (and the Mistral 3 wrapper around one) are read with an original context of 8, so that
the 12-token batch crosses it and the queries at positions 8-11 are scaled by 1 + beta ln 2: their "config" also holds
"query_scaling" ({"beta", "original_max_position_embeddings"} as transformers' attention reads them), and
"gradients" holds torch autograd of the same metric with respect to each block's input, resid_pre [2, T, d_model].
"""

import copy
import json
import os
import shutil

import numpy as np
import torch
from transformers import (
    AutoModelForCausalLM,
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GemmaConfig,
    GemmaForCausalLM,
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    MixtralConfig,
    MixtralForCausalLM,
    Olmo2Config,
    Olmo2ForCausalLM,
    OlmoeConfig,
    OlmoeForCausalLM,
    OlmoConfig,
    OlmoForCausalLM,
    PhiConfig,
    PhiForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
    Qwen2MoeConfig,
    Qwen2MoeForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3MoeConfig,
    Qwen3MoeForCausalLM,
)
from transformers.activations import ACT2FN

from make_fixtures import randomize, rounded

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "LanguageModelsTests", "Fixtures")
ROOT = os.path.join(FIXTURES, "models")
TOKENIZER = os.path.join(FIXTURES, "tokenizers", "wordlevel", "tokenizer.json")
VOCAB = 256
SEQUENCE = 12
SHORT = 7


def base_model(model):
    """The decoder stack: `gpt_neox`, `model`, or a multimodal wrapper's `model.language_model`."""
    if hasattr(model, "gpt_neox"):
        return model.gpt_neox
    return model.model.language_model if hasattr(model.model, "language_model") else model.model


def layers(model):
    return base_model(model).layers


def text_config(model):
    return model.config.get_text_config()


def run(model, input_ids, attention_mask=None, position_ids=None):
    """(logits, each block's output)."""
    outputs = []
    hooks = [layer.register_forward_hook(lambda m, i, o: outputs.append(o[0] if isinstance(o, tuple) else o))
             for layer in layers(model)]
    with torch.no_grad():
        logits = model(
            input_ids=torch.tensor(input_ids),
            attention_mask=None if attention_mask is None else torch.tensor(attention_mask),
            position_ids=None if position_ids is None else torch.tensor(position_ids),
        ).logits
    for hook in hooks:
        hook.remove()
    return logits.float().numpy(), [o.float().numpy() for o in outputs]


def references(model, seed):
    rng = np.random.default_rng(seed)
    batch = [rng.integers(1, VOCAB, SEQUENCE).tolist() for _ in range(2)]
    short = rng.integers(1, VOCAB, SHORT).tolist()
    logits, block_outputs = run(model, batch)
    pad = SEQUENCE - SHORT
    padded_ids = [batch[0], [0] * pad + short]
    mask = [[1] * SEQUENCE, [0] * pad + [1] * SHORT]
    positions = [list(range(SEQUENCE)), [0] * pad + list(range(SHORT))]
    padded_logits, _ = run(model, padded_ids, mask, positions)
    alone, _ = run(model, [short])
    assert np.allclose(padded_logits[1, pad:], alone[0], atol=1e-4), "left padding changed the real positions' logits"
    assert np.allclose(padded_logits[0], logits[0], atol=1e-4)
    assert logits.std(axis=-1).min() > 0.5, "logits too close to uniform"
    return {
        "batch": {"input_ids": batch, "logits": rounded(logits), "block_outputs": [rounded(b) for b in block_outputs]},
        "padded": {"input_ids": padded_ids, "attention_mask": mask, "position_ids": positions,
                   "logits": rounded(padded_logits)},
    }


def inverse_frequencies(model, layer_index):
    """The inverse frequencies layer `layer_index` rotates with, as transformers computed them."""
    rotary = base_model(model).rotary_emb
    layer_types = getattr(text_config(model), "layer_types", None)
    if hasattr(rotary, "layer_types") and layer_types is not None:
        return getattr(rotary, f"{layer_types[layer_index]}_inv_freq")
    return rotary.inv_freq


def sliding_window(config, attention, index):
    """The window of layer `index` as transformers' attention mask applies it (SmolLM3's attention attribute is
    only what flash attention reads; the mask follows `layer_types`)."""
    if config.model_type in ("phi3", "mixtral", "ministral3"):
        return config.sliding_window
    if config.model_type == "smollm3":
        return config.sliding_window if config.layer_types[index] == "sliding_attention" else None
    return getattr(attention, "sliding_window", None)


def derived_config(model):
    """Per layer: the window, the score scale and the rotary inverse frequencies (null for SmolLM3's NoPE layers);
    Ministral 3's query scaling."""
    config = text_config(model)
    per_layer = []
    for index, layer in enumerate(layers(model)):
        attention = layer.attention if hasattr(layer, "attention") else layer.self_attn
        rotates = getattr(attention, "use_rope", True)
        per_layer.append({
            "sliding_window": sliding_window(config, attention, index),
            "scaling": attention.scaling,
            "inverse_frequencies": rounded(inverse_frequencies(model, index).numpy(), 9) if rotates else None,
        })
    derived = {"model_type": config.model_type, "vocab_size": config.vocab_size, "layers": per_layer}
    if config.model_type == "ministral3":
        derived["query_scaling"] = {"beta": config.rope_parameters["llama_4_scaling_beta"],
                                    "original_max_position_embeddings":
                                        config.rope_parameters["original_max_position_embeddings"]}
    return derived


def randomized(model_class, config, seed):
    """A model of `config` with eager attention, in fp32, its parameters drawn by `randomize`."""
    model = model_class._from_config(config, attn_implementation="eager").float().eval()
    randomize(model, seed)
    return model


def save_checkpoint(model, name):
    """Saves `model` as the fixture directory `name` (replacing it) with the shared tokenizer and without
    generation_config.json; returns the directory."""
    directory = os.path.join(ROOT, name)
    shutil.rmtree(directory, ignore_errors=True)
    model.save_pretrained(directory)
    os.remove(os.path.join(directory, "generation_config.json"))
    shutil.copy(TOKENIZER, os.path.join(directory, "tokenizer.json"))
    return directory


def rewrite_config(directory, edit):
    """Edits the fixture's config.json in place with `edit(config)` (written back sorted, indented)."""
    path = os.path.join(directory, "config.json")
    with open(path) as handle:
        config = json.load(handle)
    edit(config)
    with open(path, "w") as handle:
        json.dump(config, handle, indent=2, sort_keys=True)


def save(model_class, config, name, description, seed, rewrite=None, dtype=torch.float32):
    """Builds, randomizes and saves a model; `rewrite` edits the saved config.json into an older layout. With a
    16-bit `dtype` the checkpoint is saved in it and the references are the fp32 model with those rounded weights
    (what transformers computes loading the checkpoint with dtype=float32)."""
    model = randomized(model_class, config, seed)
    if dtype != torch.float32:
        # Round the parameters only (not buffers such as the rotary inverse frequencies, which transformers
        # recomputes in fp32 when it loads the checkpoint with dtype=float32).
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(parameter.to(dtype).float())
        directory = save_checkpoint(copy.deepcopy(model).to(dtype), name)
    else:
        directory = save_checkpoint(model, name)
    if rewrite is not None:
        rewrite_config(directory, rewrite)
        reloaded = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
        probe = torch.tensor([list(range(1, SEQUENCE + 1))])
        with torch.no_grad():
            assert torch.allclose(reloaded(probe).logits, model(probe).logits, atol=1e-5), f"{name}: rewritten config differs"
    reference = {"description": description, "config": derived_config(model)}
    reference.update(references(model, seed + 100))
    with open(os.path.join(directory, "reference.json"), "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))


def pythia_layout(config):
    """GPT-NeoX config.json as the Pythia checkpoints write it (rotary_pct, rotary_emb_base)."""
    parameters = config.pop("rope_parameters")
    config["rotary_pct"] = parameters["partial_rotary_factor"]
    config["rotary_emb_base"] = parameters["rope_theta"]
    config["torch_dtype"] = config.pop("dtype")


def gemma_legacy_activation(config):
    """gemma-2b's config.json says hidden_act "gelu", which transformers reads as the tanh approximation."""
    config["hidden_act"] = "gelu"


def gemma3_older_layout(config):
    """Gemma-3 config.json as transformers 4.5x wrote it: rope_theta, rope_local_base_freq, rope_scaling,
    sliding_window_pattern (no layer_types)."""
    parameters = config.pop("rope_parameters")
    config["rope_theta"] = parameters["full_attention"]["rope_theta"]
    config["rope_local_base_freq"] = parameters["sliding_attention"]["rope_theta"]
    full = {k: v for k, v in parameters["full_attention"].items() if k != "rope_theta"}
    config["rope_scaling"] = full if full.get("rope_type", "default") != "default" else None
    config["sliding_window_pattern"] = 2
    config.pop("_sliding_window_pattern", None)
    config.pop("layer_types")


def main():
    torch.set_grad_enabled(False)
    small = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_attention_heads=4, bos_token_id=1,
                 eos_token_id=2, pad_token_id=0)

    neox = dict(small, num_hidden_layers=2, max_position_embeddings=64, hidden_act="gelu", tie_word_embeddings=False)
    save(GPTNeoXForCausalLM, GPTNeoXConfig(**neox, use_parallel_residual=True, rotary_pct=0.5, rotary_emb_base=10000),
         "gpt_neox_parallel", "GPT-NeoX (Pythia layout: rotary_pct, rotary_emb_base), parallel attention and MLP, "
         "rotary on 4 of 8 head dimensions, biases", 201, rewrite=pythia_layout)
    save(GPTNeoXForCausalLM, GPTNeoXConfig(**dict(neox, num_attention_heads=2), use_parallel_residual=False,
                                           rotary_pct=0.25, rotary_emb_base=500, attention_bias=False,
                                           layer_norm_eps=1e-3),
         "gpt_neox_sequential", "GPT-NeoX, sequential residual, rotary on 4 of 16 head dimensions, no attention "
         "biases, LayerNorm eps 1e-3", 202)

    save(GPTNeoXForCausalLM, GPTNeoXConfig(**neox, use_parallel_residual=True, rotary_pct=0.5, rotary_emb_base=10000),
         "gpt_neox_fp16", "GPT-NeoX saved in float16 (the fused query_key_value stays 16-bit when loaded), parallel "
         "attention and MLP, rotary on 4 of 8 head dimensions", 209, dtype=torch.float16)

    save(GemmaForCausalLM, GemmaConfig(**small, num_hidden_layers=2, num_key_value_heads=1, head_dim=16,
                                       max_position_embeddings=64, hidden_act="gelu_pytorch_tanh"),
         "gemma", "Gemma, multi-query attention, head_dim 16 with hidden_size 32 and 4 heads, hidden_act 'gelu' "
         "(read as the tanh approximation), tied embeddings scaled by sqrt(hidden_size)", 203,
         rewrite=gemma_legacy_activation)

    save(Gemma2ForCausalLM, Gemma2Config(**small, num_hidden_layers=2, num_key_value_heads=2, head_dim=16,
                                         max_position_embeddings=64, query_pre_attn_scalar=24, sliding_window=4,
                                         attn_logit_softcapping=5.0, final_logit_softcapping=15.0),
         "gemma2", "Gemma-2, sliding window 4 on layer 0 (layer 1 global), attention soft-capping 5, final soft-capping 15, "
         "query_pre_attn_scalar 24, head_dim 16", 204)

    save(Gemma3ForCausalLM, Gemma3TextConfig(**small, num_hidden_layers=2, num_key_value_heads=2, head_dim=16,
                                             max_position_embeddings=64, query_pre_attn_scalar=16, sliding_window=4,
                                             sliding_window_pattern=2,
                                             rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0,
                                                                                 "rope_theta": 1000000.0},
                                                              "sliding_attention": {"rope_type": "default",
                                                                                    "rope_theta": 100.0}}),
         "gemma3", "Gemma-3 text, q/k norms, sliding window 4 every other layer (sliding_window_pattern 2), local "
         "rope base 100, global rope base 1e6 with linear scaling 2 (older config layout)", 205,
         rewrite=gemma3_older_layout)

    save(Phi3ForCausalLM, Phi3Config(**small, num_hidden_layers=2, num_key_value_heads=2, max_position_embeddings=64,
                                     original_max_position_embeddings=64, partial_rotary_factor=0.5, sliding_window=5),
         "phi3", "Phi-3, fused qkv_proj and gate_up_proj, 2 KV heads, rotary on 4 of 8 head dimensions, sliding "
         "window 5", 206)

    save(Phi3ForCausalLM, Phi3Config(**small, num_hidden_layers=2, num_key_value_heads=2, max_position_embeddings=64,
                                     original_max_position_embeddings=64, partial_rotary_factor=0.5),
         "phi3_bf16", "Phi-3 saved in bfloat16 (the fused qkv_proj and gate_up_proj stay 16-bit when loaded), rotary on "
         "4 of 8 head dimensions", 210, dtype=torch.bfloat16)

    save(Olmo2ForCausalLM, Olmo2Config(**small, num_hidden_layers=2, num_key_value_heads=2, max_position_embeddings=64,
                                       rms_norm_eps=1e-6),
         "olmo2", "OLMo-2, norms after attention and MLP, q/k RMSNorm over the whole projection, 2 KV heads", 207)
    save(Olmo2ForCausalLM, Olmo2Config(**dict(small, intermediate_size=48), num_hidden_layers=2, max_position_embeddings=64,
                                       rms_norm_eps=1e-6, tie_word_embeddings=True),
         "olmo2_mha", "OLMo-2 with one KV head per query head (as OLMo-2 1B/7B/13B; TransformerLens converts only these), "
         "tied embeddings", 208)


def phi_legacy_layout(config):
    """Phi config.json as the microsoft/phi-* checkpoints write it: rope_theta, partial_rotary_factor, rope_scaling."""
    parameters = config.pop("rope_parameters")
    config["rope_theta"] = parameters["rope_theta"]
    config["partial_rotary_factor"] = parameters["partial_rotary_factor"]
    config["rope_scaling"] = None
    config["torch_dtype"] = config.pop("dtype")


def phi_olmo():
    """Phi (parallel block off one LayerNorm, biases, lm_head bias) and OLMo v1 (LayerNorm without gain or bias)."""
    torch.set_grad_enabled(False)
    small = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_attention_heads=4, bos_token_id=1,
                 eos_token_id=2, pad_token_id=0)
    save(PhiForCausalLM, PhiConfig(**dict(small, hidden_size=40), num_hidden_layers=2, num_key_value_heads=2,
                                   max_position_embeddings=64, partial_rotary_factor=0.4, qk_layernorm=True,
                                   rope_parameters={"rope_type": "default", "rope_theta": 500.0,
                                                    "partial_rotary_factor": 0.4}),
         "phi_qk", "Phi (phi-2 config layout: rope_theta, partial_rotary_factor), qk_layernorm (per-head LayerNorm with "
         "bias), rotary on 4 of 10 head dimensions (factor 0.4), rope base 500, 2 KV heads, untied, gelu_new", 214,
         rewrite=phi_legacy_layout)
    save(PhiForCausalLM, PhiConfig(**small, num_hidden_layers=2, max_position_embeddings=64, partial_rotary_factor=0.5,
                                   tie_word_embeddings=True, layer_norm_eps=1e-4),
         "phi_tied_bf16", "Phi saved in bfloat16, tied embeddings (lm_head keeps its bias), rotary on 4 of 8 head "
         "dimensions, no q/k norms (as TransformerLens converts), LayerNorm eps 1e-4", 215, dtype=torch.bfloat16)
    save(OlmoForCausalLM, OlmoConfig(**small, num_hidden_layers=2, max_position_embeddings=64, clip_qkv=1.0),
         "olmo_clip", "OLMo v1, clip_qkv 1.0 (clamps many projection entries), untied, one KV head per query head "
         "(as TransformerLens converts)", 216)
    save(OlmoForCausalLM, OlmoConfig(**small, num_hidden_layers=2, num_key_value_heads=2, max_position_embeddings=64,
                                     attention_bias=True, tie_word_embeddings=True, clip_qkv=2.5),
         "olmo_gqa_bf16", "OLMo v1 saved in bfloat16, 2 KV heads, attention biases, tied embeddings, clip_qkv 2.5", 217,
         dtype=torch.bfloat16)


def olmoe_references(directory, seed):
    """Adds the routing and the autograd gradients (see the docstring) to an OLMoE, Mixtral or Qwen-MoE checkpoint's
    reference.json."""
    torch.set_grad_enabled(True)
    model = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
    path = os.path.join(directory, "reference.json")
    with open(path) as handle:
        reference = json.load(handle)
    input_ids = torch.tensor(reference["batch"]["input_ids"])
    mids, routing = [], []
    def keep_mid(module, args):
        args[0].retain_grad()
        mids.append(args[0])
    def keep_routing(module, args, output):
        routing.append(output[2].reshape(input_ids.shape[0], input_ids.shape[1], -1).tolist())
    hooks = [layer.post_attention_layernorm.register_forward_pre_hook(keep_mid) for layer in model.model.layers]
    sparse = [l for l, layer in enumerate(model.model.layers) if hasattr(layer.mlp, "gate") and hasattr(layer.mlp, "experts")]
    hooks += [model.model.layers[l].mlp.gate.register_forward_hook(keep_routing) for l in sparse]
    logits = model(input_ids=input_ids).logits
    routing = [routing[sparse.index(l)] if l in sparse else None for l in range(len(model.model.layers))]
    metric = (logits[:, -1, 5] - logits[:, -1, 9]).sum()
    metric.backward()
    for hook in hooks:
        hook.remove()
    reference["routing"] = routing
    reference["gradients"] = {"metric": metric.item(), "resid_mid": [rounded(m.grad.numpy()) for m in mids],
                              "router_layer": sparse[0],
                              "router": rounded(model.model.layers[sparse[0]].mlp.gate.weight.grad.numpy())}
    with open(path, "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))
    torch.set_grad_enabled(False)


def olmoe():
    """OLMoE (a mixture-of-experts MLP after OLMo-2-style whole-projection q/k norms, optional clip_qkv) and Mixtral
    (Mistral's block with a mixture of experts)."""
    torch.set_grad_enabled(False)
    small = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=16, num_attention_heads=4, bos_token_id=1,
                 eos_token_id=2, pad_token_id=0, num_hidden_layers=3, max_position_embeddings=64)
    save(OlmoeForCausalLM, OlmoeConfig(**small, num_key_value_heads=2, num_experts=8, num_experts_per_tok=2,
                                       norm_topk_prob=False, clip_qkv=1.5, tie_word_embeddings=False,
                                       rope_parameters={"rope_type": "default", "rope_theta": 500.0}),
         "olmoe", "OLMoE, 3 layers, 2 of 8 experts per token, top-k probabilities not renormalized, clip_qkv 1.5, "
         "2 KV heads, untied, rope base 500", 221)
    olmoe_references(os.path.join(ROOT, "olmoe"), 221)
    save(OlmoeForCausalLM, OlmoeConfig(**small, num_experts=6, num_experts_per_tok=3, norm_topk_prob=True,
                                       tie_word_embeddings=True),
         "olmoe_norm_bf16", "OLMoE saved in bfloat16, 3 of 6 experts per token, top-k probabilities renormalized, "
         "no clipping, tied embeddings, one KV head per query head", 222, dtype=torch.bfloat16)
    olmoe_references(os.path.join(ROOT, "olmoe_norm_bf16"), 222)
    save(MixtralForCausalLM, MixtralConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=16, num_attention_heads=4,
                                           num_key_value_heads=2, num_hidden_layers=2, max_position_embeddings=64,
                                           bos_token_id=1, eos_token_id=2, pad_token_id=0, num_local_experts=5,
                                           num_experts_per_tok=2, sliding_window=5, tie_word_embeddings=False),
         "mixtral", "Mixtral: Mistral's block (sliding window 5, 2 KV heads) with 2 of 5 experts per token, probabilities "
         "renormalized, untied", 224)
    olmoe_references(os.path.join(ROOT, "mixtral"), 224)


def qwen_moe():
    """Qwen2-MoE (Qwen2's attention with q/k/v biases, a gated shared expert beside the routed ones) and Qwen3-MoE (Qwen3's
    per-head q/k norms), with dense MLP layers among the mixtures."""
    torch.set_grad_enabled(False)
    small = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=24, moe_intermediate_size=12, num_attention_heads=4,
                 bos_token_id=1, eos_token_id=2, pad_token_id=0, max_position_embeddings=64)
    save(Qwen2MoeForCausalLM, Qwen2MoeConfig(**small, num_key_value_heads=2, num_hidden_layers=3, num_experts=6,
                                             num_experts_per_tok=2, norm_topk_prob=False, shared_expert_intermediate_size=20,
                                             mlp_only_layers=[1], use_sliding_window=True, sliding_window=5,
                                             max_window_layers=2, tie_word_embeddings=False,
                                             rope_parameters={"rope_type": "default", "rope_theta": 1000.0}),
         "qwen2_moe", "Qwen2-MoE, 3 layers: 2 of 6 experts per token (width 12, not renormalized) plus a shared expert "
         "(width 20) in layers 0 and 2, a dense MLP (width 24) in layer 1 (mlp_only_layers); q/k/v biases, 2 KV heads, "
         "untied, sliding window 5 in layer 0 (use_sliding_window, max_window_layers 2; config.json without layer_types, as "
         "Qwen1.5-MoE's), rope base 1000", 225, rewrite=lambda config: config.pop("layer_types"))
    olmoe_references(os.path.join(ROOT, "qwen2_moe"), 225)
    save(Qwen3MoeForCausalLM, Qwen3MoeConfig(**small, num_key_value_heads=1, head_dim=16, num_hidden_layers=4,
                                             num_experts=8, num_experts_per_tok=3, norm_topk_prob=True,
                                             decoder_sparse_step=2, tie_word_embeddings=True),
         "qwen3_moe", "Qwen3-MoE, 4 layers: 3 of 8 experts per token (width 12, renormalized) in layers 1 and 3 "
         "(decoder_sparse_step 2), dense MLPs (width 24) in layers 0 and 2; per-head q/k norms, head_dim 16 with 4 heads "
         "of a 32-wide model, 1 KV head, tied embeddings (config.json as transformers 5 writes it, experts as num_local_experts)", 226)
    olmoe_references(os.path.join(ROOT, "qwen3_moe"), 226)


def router_ties():
    """router_ties.json: torch.topk (CPU) of tie-heavy rows (values from a few multiples of 1/16, so exact in JSON), for
    the expert counts and k of MoE routers, both of PyTorch's paths (partial sort when k * 64 <= n, else nth_element)."""
    generator = np.random.default_rng(223)
    cases = []
    for n, k in [(8, 2), (6, 3), (4, 4), (64, 8), (60, 4), (128, 8), (64, 1), (128, 2), (256, 4), (3, 1), (16, 6)]:
        for _ in range(40):
            levels = generator.integers(0, 16, generator.integers(1, 5)) / 16
            values = torch.tensor(generator.choice(levels, n), dtype=torch.float32)
            cases.append({"values": values.tolist(), "k": k, "indices": torch.topk(values, k).indices.tolist()})
    with open(os.path.join(FIXTURES, "router_ties.json"), "w") as handle:
        json.dump(cases, handle, separators=(",", ":"))


def sweep_regressions():
    """Checkpoints for what scripts/sweep_family_configs.py found wrong, and activations.json."""
    small = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_attention_heads=4, bos_token_id=1,
                 eos_token_id=2, pad_token_id=0)
    save(Gemma3ForCausalLM, Gemma3TextConfig(**small, num_hidden_layers=2, num_key_value_heads=2, head_dim=16,
                                             max_position_embeddings=64, query_pre_attn_scalar=16, sliding_window=4,
                                             layer_types=["sliding_attention", "full_attention"],
                                             attn_logit_softcapping=5.0, final_logit_softcapping=20.0),
         "gemma3_attn_softcap", "Gemma-3 text with attn_logit_softcapping 5, which transformers' Gemma-3 attention "
         "ignores (it was applied), and final soft-capping 20", 211)
    save(Phi3ForCausalLM, Phi3Config(**small, num_hidden_layers=2, num_key_value_heads=2, max_position_embeddings=64,
                                     original_max_position_embeddings=2, partial_rotary_factor=0.5,
                                     rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                                                      "short_factor": [1.0, 1.5], "long_factor": [2.0, 3.0]}),
         "phi3_longrope", "Phi-3 with LongRoPE (was refused): original context 2, so every pass of 3 or more positions "
         "uses the long factors, cos and sin times sqrt(1 + ln 32 / ln 2); rotary on 4 of 8 head dimensions", 212)
    save(Qwen3ForCausalLM, Qwen3Config(**small, num_hidden_layers=2, num_key_value_heads=2, head_dim=16,
                                       max_position_embeddings=64, hidden_act="quick_gelu",
                                       rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                                                        "original_max_position_embeddings": 8}),
         "qwen3_yarn", "Qwen3 with YaRN rotary scaling (factor 4, original context 8; was refused) and quick_gelu "
         "(was refused), head_dim 16", 213)
    save_gemma3_multimodal("gemma3_multimodal_softcap", "Gemma-3 multimodal wrapper whose text_config sets "
                           "final_logit_softcapping 2 and attn_logit_softcapping 5: Gemma3ForConditionalGeneration "
                           "applies neither (interp soft-capped the logits)", 214, final_logit_softcapping=2.0,
                           attn_logit_softcapping=5.0)
    from transformers import Olmo3Config, Olmo3ForCausalLM
    untruncated = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "rope_theta": 10000.0,
                   "truncate": False}
    save(Olmo3ForCausalLM, Olmo3Config(**small, num_hidden_layers=2, num_key_value_heads=2, max_position_embeddings=256,
                                       sliding_window=4, layer_types=["sliding_attention", "full_attention"],
                                       rope_parameters={"full_attention": untruncated,
                                                        "sliding_attention": {"rope_type": "default", "rope_theta": 500.0}}),
         "olmo3_yarn_untruncated", "OLMo-3 whose full-attention YaRN says truncate false, which transformers ignores in "
         "rope_parameters keyed by layer type (interp honoured it): the blend range of head_dim 8 is [0, 2], not "
         "[0, 1.008]", 231)
    save(Gemma3ForCausalLM, Gemma3TextConfig(**small, num_hidden_layers=2, num_key_value_heads=2, head_dim=16,
                                             max_position_embeddings=256, query_pre_attn_scalar=16, sliding_window=4,
                                             layer_types=["sliding_attention", "full_attention"],
                                             rope_parameters={"full_attention": dict(untruncated, beta_fast=16.0),
                                                              "sliding_attention": {"rope_type": "default",
                                                                                    "rope_theta": 10.0}}),
         "gemma3_yarn_untruncated", "Gemma-3 text, older layout, whose rope_scaling (YaRN, beta_fast 16) says "
         "truncate false, which transformers ignores: it becomes the full-attention entry of rope_parameters keyed by "
         "layer type", 232, rewrite=gemma3_older_layout)
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    save(LlamaForCausalLM, LlamaConfig(**small, num_hidden_layers=1, num_key_value_heads=2, max_position_embeddings=256,
                                       rope_parameters={"rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0,
                                                        "original_max_position_embeddings": 16}),
         "llama_yarn_top_level_original", "Llama with YaRN whose rope_parameters say original context 64 and whose "
         "top level says 16, which transformers prefers (interp read 64)", 233, rewrite=top_level_original_context)
    save(Qwen2ForCausalLM, Qwen2Config(**small, num_hidden_layers=1, num_key_value_heads=1, max_position_embeddings=64,
                                       rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}),
         "qwen2_rope_scaling_first", "Qwen2 whose config.json has both rope_scaling (linear 2, with rope_theta 10000 "
         "at the top level) and a stale rope_parameters (default, base 100): transformers reads rope_scaling (interp "
         "read rope_parameters)", 234, rewrite=stale_rope_parameters)

    x = torch.linspace(-12, 12, 97)
    names = ["gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate", "gelu_python_tanh",
             "gelu_10", "quick_gelu", "relu", "relu2", "relu6", "leaky_relu", "silu", "swish", "tanh", "sigmoid", "linear"]
    reference = {"inputs": rounded(x.numpy(), 9), "outputs": {name: rounded(ACT2FN[name](x).numpy(), 9) for name in names}}
    with open(os.path.join(FIXTURES, "activations.json"), "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))


def top_level_original_context(config):
    """Moves rope_parameters' original_max_position_embeddings to the top level and puts 64 in its place."""
    config["original_max_position_embeddings"] = config["rope_parameters"]["original_max_position_embeddings"]
    config["rope_parameters"]["original_max_position_embeddings"] = 64


def stale_rope_parameters(config):
    """The older rope_theta and rope_scaling next to a rope_parameters that disagrees with them."""
    parameters = config.pop("rope_parameters")
    config["rope_theta"] = parameters.pop("rope_theta")
    config["rope_scaling"] = {"type": parameters["rope_type"], "factor": parameters["factor"]}
    config["rope_parameters"] = {"rope_type": "default", "rope_theta": 100.0}


def olmo3_older_layout(config):
    """OLMo-3 config.json with the older rope_theta and rope_scaling and no layer_types. transformers applies both
    to the full-attention layers only; the sliding-window layers keep the default base 500000 (rope_theta is
    consumed by the full-attention layers)."""
    parameters = config.pop("rope_parameters")
    full = dict(parameters["full_attention"])
    assert parameters["sliding_attention"] == {"rope_type": "default", "rope_theta": 500000.0}
    config["rope_theta"] = full.pop("rope_theta")
    config["rope_scaling"] = full
    config.pop("layer_types")


def smollm3_derived_layout(config):
    """SmolLM3 config.json without no_rope_layers and layer_types: both follow from no_rope_layer_interval and
    use_sliding_window (sliding windows on the NoPE layers)."""
    config.pop("no_rope_layers")
    config.pop("layer_types")


def hub_multimodal_layout(directory, text_defaults):
    """Rewrites a saved Gemma3ForConditionalGeneration into the layout of the google/gemma-3-*-it checkpoints
    (written by transformers 4.50): tensors `language_model.model.*`, `vision_tower.*`, `multi_modal_projector.*`,
    and a text_config holding only what differs from Gemma3TextConfig's defaults, in the older rotary layout."""
    from safetensors.torch import load_file, save_file
    path = os.path.join(directory, "model.safetensors")
    tensors = load_file(path)
    renamed = {}
    for name, tensor in tensors.items():
        if name.startswith("model.language_model."):
            name = "language_model.model." + name[len("model.language_model."):]
        elif name.startswith("model."):
            name = name[len("model."):]
        elif name.startswith("lm_head."):
            name = "language_model." + name
        renamed[name] = tensor
    save_file(renamed, path, metadata={"format": "pt"})

    def hub_config(config):
        text = config["text_config"]
        gemma3_older_layout(text)
        defaults = dict(Gemma3TextConfig().to_dict(), rope_theta=1000000.0, rope_local_base_freq=10000.0)
        for key in list(text):
            if key in defaults and defaults[key] == text[key] and key != "model_type":
                del text[key]
        for key in text_defaults:
            assert key not in text, f"{key} should be left to its default"
        config["torch_dtype"] = config.pop("dtype")
    rewrite_config(directory, hub_config)


def save_gemma3_multimodal(name, description, seed, **text_options):
    """A tiny Gemma3ForConditionalGeneration (SigLIP tower of one layer) in the hub checkpoints' layout, with
    references from the text path (input_ids only); `text_options` are further Gemma3TextConfig fields."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, SiglipVisionConfig
    text = Gemma3TextConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, head_dim=8,
                            max_position_embeddings=64, query_pre_attn_scalar=16, sliding_window=4,
                            sliding_window_pattern=2, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                            rope_parameters={"full_attention": {"rope_type": "linear", "factor": 4.0,
                                                                "rope_theta": 1000000.0},
                                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                            **text_options)
    vision = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                image_size=16, patch_size=4)
    config = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=4, image_token_index=250,
                          boi_token_index=248, eoi_token_index=249, eos_token_id=[2, 3])
    model = randomized(Gemma3ForConditionalGeneration, config, seed)
    directory = save_checkpoint(model, name)
    # 8 query heads, 4 key-value heads, head_dim 8: left to Gemma3TextConfig's defaults (num_attention_heads 8,
    # num_key_value_heads 4), as the hub's text_config leaves most fields.
    hub_multimodal_layout(directory, ["num_attention_heads", "num_key_value_heads", "rope_theta",
                                      "rope_local_base_freq", "rms_norm_eps"])
    reloaded = Gemma3ForConditionalGeneration.from_pretrained(directory, attn_implementation="eager",
                                                              dtype=torch.float32).eval()
    probe = torch.tensor([list(range(1, SEQUENCE + 1))])
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=probe).logits, model(input_ids=probe).logits, atol=1e-5), \
            f"{name}: the hub layout loads differently"
    assert model.config.text_config.num_attention_heads == 8 and model.config.text_config.num_key_value_heads == 4
    reference = {"description": description, "config": derived_config(model)}
    reference.update(references(model, seed + 100))
    with open(os.path.join(directory, "reference.json"), "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))


def newer_families():
    """OLMo-3, SmolLM3 and the Gemma-3 multimodal wrapper (its text model)."""
    from transformers import Olmo3Config, Olmo3ForCausalLM, SmolLM3Config, SmolLM3ForCausalLM
    torch.set_grad_enabled(False)
    small = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_attention_heads=4, bos_token_id=1,
                 eos_token_id=2, pad_token_id=0)
    save(Olmo3ForCausalLM, Olmo3Config(**small, num_hidden_layers=4, num_key_value_heads=2, max_position_embeddings=64,
                                       rms_norm_eps=1e-6, sliding_window=4,
                                       rope_parameters={"full_attention": {"rope_type": "yarn", "factor": 4.0,
                                                                           "original_max_position_embeddings": 16,
                                                                           "rope_theta": 10000.0},
                                                        "sliding_attention": {"rope_type": "default",
                                                                              "rope_theta": 500000.0}}),
         "olmo3", "OLMo-3 (older rotary layout, no layer_types): OLMo-2's block, sliding window 4 on layers 0-2 "
         "(every 4th layer full), YaRN (factor 4, original context 16) and base 10000 on the full layer only, base "
         "500000 on the sliding layers, 2 KV heads", 218, rewrite=olmo3_older_layout)
    save(SmolLM3ForCausalLM, SmolLM3Config(**small, num_hidden_layers=4, num_key_value_heads=2,
                                           max_position_embeddings=64, no_rope_layer_interval=2,
                                           use_sliding_window=True, sliding_window=4,
                                           rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 500.0}),
         "smollm3", "SmolLM3: NoPE layers 1 and 3 (no_rope_layer_interval 2), sliding window 4 on the NoPE layers, "
         "rope base 500 with linear scaling 2, 2 KV heads, tied embeddings (no_rope_layers and layer_types derived)",
         219, rewrite=smollm3_derived_layout)
    save_gemma3_multimodal("gemma3_multimodal", "Gemma-3 multimodal wrapper (model_type gemma3, hub tensor layout "
                           "language_model.model.*, a one-layer SigLIP tower that is not loaded), text model: 8 query "
                           "and 4 KV heads by default, head_dim 8, sliding window 4 every other layer, linear scaling "
                           "4 on the global layers; references from input_ids only", 220)


def block_input_gradients(model, directory):
    """Adds "gradients" to a checkpoint's reference.json: torch autograd of logits[:, -1, 5] - logits[:, -1, 9] (summed
    over the batch) with respect to each block's input."""
    path = os.path.join(directory, "reference.json")
    with open(path) as handle:
        reference = json.load(handle)
    inputs = []
    def keep_input(module, args, kwargs):
        hidden = args[0] if args else kwargs["hidden_states"]
        hidden.retain_grad()
        inputs.append(hidden)
    hooks = [layer.register_forward_pre_hook(keep_input, with_kwargs=True) for layer in layers(model)]
    with torch.enable_grad():
        logits = model(input_ids=torch.tensor(reference["batch"]["input_ids"])).logits
        metric = (logits[:, -1, 5] - logits[:, -1, 9]).sum()
        metric.backward()
    for hook in hooks:
        hook.remove()
    grads = [hidden.grad for hidden in inputs]
    reference["gradients"] = {"metric": metric.item(), "resid_pre": [rounded(g.numpy()) for g in grads]}
    with open(path, "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))


def hub_mistral3_layout(config):
    """A Mistral3ForConditionalGeneration config.json as the hub's Mistral Small 3.1 writes it: no top-level
    tie_word_embeddings (transformers 5 then defaults it to true, yet keeps the checkpoint's own lm_head)."""
    config.pop("tie_word_embeddings")
    config["torch_dtype"] = config.pop("dtype")


def save_mistral3(name, description, seed, text, tie, hub_layout):
    """A tiny Mistral3ForConditionalGeneration (Pixtral tower of one layer, patch merger, projector) whose language
    model is `text` (a MistralConfig or Ministral3Config), with references from the text path (input_ids only).
    save_pretrained writes the tensors as the hub's checkpoints have them (`language_model.model.*`,
    `language_model.lm_head.*`, `vision_tower.*`, `multi_modal_projector.*`); with `hub_layout` the config is
    rewritten as the hub's (hub_mistral3_layout), without it the tensors are renamed to the module names transformers 5
    loads them into (`model.language_model.*`, `lm_head.*`, `model.vision_tower.*`). transformers must load either
    back to the same logits."""
    from safetensors.torch import load_file, save_file
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration, PixtralVisionConfig
    vision = PixtralVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 head_dim=8, image_size=16, patch_size=4)
    config = Mistral3Config(text_config=text, vision_config=vision, image_token_index=250, spatial_merge_size=2,
                            tie_word_embeddings=tie)
    model = randomized(Mistral3ForConditionalGeneration, config, seed)
    directory = save_checkpoint(model, name)
    path = os.path.join(directory, "model.safetensors")
    tensors = load_file(path)
    assert "language_model.model.embed_tokens.weight" in tensors, "save_pretrained no longer writes the hub layout"
    if hub_layout:
        rewrite_config(directory, hub_mistral3_layout)
    else:
        renamed = {}
        for tensor_name, tensor in tensors.items():
            if tensor_name.startswith("language_model.model."):
                tensor_name = "model.language_model." + tensor_name[len("language_model.model."):]
            elif tensor_name.startswith("language_model.lm_head."):
                tensor_name = tensor_name[len("language_model."):]
            else:
                tensor_name = "model." + tensor_name
            renamed[tensor_name] = tensor
        save_file(renamed, path, metadata={"format": "pt"})
    reloaded = Mistral3ForConditionalGeneration.from_pretrained(directory, attn_implementation="eager",
                                                                dtype=torch.float32).eval()
    probe = torch.tensor([list(range(1, SEQUENCE + 1))])
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=probe).logits, model(input_ids=probe).logits, atol=1e-5), \
            f"{name}: the saved checkpoint loads differently"
    reference = {"description": description, "config": derived_config(model)}
    reference.update(references(model, seed + 100))
    with open(os.path.join(directory, "reference.json"), "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))
    return model


def ministral():
    """Ministral (Mistral's block with windows on layer_types), Ministral 3 (YaRN and Llama 4's query scaling) and the
    Mistral 3 multimodal wrapper around a Ministral 3 and a Mistral text model."""
    from transformers import Ministral3Config, Ministral3ForCausalLM, MinistralConfig, MinistralForCausalLM, MistralConfig
    torch.set_grad_enabled(False)
    small = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_attention_heads=4, num_key_value_heads=2,
                 bos_token_id=1, eos_token_id=2, pad_token_id=0, max_position_embeddings=64)
    save(MinistralForCausalLM, MinistralConfig(**small, num_hidden_layers=3, sliding_window=5, head_dim=8,
                                               layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                                               rope_parameters={"rope_type": "default", "rope_theta": 500.0}),
         "ministral", "Ministral: Mistral's block, sliding window 5 on the sliding_attention layers 0 and 2 of "
         "layer_types (layer 1 full), 2 KV heads, rope base 500, untied", 241)
    yarn = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 8,
            "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0, "llama_4_scaling_beta": 0.5}
    ministral3 = dict(small, num_hidden_layers=2, head_dim=8)
    save(Ministral3ForCausalLM, Ministral3Config(**ministral3, rope_parameters=dict(yarn)),
         "ministral3", "Ministral 3: YaRN (factor 4, original context 8, mscale = mscale_all_dim = 1: attention factor "
         "1) and the query scaling 1 + 0.5 ln(1 + floor(p / 8)) on positions 8-11 of the batch, 2 KV heads, head_dim 8",
         242)
    model = Ministral3ForCausalLM.from_pretrained(os.path.join(ROOT, "ministral3"), attn_implementation="eager",
                                                  dtype=torch.float32).eval()
    block_input_gradients(model, os.path.join(ROOT, "ministral3"))
    text = Ministral3Config(**dict(ministral3, num_hidden_layers=2, sliding_window=6),
                            rope_parameters=dict(yarn, rope_type="default", llama_4_scaling_beta=0.3))
    for key in ("factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim"):
        text.rope_parameters.pop(key)
    save_mistral3("mistral3_ministral3", "Mistral 3 multimodal wrapper (hub layout: tensors language_model.model.*, a "
                  "one-layer Pixtral tower that is not loaded, no top-level tie_word_embeddings: tied by default, yet "
                  "the checkpoint's own lm_head is kept) around a Ministral 3 text model: default rotary, query "
                  "scaling 1 + 0.3 ln(1 + floor(p / 8)), sliding window 6; references from input_ids only",
                  243, text, tie=False, hub_layout=True)
    text = MistralConfig(**dict(small, num_hidden_layers=2, sliding_window=None, tie_word_embeddings=True),
                         rope_parameters={"rope_type": "default", "rope_theta": 1000.0})
    save_mistral3("mistral3_mistral", "Mistral 3 multimodal wrapper with its tensors under transformers 5's module "
                  "names (model.language_model.*), tied embeddings (no lm_head), around a Mistral text model whose "
                  "text_config is tied too; references from input_ids only",
                  244, text, tie=True, hub_layout=False)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["sweep"]:
        sweep_regressions()
    elif sys.argv[1:] == ["phi_olmo"]:
        phi_olmo()
    elif sys.argv[1:] == ["newer"]:
        newer_families()
    elif sys.argv[1:] == ["olmoe"]:
        olmoe()
        router_ties()
    elif sys.argv[1:] == ["qwen_moe"]:
        qwen_moe()
    elif sys.argv[1:] == ["ministral"]:
        ministral()
    else:
        main()
        sweep_regressions()
        phi_olmo()
        newer_families()
        olmoe()
        router_ties()
        qwen_moe()
        ministral()
