"""Builds tiny MLX-quantized checkpoints of every family with mlx-lm's own converter, and their reference logits.

mlx-community's quantized checkpoints are written by `mlx_lm.convert`; these fixtures are too, so the tests see
the converter's real layout: its module names (mlx-lm's `model.h.N.*` for GPT-2 and GPT-NeoX, with GPT-2's
projections as `[out, in]` Linear weights), which modules it quantizes (embeddings and GPT-2's position table
included), its `quantization` entries in config.json (per-module overrides from a mixed recipe) and the dtype of
its scales and biases.

Regenerate (from the repository root; needs torch, transformers >= 5, numpy, and mlx + mlx-lm, which install on
Linux CPUs: `python3 -m venv --system-site-packages .venv-mlx && .venv-mlx/bin/pip install "mlx[cpu]" mlx-lm`):

    .venv-mlx/bin/python scripts/make_mlx_fixtures.py

For each model below it
  1. makes a tiny random transformers model (std 0.3 weights, norms around 1) with its family's unusual options
     on, saved in the older config layout mlx-lm reads (rope_theta / rope_scaling, GPT-2's n_ctx, GPT-NeoX's
     rotary_pct and rotary_emb_base), checking that transformers reads the rewritten config to the same logits;
  2. converts it with `mlx_lm.convert(quantize=True, q_bits=..., q_group_size=..., quant_predicate=...)`;
  3. dequantizes every quantized module of the converted file with `mx.dequantize` (scales and biases widened to
     float32 first, so the reference is the affine rule `scale * q + bias` without float16 rounding), maps mlx-lm's
     names back to transformers' and loads every tensor of the converted file into the transformers model;
  4. records transformers' logits (fp32, eager attention) on a batch and on a left-padded batch (position ids
     counted from the first real token) in reference.json.

The mixtures' experts, which mlx-lm stacks into `switch_mlp` modules with a leading expert axis, are fused back into
transformers 5's `mlp.experts.gate_up_proj` / `down_proj` parameters for the reference.

mlx-lm's own forward pass is not the reference: it reads some configurations differently from transformers
(Gemma's embedding scale rounded to bfloat16, rope_parameters, sliding-window patterns), while the checkpoints'
weights mean the same to both.

Writes Tests/LanguageModelsTests/Fixtures/models/<name>/: config.json and model.safetensors as mlx-lm wrote them,
and reference.json; and Tests/TensorsTests/Fixtures/mlx_fp_codes.json, the values of the microscaling modes' codes
and scales (see `code_values`).
"""

import glob
import json
import os
import shutil
import sys
import tempfile

import mlx.core as mx
import numpy as np
import torch
import transformers
from mlx_lm import convert
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import batch_references, masked_logits, randomize, random_prompts  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/LanguageModelsTests/Fixtures/models")
TOKENIZER = os.path.join(ROOT, "Tests/LanguageModelsTests/Fixtures/tokenizers/gpt2")
VOCAB, SEQUENCE, PAD = 256, 9, 3

SMALL = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             max_position_embeddings=64, tie_word_embeddings=False)

# name: (model_type, config options, bits, group size, mlx-lm quant_predicate recipe or None, description)
MODELS = {
    "gpt2_mlx_q8": ("gpt2", dict(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64, n_ctx=64),
                    8, 32, None, "GPT-2 at 8 bits, group 32: mlx-lm's model.h.N names, Linear-layout projections, "
                                 "quantized token and position tables (tied unembedding)"),
    "gpt_neox_mlx_q4": ("gpt_neox", dict(SMALL, intermediate_size=128, use_parallel_residual=True,
                                         rope_parameters=dict(rope_type="default", rope_theta=10000.0,
                                                              partial_rotary_factor=0.5)),
                        4, 32, None, "GPT-NeoX at 4 bits, group 32: mlx-lm's model.h.N names, the per-head "
                                     "interleaved query_key_value split into packed parts, partial rotary"),
    "phi_mlx_q4": ("phi", dict(SMALL, rope_parameters=dict(rope_type="default", rope_theta=10000.0,
                                                           partial_rotary_factor=0.5)),
                   4, 32, None, "Phi at 4 bits, group 32: parallel block, partial rotary, lm_head bias"),
    "phi3_mlx_q6": ("phi3", dict(SMALL, num_key_value_heads=2, pad_token_id=0),
                    6, 32, None, "Phi-3 at 6 bits, group 32: fused qkv_proj and gate_up_proj split into packed parts"),
    "gemma2_mlx_q4": ("gemma2", dict(SMALL, hidden_size=64, intermediate_size=128, num_key_value_heads=2, head_dim=16,
                                     sliding_window=4, query_pre_attn_scalar=16, attn_logit_softcapping=20.0,
                                     final_logit_softcapping=10.0, tie_word_embeddings=True),
                      4, 64, None, "Gemma-2 at 4 bits, group 64: soft-capping, sliding window 4, tied quantized "
                                   "embedding scaled by sqrt(d)"),
    "gemma3_mlx_q3": ("gemma3_text", dict(SMALL, num_key_value_heads=2, head_dim=8, sliding_window=4,
                                          query_pre_attn_scalar=8, layer_types=["sliding_attention", "full_attention"],
                                          rope_local_base_freq=100.0, tie_word_embeddings=True),
                      3, 32, None, "Gemma-3 text at 3 bits, group 32: q/k norms, a sliding and a global layer"),
    "olmo2_mlx_q5": ("olmo2", dict(SMALL, num_key_value_heads=2),
                     5, 32, None, "OLMo-2 at 5 bits, group 32: post-norms, q/k norms over all heads"),
    "olmo3_mlx_q2": ("olmo3", dict(SMALL, num_key_value_heads=2, sliding_window=4,
                                   layer_types=["sliding_attention", "full_attention"]),
                     2, 32, None, "OLMo-3 at 2 bits, group 32: a sliding-window layer"),
    "smollm3_mlx_q8": ("smollm3", dict(SMALL, num_key_value_heads=2, no_rope_layers=[1, 0], tie_word_embeddings=True,
                                         pad_token_id=0),
                       8, 32, None, "SmolLM3 at 8 bits, group 32: a NoPE layer, tied quantized embedding"),
    "qwen3_mlx_mixed": ("qwen3", dict(SMALL, hidden_size=64, intermediate_size=128, num_key_value_heads=2, head_dim=16,
                                      num_hidden_layers=3),
                        3, 64, "mixed_3_6", "Qwen3 by mlx-lm's mixed_3_6 recipe: 3 bits, some modules 6 bits "
                                            "(per-module overrides in config.json), group 64"),
    # The mixtures: mlx-lm stacks each layer's experts into switch_mlp.{gate,up,down}_proj [experts, out, in].
    "olmoe_mlx_q4": ("olmoe", dict(SMALL, num_key_value_heads=2, num_experts=4, num_experts_per_tok=2, pad_token_id=0),
                     4, 32, None, "OLMoE at 4 bits, group 32: 2 of 4 experts stacked in mlp.switch_mlp"),
    "mixtral_mlx_q4": ("mixtral", dict(SMALL, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2),
                       4, 32, None, "Mixtral at 4 bits, group 32: 2 of 4 experts stacked in block_sparse_moe.switch_mlp"),
    "qwen2_moe_mlx_q4": ("qwen2_moe", dict(SMALL, num_key_value_heads=2, num_experts=4, num_experts_per_tok=2,
                                           moe_intermediate_size=32, shared_expert_intermediate_size=64),
                         4, 32, None, "Qwen2-MoE at 4 bits, group 32: 2 of 4 experts stacked in mlp.switch_mlp, a "
                                      "quantized shared expert and shared_expert_gate"),
    "qwen3_moe_mlx_q4": ("qwen3_moe", dict(SMALL, hidden_size=64, num_key_value_heads=2, head_dim=16, num_hidden_layers=3,
                                           num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                                           norm_topk_prob=True, decoder_sparse_step=2),
                         4, 64, None, "Qwen3-MoE at 4 bits, group 64: 2 of 4 experts stacked in mlp.switch_mlp in layer 1 "
                                      "(decoder_sparse_step 2; layers 0 and 2 dense), routers at 8 bits (mlx-lm's "
                                      "qwen3_moe quant_predicate)"),
    "llama_mlx_mxfp4": ("llama", dict(SMALL, num_key_value_heads=2, attention_bias=True),
                        4, 32, None, "Llama at mxfp4 (E2M1 codes, E8M0 scales per 32 columns): GQA, attention bias"),
    "qwen2_mlx_nvfp4": ("qwen2", dict(SMALL, num_key_value_heads=2, tie_word_embeddings=True),
                        4, 16, None, "Qwen2 at nvfp4 (E2M1 codes, E4M3 scales per 16 columns): qkv bias, tied "
                                     "quantized embedding"),
    "mistral_mlx_mxfp8": ("mistral", dict(SMALL, num_key_value_heads=1, sliding_window=4),
                          8, 32, None, "Mistral at mxfp8 (E4M3 codes, E8M0 scales per 32 columns): one key-value "
                                       "head, sliding window 4"),
    "llama_mlx_q1": ("llama", dict(SMALL, num_key_value_heads=4), 1, 32, None, "Llama at 1-bit affine, group 32"),
}

# mlx-lm's --q-mode of the models not in the (default) affine mode.
MODES = {"llama_mlx_mxfp4": "mxfp4", "qwen2_mlx_nvfp4": "nvfp4", "mistral_mlx_mxfp8": "mxfp8"}


def older_layout(config):
    """Rewrites transformers 5's rope_parameters into rope_theta / rope_scaling, the layout mlx-lm reads."""
    for holder in (config, config.get("text_config", {})):
        parameters = holder.pop("rope_parameters", None)
        if parameters is None:
            continue
        if "sliding_attention" in parameters:       # per layer type (Gemma-3, OLMo-3): the global layers' settings
            holder["rope_local_base_freq"] = parameters["sliding_attention"]["rope_theta"]
            parameters = parameters["full_attention"]
        holder["rope_theta"] = parameters.pop("rope_theta")
        if parameters.get("rope_type", "default") != "default":
            holder["rope_scaling"] = parameters
        if "partial_rotary_factor" in parameters:
            holder["partial_rotary_factor"] = parameters["partial_rotary_factor"]
    if config["model_type"] == "qwen3_moe" and "num_local_experts" in config:   # transformers 5's alias, not mlx-lm's
        config["num_experts"] = config.pop("num_local_experts")
    if config["model_type"] == "gpt_neox":              # GPT-NeoX's own names for them
        config["rotary_emb_base"] = config.pop("rope_theta")
        config["rotary_pct"] = config.pop("partial_rotary_factor", 1.0)
    return config


def source_model(model_type, options, seed, directory):
    config = transformers.AutoConfig.for_model(model_type, **options)
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
    randomize(model, seed)
    model.save_pretrained(directory)
    if model_type == "gpt2":                           # the hub checkpoint's names (h.0..., no lm_head), which mlx-lm reads
        path = os.path.join(directory, "model.safetensors")
        tensors = {name.removeprefix("transformer."): value for name, value in load_file(path).items()
                   if not name.startswith("lm_head")}
        save_file(tensors, path, metadata={"format": "pt"})
    for name in os.listdir(TOKENIZER):
        if name.startswith("tokenizer"):
            shutil.copy(os.path.join(TOKENIZER, name), directory)
    path = os.path.join(directory, "config.json")
    rewritten = older_layout(json.load(open(path)))
    json.dump(rewritten, open(path, "w"), indent=2)
    reread = transformers.AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager").eval()
    ids = random_prompts(seed, VOCAB, SEQUENCE)
    difference = (masked_logits(model, ids) - masked_logits(reread, ids)).abs().max().item()
    assert difference < 1e-5, f"{model_type}: the rewritten config.json reads differently ({difference})"
    return reread


def transformers_name(model_type, name):
    """Maps an mlx-lm tensor name back to transformers' (the inverse of mlx-lm's sanitize)."""
    if model_type == "gpt2":
        return "transformer." + name.removeprefix("model.")
    if model_type == "gpt_neox":
        name = name.replace("model.h.", "gpt_neox.layers.")
        return "lm_head.weight" if name == "model.embed_out.weight" else name.replace("model.", "gpt_neox.")
    return name


def fused_experts(state):
    """mlx-lm's stacked experts (`{mlp,block_sparse_moe}.switch_mlp.{gate,up,down}_proj.weight`, [experts, out, in])
    as transformers 5's parameters (`mlp.experts.gate_up_proj`, gate rows before up rows, and `mlp.experts.down_proj`),
    and Mixtral's router `block_sparse_moe.gate` as `mlp.gate`."""
    for name in [n for n in state if n.endswith(".switch_mlp.gate_proj.weight")]:
        stacked = name.removesuffix("gate_proj.weight")
        layer = name.split(".switch_mlp.")[0].rsplit(".", 1)[0]
        gate, up = state.pop(name), state.pop(stacked + "up_proj.weight")
        state[layer + ".mlp.experts.gate_up_proj"] = torch.cat([gate, up], 1)
        state[layer + ".mlp.experts.down_proj"] = state.pop(stacked + "down_proj.weight")
    for name in [n for n in state if ".block_sparse_moe.gate." in n]:
        state[name.replace(".block_sparse_moe.gate.", ".mlp.gate.")] = state.pop(name)
    return state


def dequantized_tensors(directory):
    """Every tensor of the converted checkpoint as float32: quantized modules by the affine rule in float32, or by
    `mx.dequantize`'s microscaling rule (exact: an FP4 or FP8 value times a power of two or an FP8 scale)."""
    config = json.load(open(os.path.join(directory, "config.json")))
    settings = config["quantization"]
    stored = {}
    for path in glob.glob(os.path.join(directory, "*.safetensors")):
        stored.update(mx.load(path))
    tensors, quantized = {}, 0
    for name, value in stored.items():
        module = name.rsplit(".", 1)[0]
        if name.endswith((".scales", ".biases")) and f"{module}.weight" in stored:
            continue
        if name.endswith(".weight") and f"{module}.scales" in stored:
            override = settings.get(module)
            group, bits, mode = (override["group_size"], override["bits"], override.get("mode", "affine")) \
                if isinstance(override, dict) else (settings["group_size"], settings["bits"], settings.get("mode", "affine"))
            if mode == "affine":
                value = mx.dequantize(value, stored[f"{module}.scales"].astype(mx.float32),
                                      stored[f"{module}.biases"].astype(mx.float32), group_size=group, bits=bits)
            else:
                value = mx.dequantize(value, stored[f"{module}.scales"], group_size=group, bits=bits, mode=mode)
            quantized += 1
        tensors[name] = np.array(value.astype(mx.float32))
    return tensors, quantized


def load_dequantized(model, model_type, converted):
    """Loads every tensor of the converted checkpoint `converted`, dequantized (`dequantized_tensors`), into the
    transformers model `model`; returns the number of quantized modules."""
    tensors, quantized = dequantized_tensors(converted)
    state = {}
    for stored_name, value in tensors.items():
        value = torch.from_numpy(value)
        if model_type == "gpt2" and value.ndim == 2 and (".attn." in stored_name or ".mlp." in stored_name):
            value = value.T.contiguous()                  # back to Conv1D's [in, out]
        state[transformers_name(model_type, stored_name)] = value
    missing, unexpected = model.load_state_dict(fused_experts(state), strict=False)
    tied = {"lm_head.weight"} if model.config.tie_word_embeddings else set()
    assert set(missing) <= tied and not unexpected, f"{converted}: missing {missing}, unexpected {unexpected}"
    model.tie_weights()
    return quantized


def make(name, model_type, options, bits, group, recipe, description, seed):
    work = tempfile.mkdtemp(prefix=f"mlx-{name}-")
    source, converted = os.path.join(work, "source"), os.path.join(work, "converted")
    model = source_model(model_type, options, seed, source)
    convert(source, mlx_path=converted, quantize=True, q_bits=bits, q_group_size=group, quant_predicate=recipe,
            q_mode=MODES.get(name, "affine"))
    quantized = load_dequantized(model, model_type, converted)
    reference = {
        "description": description + f" (mlx-lm convert, {quantized} quantized modules)",
        "quantized_modules": quantized,
        **batch_references(model, random_prompts(seed, VOCAB, SEQUENCE), PAD),
    }
    target = os.path.join(OUT, name)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    for file in ["config.json"] + [os.path.basename(p) for p in glob.glob(os.path.join(converted, "*.safetensors"))]:
        shutil.copy(os.path.join(converted, file), target)
    json.dump(reference, open(os.path.join(target, "reference.json"), "w"))
    shutil.rmtree(work)
    print(f"{name}: {quantized} quantized modules, logit scale {np.abs(reference['batch']['logits']).max():.2f}")


def code_values():
    """Writes Tests/TensorsTests/Fixtures/mlx_fp_codes.json: the value of every FP8 E4M3 code (torch's
    float8_e4m3fn), and MLX's own mxfp4 dequantization of every E2M1 code and of every E8M0 scale (NaN as null)."""
    e4m3 = torch.arange(256, dtype=torch.uint8).view(torch.float8_e4m3fn).float().tolist()
    low, high = (sum(code << (4 * i) for i, code in enumerate(range(first, first + 8))) for first in (0, 8))
    words = mx.array([[low, high, low, high]], dtype=mx.uint32)      # one row of 32 codes: 0 ... 15 twice
    e2m1 = np.array(mx.dequantize(words, mx.array([[127]], dtype=mx.uint8), mode="mxfp4").astype(mx.float32))[0, :16]
    ones = mx.array([[sum(2 << (4 * i) for i in range(8))] * 4] * 255, dtype=mx.uint32)   # code 2 is 1.0
    scales = mx.array(np.arange(255, dtype=np.uint8).reshape(255, 1))
    e8m0 = np.array(mx.dequantize(ones, scales, mode="mxfp4").astype(mx.float32))[:, 0]
    def finite(values):
        return [None if np.isnan(v) else float(v) for v in values]
    path = os.path.join(ROOT, "Tests/TensorsTests/Fixtures/mlx_fp_codes.json")
    json.dump({"e4m3": finite(e4m3), "e2m1": finite(e2m1), "e8m0": finite(e8m0)}, open(path, "w"))


def main():
    transformers.logging.set_verbosity_error()
    names = sys.argv[1:] or list(MODELS)
    for name in names:
        make(name, *MODELS[name], seed=100 + list(MODELS).index(name))
    code_values()


if __name__ == "__main__":
    main()
