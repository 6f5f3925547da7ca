"""Randomized configuration sweep: tiny random checkpoints of every family `interp` loads, against transformers.

Not part of CI (it needs Python and takes minutes); the bugs it finds get committed fixtures
(scripts/make_family_fixtures.py) and Swift tests. Run from the repository root after
`swift build -c release --product interp`:

    python3 scripts/sweep_family_configs.py                        # 4 configs per family, seed 0
    python3 scripts/sweep_family_configs.py -n 20 --seed 7 --families llama,gemma2 --keep /tmp/sweep

For each family (gpt2, llama, mistral, mixtral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3, gpt_neox, olmo2, phi, olmo,
olmo3, smollm3, olmoe, qwen2_moe, qwen3_moe, and the gemma3 multimodal wrapper Gemma3ForConditionalGeneration, whose text logits are compared)
it draws N random tiny configurations under the seed, varying the options transformers honours: sizes, head_dim unlike
hidden_size / heads, grouped-query ratios down to one key-value head, biases, tied or untied embeddings, rope_theta,
rope scaling (linear, llama3 with low_freq_factor 0.5 to 2, yarn with beta_fast, beta_slow, truncate, attention_factor
or mscale/mscale_all_dim, dynamic, longrope for Phi-3, Llama, SmolLM3 and Qwen2), partial rotary, sliding
windows shorter than the prompt and per-layer layer_types, rotary settings per layer type (gemma3, olmo3: YaRN on
the full-attention layers), SmolLM3's NoPE layers (no_rope_layers or no_rope_layer_interval), the hub's minimal
gemma3 text_config and a wrapper tie_word_embeddings unlike text_config's, soft-capping, parallel residuals, Phi's q/k LayerNorms,
OLMo's clip_qkv, OLMoE's, Mixtral's and Qwen-MoE's expert counts, experts per token (and norm_topk_prob), Qwen-MoE's
expert widths, dense layers (decoder_sparse_step, mlp_only_layers) and Qwen2-MoE's shared expert, activations, norm
epsilons from 1e-12 to 0.1, one to eight heads (5 and 7 too) (including transformers' rarer activations, some of which `interp` refuses), odd vocabulary sizes, and the dtype the checkpoint is saved in (fp32, bf16, fp16). Each configuration is
saved with transformers (random weights, std 0.3) and checked with `interp logits` (full pass on a batch, full pass
and one-token-at-a-time key-value-cache decoding on a left-padded batch) against transformers loading the same
directory in fp32 (eager attention, position ids counted from the first real token; the cached decoding against
transformers' own cached decoding). Tolerance: max |Δ logit| at
real positions ≤ 1e-4 × max(1, max |logit|) for fp32 checkpoints and 1e-3 × max(1, max |logit|) for 16-bit ones
(the 16-bit weights are the same, but `interp` may keep fused projections 16-bit and round differently).

A configuration `interp` refuses counts as "refused" when the error names the file and a config.json field that
the configuration sets (e.g. `config.json: rope_scaling.rope_type 'yarn' is not supported ...`); any other error,
crash, hang (60 s) or mismatch is a failure, printed with the options that differ from the family's defaults.
`--gguf K` also writes K random GGUF files per GGUF family (llama, qwen2, gemma2, gemma3, phi3, gpt2, smollm3, olmo2;
`--gguf-families` picks some) with the `gguf` package (llama.cpp's tensor names, q/k rows permuted for llama and
smollm3, Gemma norms stored as 1 + weight, phi3's and gpt2's fused attn_qkv, olmo2's post-norms, a random mix of F32,
F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) and compares with transformers loading the file (`gguf_file=`), which
dequantizes with gguf-py; transformers' GGUF loader reads neither smollm3 nor olmo2, so for those the reference is the
transformers model the file was written from, holding the values gguf-py dequantizes from the file. Model-types transformers knows and `interp` does not load
(REFUSED_FAMILIES) are checked to be refused by name.

About a third of the config.json files are rewritten into transformers 4's layout (rope_theta and rope_scaling with
`type` or `rope_type`, now and then next to a stale rope_parameters, or a null or empty rope_scaling next to
rope_parameters; Pythia's rotary_pct and rotary_emb_base; Gemma 3's
rope_local_base_freq; torch_dtype) before either side reads them, and some llama3 or YaRN configurations get a
top-level original_max_position_embeddings (which transformers prefers to the rotary object's).

`--gguf-families` also takes the mixtures olmoe, mixtral (`llama` with experts, stacked or per expert), qwen2moe (its
shared expert's gate [1, d] or squeezed to [d]) and qwen3moe, written by make_gguf_moe_fixtures.write_moe (random
expert counts, experts per token, norm_topk_prob, widths, tied embeddings); the reference is the transformers model
holding the stored values.

`--mlx K` (run with a Python that has mlx and mlx-lm, e.g. .venv-mlx/bin/python) converts K random checkpoints of the
families mlx-lm reads with `mlx_lm.convert`: affine 1 to 8 bits at groups 32, 64, 128, or mxfp4, mxfp8, nvfp4; half
of them with a quant_predicate that leaves some modules unquantized and overrides others (another affine width or a
microscaling mode); stored fp32, bf16 or fp16; widths often multiples of the groups (mlx-lm leaves a module whose
input width is not a multiple unquantized). The reference is transformers holding every tensor of the converted
file dequantized by mx.dequantize (make_mlx_fixtures.load_dequantized). Options mlx-lm cannot read are not drawn.

`--export` exports each passing checkpoint (and GGUF and MLX file) with `interp export` and compares transformers'
logits of the export with the reference (1e-4). `--hooks` compares `interp trace` values with transformers':
attention patterns (output_attentions), the residual stream after every layer but the last (output_hidden_states)
and the routers' logits (output_router_logits).

`--tokenizers K` sends K random texts (words, Unicode of many scripts, emoji sequences, combining marks, control
characters, runs of every kind of whitespace, words of 30 to 400 characters, variation selectors, private-use scalars,
noncharacters, bidi controls, the tokenizer's added tokens) through every fixture tokenizer of
Tests/LanguageModelsTests/Fixtures/tokenizers with `interp tokenize --json`, with and without special tokens,
against the `tokenizers` library (`--families ""` skips the models).

Prints a table: family, configurations tried, passed, refused with a clear error, failed.

Session 28 (all at commit 15bb2dd's draws unless noted; refusals are unsupported activations such as mish or laplace,
Phi's partial rotary of one dimension, gemma3 use_bidirectional_attention, and olmoe by model_type, which
loads since the MoE merge of the same session):
  -n 6 --seed 41 (every family)      101 tried, 87 passed, 12 refused, 2 failed: gemma3 wrapper with
                                     final_logit_softcapping (Gemma3ForConditionalGeneration applies none; fixed,
                                     fixture gemma3_multimodal_softcap); after the fix gemma3 6 tried, 4 passed, 2 refused
  -n 6 --seed 97 (every family)      96 tried, 86 passed, 10 refused, 0 failed
  -n 8 --seed 41 --families qwen2,phi3,olmo2,olmo3 and -n 8 --seed 97 --families qwen2 (head_dim drawn for these too)
                                     40 tried, 37 passed, 3 refused, 0 failed
  --gguf 4 --seed 53 --families ""   32 tried (4 per GGUF family), 32 passed
  --tokenizers 300 --seed 11 --families ""   23 tokenizers x 300 texts: 6898 passed, 2 failed (wordpiece-bert,
                                     wordpiece-cased: BertNormalizer's strip_accents dropped U+08DE / U+08D7, marks of
                                     Unicode 9.0 that the library's Unicode 8.0 table keeps; fixed, StripAccentsTableTests)
  after the fixes: -n 8 --seed 123 --families olmo3,smollm3,gemma3,gemma3_text --gguf 2 --gguf-families
  smollm3,olmo2,gemma3: 32 tried, 30 passed, 2 refused, 0 failed; GGUF 6 tried, 6 passed;
  --tokenizers 80 --seed 12 --families "": 1840 tried, 1840 passed
scripts/fuzz.sh fuzz-gguf (with the new phi3, gpt2, olmo2 and smollm3 seeds): 150 s found a block_count of 2113929217
that ran over 60 s (fixed: layer counts and widths are bounded, in config.json too); then 180 s, 74,798 inputs, none.

Session 29 (draws extended: YaRN's and llama3's other fields, a top-level original_max_position_embeddings, rope_scaling
next to a stale rope_parameters or a null/empty rope_scaling next to rope_parameters, Pythia's and Gemma 3's older
rotary layouts, 5 and 7 heads, extreme norm epsilons, long words and rarer scalars in the tokenizer texts):
  -n 8 --seed 131 --families llama,gpt_neox,gemma3_text,gemma3,olmo3,qwen2   46 tried, 43 passed, 3 refused, 0 failed
  -n 6 --seed 257 (every family)     101 tried, 94 passed, 3 refused, 4 failed: olmo, olmoe, mixtral with a top-level
                                     original_max_position_embeddings, which transformers prefers to the rotary
                                     object's (fixed for every family; fixture llama_yarn_top_level_original)
  -n 6 --seed 409 (every family)     97 tried, 94 passed, 2 refused, 1 failed: gemma3_text whose older rope_scaling
                                     says "type": "llama3" without rope_type, which transformers 5 ignores (now refused
                                     naming rope_scaling.type); after the fixes these five checkpoints: 4 passed,
                                     1 refused
  -n 6 --seed 613 --gguf 2 (every family)   98 tried, 93 passed, 5 refused, 0 failed; GGUF 16 tried, 16 passed
  -n 5 --seed 131 (14 families not in the first run)   65 tried, 62 passed, 3 refused, 0 failed
  --tokenizers 120 --seed 409 --families ""   23 tokenizers x 120 texts: 2760 passed
  Probes outside the draws found: YaRN's truncate in per-layer-type rope parameters is ignored by transformers
  (fixtures olmo3_yarn_untruncated, gemma3_yarn_untruncated); rope_scaling wins over rope_parameters (fixture
  qwen2_rope_scaling_first); a top-level rope_theta is ignored for gpt_neox. Refusals: unsupported activations
  (mish, laplace, hardswish), gemma3 use_bidirectional_attention, Phi-3 rotating an odd number of dimensions.
  --tokenizers 60 --seed 613 --families ""   1380 passed
  LongRoPE read for the llama family (was refused): -n 8 --seed 787 --families llama,qwen2,smollm3   24 tried,
  24 passed (2 with LongRoPE)
scripts/fuzz.sh fuzz-gguf 150 s: 13,087 inputs, none; fuzz-tokenizer-encode 120 s: 341,166 inputs, none;
fuzz-tokenizer-json 90 s found a vocab id of 7999999999999993 that trapped (fixed: ids must be 0 to 2^31-1); after
the fix 120 s, 146,469 inputs, none.

Session 30 (MLX, GGUF mixtures, --export and --hooks added; transformers' eager expert loop for the references):
  -n 8 --seed 1009 --families olmoe,mixtral,qwen2_moe,qwen3_moe     28 tried, 27 passed, 1 refused, 0 failed
  -n 6 --seed 1201 (every family)    115 tried, 109 passed, 6 refused (activations, odd Phi-3 rotaries, Gemma-3
                                     rope_scaling.type without rope_type), 0 failed; --hooks on its first three
                                     checkpoints per family: every pattern, residual and router logit within 1e-4
  --gguf 5 --seed 1409 --gguf-families olmoe,mixtral,qwen2moe,qwen3moe (6 for olmoe, mixtral)   22 tried, 22 passed
  --mlx 40 --seeds 1301, 1303        1301: 17 passed, then a transformers failure outside the try stopped the script
                                     (fixed); 1303: 27 tried, 25 passed, 2 refused (activations)
  -n 3 --seed 1511 --export --hooks --gguf 2 --mlx 25   the export check found Gemma-2/3 and OLMo-3 exports with no
                                     sliding layer written with sliding_window null, which transformers cannot run
                                     (fixed: FamilySavingTests.aModelWithoutSlidingLayersIsWrittenWithAWindow); after
                                     the fix 58 tried, 54 passed, 4 refused; GGUF 24 tried, 24 passed; MLX 16 tried,
                                     15 passed, 1 refused
  -n 5 --seed 1607 --export --hooks --gguf 3 --mlx 40   98 tried, 94 passed, 4 refused; GGUF 35 tried, 35 passed;
                                     MLX 32 tried, 31 passed, 1 failed: a Mixtral at 1-bit affine with rms_norm_eps
                                     0.1 (logit scale 38) whose float32 logits are ill-conditioned: transformers in
                                     float32 is 2.5e-3 from transformers in float64, interp 2.4e-3 from float64 (not a
                                     bug; the 1e-4 tolerance is below the model's own float32 noise)
  -n 4 --families mixtral,qwen3_moe --mlx 12 --seed 1703 --export --hooks   8 tried, 7 passed, 1 refused; MLX 11 tried,
                                     11 passed
  --tokenizers 60 --seed 1607 --families ""   23 tokenizers x 60 texts: 1380 passed
scripts/fuzz.sh, one target at a time: fuzz-gguf 150 s, 82,819 inputs; fuzz-safetensors 150 s, 233,051;
fuzz-tokenizer-json 120 s, 435,807; fuzz-tokenizer-encode 120 s, 269,135; fuzz-task-file 60 s, 654,813;
fuzz-circuit-file 60 s, 78,584; none crashed, hung or ran out of memory.
"""


import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import randomize  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
TOKENIZER = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures", "tokenizers", "wordlevel", "tokenizer.json")
SUPPORTED_ACTIVATIONS = ["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish"]
OTHER_ACTIVATIONS = ["quick_gelu", "gelu_python", "gelu_accurate", "gelu_python_tanh", "relu2", "relu6", "tanh",
                     "sigmoid", "mish", "linear", "leaky_relu", "gelu_10", "laplace", "hardswish"]


# ---------------------------------------------------------------------------------------------------------------
# Random configurations. Each returns the kwargs of the family's Config class.

def activation(r, rare=0.15):
    return r.choice(OTHER_ACTIVATIONS) if r.random() < rare else r.choice(SUPPORTED_ACTIVATIONS)


def heads(r, allow_head_dim=True):
    """(hidden_size, num_attention_heads, num_key_value_heads, head_dim or None)."""
    n_heads = r.choice([1, 2, 3, 4, 5, 6, 7, 8])
    kv = r.choice([d for d in range(1, n_heads + 1) if n_heads % d == 0])
    head_dim = r.choice([4, 6, 8, 12, 16])
    if allow_head_dim and r.random() < 0.4:
        # transformers requires hidden_size to be a multiple of the heads even when head_dim is given.
        hidden = n_heads * r.choice([d for d in [4, 6, 8, 12, 16] if d != head_dim])
        return hidden, n_heads, kv, head_dim
    return n_heads * head_dim, n_heads, kv, None


def common(r):
    return dict(vocab_size=r.choice([37, 64, 101, 128, 257, 300]), intermediate_size=r.choice([8, 20, 32, 48, 64, 96]),
                num_hidden_layers=r.choice([1, 2, 3, 4]), max_position_embeddings=r.choice([32, 64, 128]),
                tie_word_embeddings=r.random() < 0.5, bos_token_id=1, eos_token_id=2, pad_token_id=0)


def rope(r, allowed=("default", "linear", "llama3", "dynamic", "yarn"), head_dim=None):
    theta = r.choice([100.0, 10000.0, 500000.0, 1e6])
    kind = r.choice(list(allowed) + ["default"] * 2)
    parameters = {"rope_type": kind, "rope_theta": theta}
    if kind == "linear":
        parameters["factor"] = r.choice([2.0, 4.0, 0.5])
    elif kind == "dynamic":
        parameters["factor"] = r.choice([2.0, 4.0])
    elif kind == "llama3":
        low = r.choice([0.5, 1.0, 1.0, 2.0])
        parameters.update(factor=r.choice([2.0, 8.0]), low_freq_factor=low, high_freq_factor=low * r.choice([1.5, 2.0, 4.0]),
                          original_max_position_embeddings=r.choice([8, 16]))
    elif kind == "yarn":
        # (transformers 5 refuses a YaRN object without factor)
        parameters.update(factor=r.choice([2.0, 4.0, 0.5]), original_max_position_embeddings=r.choice([8, 16]))
        for key, values in [("beta_fast", [4.0, 8.0, 64.0, 0]), ("beta_slow", [0.5, 2.0, 0]), ("truncate", [False, True]),
                            ("attention_factor", [0.7, 1.0, 1.3])]:
            if r.random() < 0.3:
                parameters[key] = r.choice(values)
        if r.random() < 0.3:
            parameters.update(mscale=r.choice([0.0, 0.707, 1.0]), mscale_all_dim=r.choice([0.0, 0.5, 1.0]))
    return parameters


def longrope(r, config, head_dim):
    """Sometimes LongRoPE (any rope model of transformers reads it) with an original context shorter than some prompts."""
    if r.random() < 0.15:
        half = head_dim // 2
        config["rope_parameters"] = {"rope_type": "longrope", "rope_theta": r.choice([100.0, 10000.0]),
                                     "short_factor": [r.choice([1.0, 1.5]) for _ in range(half)],
                                     "long_factor": [r.choice([2.0, 4.0]) for _ in range(half)],
                                     "original_max_position_embeddings": r.choice([4, 8])}
        if r.random() < 0.5:
            config["rope_parameters"]["attention_factor"] = r.choice([0.8, 1.2])


def draw_llama(r):
    hidden, n, kv, head_dim = heads(r)
    config = dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv,
                  hidden_act=activation(r), rms_norm_eps=r.choice([1e-6, 1e-5, 1e-3, 1e-12, 0.1]),
                  attention_bias=r.random() < 0.4, mlp_bias=r.random() < 0.4, rope_parameters=rope(r))
    if head_dim:
        config["head_dim"] = head_dim
    longrope(r, config, head_dim or hidden // n)
    return config


def draw_mistral(r):
    hidden, n, kv, head_dim = heads(r)
    config = dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv,
                  hidden_act=activation(r), rms_norm_eps=r.choice([1e-6, 1e-5, 1e-12, 0.1]), rope_parameters=rope(r),
                  sliding_window=r.choice([None, 2, 3, 5, 100]))
    if head_dim:
        config["head_dim"] = head_dim
    return config


def draw_mixtral(r):
    config = draw_mistral(r)
    # (transformers' Mixtral rotary fails on YaRN and longrope without an explicit head_dim)
    config.setdefault("head_dim", config["hidden_size"] // config["num_attention_heads"])
    experts = r.choice([2, 3, 5, 8])
    config.update(num_local_experts=experts, num_experts_per_tok=r.randint(1, experts))
    return config


def qwen_windows(r, config):
    if r.random() < 0.6:
        config.update(use_sliding_window=True, sliding_window=r.choice([2, 3, 5]))
        if r.random() < 0.5:
            config["max_window_layers"] = r.randrange(0, config["num_hidden_layers"] + 1)
        else:
            config["layer_types"] = [r.choice(["full_attention", "sliding_attention"])
                                     for _ in range(config["num_hidden_layers"])]


def draw_qwen2(r):
    hidden, n, kv, head_dim = heads(r)
    config = dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv,
                  hidden_act=activation(r), rms_norm_eps=r.choice([1e-6, 1e-5, 1e-12, 0.1]), rope_parameters=rope(r))
    if head_dim:  # not a Qwen2Config field, but its attention and rotary read it from config.json
        config["head_dim"] = head_dim
    longrope(r, config, head_dim or hidden // n)
    qwen_windows(r, config)
    return config


def draw_qwen3(r):
    hidden, n, kv, head_dim = heads(r)
    config = dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv,
                  head_dim=head_dim or hidden // n, hidden_act=activation(r), rms_norm_eps=r.choice([1e-6, 1e-5, 1e-12, 0.1]),
                  attention_bias=r.random() < 0.4, rope_parameters=rope(r))
    qwen_windows(r, config)
    return config


def qwen_mixture(r, config, shared):
    """Qwen-MoE's mixture fields: experts, per-token count, renormalization, widths, dense layers (decoder_sparse_step,
    mlp_only_layers) and, for Qwen2-MoE, the shared expert."""
    layers = config["num_hidden_layers"]
    experts = r.choice([2, 4, 6, 8])
    config.update(num_experts=experts, num_experts_per_tok=r.randint(1, experts), norm_topk_prob=r.random() < 0.5,
                  moe_intermediate_size=r.choice([4, 8, 12, 20]), decoder_sparse_step=r.choice([1, 1, 2, 3]))
    if r.random() < 0.4:
        config["mlp_only_layers"] = sorted(r.sample(range(layers), r.randint(1, layers)))
    if shared:
        config["shared_expert_intermediate_size"] = r.choice([4, 8, 16, 24])
    return config


def draw_qwen2_moe(r):
    config = draw_qwen2(r)
    config["qkv_bias"] = r.random() < 0.8
    return qwen_mixture(r, config, shared=True)


def draw_qwen3_moe(r):
    return qwen_mixture(r, draw_qwen3(r), shared=False)


def gemma_common(r):
    hidden, n, kv, head_dim = heads(r)
    return dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv,
                head_dim=head_dim or hidden // n, rms_norm_eps=r.choice([1e-6, 1e-5, 1e-12, 0.1]), attention_bias=r.random() < 0.3)


def draw_gemma(r):
    config = dict(gemma_common(r), rope_parameters=rope(r))
    config["hidden_act" if r.random() < 0.5 else "hidden_activation"] = activation(r)
    return config


def layer_types(r, layers):
    return [r.choice(["full_attention", "sliding_attention"]) for _ in range(layers)]


def draw_gemma2(r):
    config = dict(gemma_common(r), hidden_activation=activation(r), rope_parameters=rope(r),
                  query_pre_attn_scalar=r.choice([4, 16, 24, 256]), sliding_window=r.choice([2, 3, 5]),
                  attn_logit_softcapping=r.choice([None, 5.0, 50.0]), final_logit_softcapping=r.choice([None, 3.0, 30.0]))
    if r.random() < 0.5:
        config["layer_types"] = layer_types(r, config["num_hidden_layers"])
    return config


def draw_gemma3_text(r):
    config = dict(gemma_common(r), hidden_activation=activation(r), query_pre_attn_scalar=r.choice([4, 16, 256]),
                  sliding_window=r.choice([2, 3, 5]), attn_logit_softcapping=r.choice([None, None, 5.0]),
                  final_logit_softcapping=r.choice([None, None, 3.0]))
    full, local = rope(r), rope(r, allowed=("default", "linear"))
    local["rope_theta"] = r.choice([10.0, 10000.0])
    config["rope_parameters"] = {"full_attention": full, "sliding_attention": local}
    if r.random() < 0.5:
        config["layer_types"] = layer_types(r, config["num_hidden_layers"])
    else:
        config["sliding_window_pattern"] = r.choice([1, 2, 3, 6])
    if r.random() < 0.1:
        config["use_bidirectional_attention"] = True
    return config


def draw_phi3(r):
    hidden, n, kv, head_dim = heads(r)
    config = dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv,
                  hidden_act=activation(r), rms_norm_eps=r.choice([1e-6, 1e-5, 1e-12, 0.1]),
                  partial_rotary_factor=r.choice([1.0, 1.0, 0.5, 0.75]), sliding_window=r.choice([None, 2, 3, 5]))
    if head_dim:  # read from config.json by Phi-3's attention and rotary
        config["head_dim"] = head_dim
    config["original_max_position_embeddings"] = config["max_position_embeddings"]
    theta = r.choice([10000.0, 250.0])
    if r.random() < 0.15:
        half = (head_dim or hidden // n) * config["partial_rotary_factor"] // 2
        config["rope_parameters"] = {"rope_type": "longrope", "rope_theta": theta, "short_factor": [1.0] * int(half),
                                     "long_factor": [2.0] * int(half)}
        config["original_max_position_embeddings"] = config["max_position_embeddings"] // 4
    else:
        config["rope_parameters"] = {"rope_type": "default", "rope_theta": theta}
    return config


def draw_gpt_neox(r):
    hidden, n, _, _ = heads(r, allow_head_dim=False)
    head_dim = hidden // n
    rotary = r.choice([p for p in [0.25, 0.5, 1.0, 0.75] if int(head_dim * p) % 2 == 0 and int(head_dim * p) > 0])
    parameters = rope(r, allowed=("default", "linear", "dynamic"))
    parameters["partial_rotary_factor"] = rotary
    return dict(common(r), hidden_size=hidden, num_attention_heads=n, hidden_act=activation(r),
                layer_norm_eps=r.choice([1e-5, 1e-3, 1e-12, 0.1]), use_parallel_residual=r.random() < 0.5,
                attention_bias=r.random() < 0.6, rope_parameters=parameters)


def draw_olmo2(r):
    hidden, n, kv, head_dim = heads(r)
    config = dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv, hidden_act=activation(r),
                  rms_norm_eps=r.choice([1e-6, 1e-5, 1e-12, 0.1]), attention_bias=r.random() < 0.4, rope_parameters=rope(r))
    if head_dim:  # read from config.json by OLMo-2's (and OLMo-3's) attention and rotary
        config["head_dim"] = head_dim
    return config


def draw_gpt2(r):
    n = r.choice([1, 2, 3, 4])
    return dict(vocab_size=r.choice([37, 64, 101, 257]), n_embd=n * r.choice([4, 8, 12]), n_head=n,
                n_layer=r.choice([1, 2, 3]), n_positions=r.choice([32, 64]), n_inner=r.choice([None, 12, 40]),
                activation_function=activation(r), layer_norm_epsilon=r.choice([1e-5, 1e-3, 1e-12, 0.1]),
                tie_word_embeddings=r.random() < 0.6, scale_attn_weights=r.random() < 0.8,
                scale_attn_by_inverse_layer_idx=r.random() < 0.3, reorder_and_upcast_attn=r.random() < 0.2,
                bos_token_id=1, eos_token_id=2)


def draw_phi(r):
    hidden, n, kv, _ = heads(r, allow_head_dim=False)
    parameters = rope(r)
    parameters["partial_rotary_factor"] = r.choice([0.4, 0.5, 0.5, 0.75, 1.0])
    return dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv, hidden_act=activation(r),
                layer_norm_eps=r.choice([1e-5, 1e-4, 1e-3, 1e-12]), qk_layernorm=r.random() < 0.5, rope_parameters=parameters)


def draw_olmo(r):
    hidden, n, kv, head_dim = heads(r)
    config = dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv, hidden_act=activation(r),
                  attention_bias=r.random() < 0.4, clip_qkv=r.choice([None, None, 0.5, 2.0, 8.0]), rope_parameters=rope(r))
    if head_dim:
        config["head_dim"] = head_dim
    return config


def draw_olmo3(r):
    config = draw_olmo2(r)
    full = config.pop("rope_parameters")
    sliding = rope(r, allowed=("default", "linear"))
    config.update(sliding_window=r.choice([2, 3, 5, 100]),
                  rope_parameters={"full_attention": full, "sliding_attention": sliding})
    if r.random() < 0.5:
        config["layer_types"] = layer_types(r, config["num_hidden_layers"])
    return config


def draw_smollm3(r):
    config = draw_llama(r)
    layers = config["num_hidden_layers"]
    roll = r.random()
    if roll < 0.4:
        config["no_rope_layers"] = [r.choice([0, 1]) for _ in range(layers)]
    elif roll < 0.8:
        config["no_rope_layer_interval"] = r.choice([1, 2, 3, 4])
    if r.random() < 0.5:
        config.update(use_sliding_window=True, sliding_window=r.choice([2, 3, 5]))
        if r.random() < 0.5:
            config["layer_types"] = layer_types(r, layers)
    return config


def draw_gemma3(r):
    """Gemma3ForConditionalGeneration: a gemma3_text model with a tiny SigLIP tower (never run: text only)."""
    text = draw_gemma3_text(r)
    vision = dict(hidden_size=16, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=16,
                  patch_size=8)
    return dict(text_config=text, vision_config=vision, mm_tokens_per_image=4,
                tie_word_embeddings=r.choice([True, False, text["tie_word_embeddings"]]))


def draw_olmoe(r):
    hidden, n, kv, _ = heads(r, allow_head_dim=False)
    experts = r.choice([2, 4, 6, 8])
    return dict(common(r), hidden_size=hidden, num_attention_heads=n, num_key_value_heads=kv, hidden_act=activation(r),
                attention_bias=r.random() < 0.3, clip_qkv=r.choice([None, None, 0.5, 2.0, 8.0]), rope_parameters=rope(r),
                num_experts=experts, num_experts_per_tok=r.randint(1, experts), norm_topk_prob=r.random() < 0.5,
                rms_norm_eps=r.choice([1e-5, 1e-6, 0.1]))


FAMILIES = {
    "gpt2": (transformers.GPT2Config, draw_gpt2),
    "llama": (transformers.LlamaConfig, draw_llama),
    "mistral": (transformers.MistralConfig, draw_mistral),
    "mixtral": (transformers.MixtralConfig, draw_mixtral),
    "qwen2": (transformers.Qwen2Config, draw_qwen2),
    "qwen3": (transformers.Qwen3Config, draw_qwen3),
    "gemma": (transformers.GemmaConfig, draw_gemma),
    "gemma2": (transformers.Gemma2Config, draw_gemma2),
    "gemma3_text": (transformers.Gemma3TextConfig, draw_gemma3_text),
    "phi3": (transformers.Phi3Config, draw_phi3),
    "gpt_neox": (transformers.GPTNeoXConfig, draw_gpt_neox),
    "olmo2": (transformers.Olmo2Config, draw_olmo2),
    "phi": (transformers.PhiConfig, draw_phi),
    "olmo": (transformers.OlmoConfig, draw_olmo),
    "olmo3": (transformers.Olmo3Config, draw_olmo3),
    "smollm3": (transformers.SmolLM3Config, draw_smollm3),
    "gemma3": (transformers.Gemma3Config, draw_gemma3),
    "olmoe": (transformers.OlmoeConfig, draw_olmoe),
    "qwen2_moe": (transformers.Qwen2MoeConfig, draw_qwen2_moe),
    "qwen3_moe": (transformers.Qwen3MoeConfig, draw_qwen3_moe),
}
MIXTURES = {"mixtral", "olmoe", "qwen2_moe", "qwen3_moe"}
# Model-types transformers loads and interp must refuse by model_type (none at present).
REFUSED_FAMILIES = set()
GGUF_FAMILIES = ["llama", "qwen2", "gemma2", "gemma3", "phi3", "gpt2", "smollm3", "olmo2", "olmoe", "mixtral", "qwen2moe",
                 "qwen3moe"]


# ---------------------------------------------------------------------------------------------------------------
# Running both implementations.

def inputs(r, vocab, max_positions):
    length = min(r.choice([6, 9, 13]), max_positions)
    short = r.randrange(1, length)
    batch = [[r.randrange(1, vocab) for _ in range(length)] for _ in range(2)]
    pad = length - short
    padded = [batch[0], [0] * pad + batch[1][:short]]
    mask = [[1] * length, [0] * pad + [1] * short]
    return batch, padded, mask


def transformers_logits(model, ids, mask=None):
    positions = None
    if mask is not None:
        positions = torch.tensor([[max(0, sum(row[:i + 1]) - 1) for i in range(len(row))] for row in mask])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(ids), attention_mask=None if mask is None else torch.tensor(mask),
                       position_ids=positions).logits
    return logits.float().numpy()


def transformers_incremental(model, ids, mask):
    """Logits of decoding one position at a time with transformers' cache (LongRoPE picks its frequencies by the
    positions of each call, so this differs from the full pass once a sequence outgrows the original context).
    The cache is built from the config (sliding layers keep their window), else a plain one: transformers' Qwen3-MoE
    windows every layer when use_sliding_window is set, while a cache built from its config follows layer_types and
    fails."""
    try:
        return incremental_with(model, ids, mask, transformers.DynamicCache(config=model.config))
    except RuntimeError:
        return incremental_with(model, ids, mask, transformers.DynamicCache())


def incremental_with(model, ids, mask, cache):
    steps = []
    with torch.no_grad():
        for p in range(len(ids[0])):
            output = model(input_ids=torch.tensor([[row[p]] for row in ids]),
                           attention_mask=torch.tensor([row[:p + 1] for row in mask]),
                           position_ids=torch.tensor([[max(0, sum(row[:p + 1]) - 1)] for row in mask]),
                           past_key_values=cache, use_cache=True)
            cache = output.past_key_values
            steps.append(output.logits)
    return torch.cat(steps, dim=1).float().numpy()


def interp_logits(interp, model_path, ids, mask, incremental, work):
    request = os.path.join(work, "request.json")
    result = os.path.join(work, "logits.json")
    with open(request, "w") as handle:
        json.dump({"input_ids": ids, "attention_mask": mask}, handle)
    command = [interp, "logits", "--model", model_path, "--input", request, "--output", result]
    if incremental:
        command.append("--incremental")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, "hang: no answer in 60 s"
    if done.returncode != 0:
        return None, (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}")[-600:]
    with open(result) as handle:
        return np.array(json.load(handle)["logits"], dtype=np.float32), None


def worst_error(ours, theirs, mask):
    real = np.array(mask, dtype=bool)
    difference = np.abs(ours - theirs)[real]
    return float(difference.max()), float(np.abs(theirs[real]).max())


def flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def config_keys(config):
    return set(flatten(config)) | {key.split(".")[-1] for key in flatten(config)} | set(config)


def clear_refusal(message, config):
    """Whether `message` is a refusal naming config.json and one of the fields the configuration sets."""
    if "config.json" not in message and ".gguf" not in message:
        return False
    return any(key in message for key in config_keys(config) if len(key) > 2)


def check(interp, model_path, config, reference, batch, padded, mask, tolerance, work):
    """(status, detail) for one saved model: "passed", "refused" or "failed"."""
    full_mask = [[1] * len(batch[0])] * len(batch)
    worst = []
    for name, ids, m, incremental in [("batch", batch, full_mask, False), ("left-padded", padded, mask, False),
                                      ("left-padded incremental", padded, mask, True)]:
        ours, error = interp_logits(interp, model_path, ids, m, incremental, work)
        if error is not None:
            if name == "batch" and clear_refusal(error, config):
                return "refused", error.splitlines()[-1]
            return "failed", f"{name}: {error}"
        expected = reference[name]
        if ours.shape != expected.shape:
            return "failed", f"{name}: logits shape {ours.shape}, transformers {expected.shape}"
        if not np.isfinite(ours[np.array(m, dtype=bool)]).all():
            return "failed", f"{name}: non-finite logits"
        error_value, scale = worst_error(ours, expected, m)
        worst.append(error_value / max(1.0, scale))
        if error_value > tolerance * max(1.0, scale):
            return "failed", f"{name}: max |Δ logit| {error_value:.3g} at logit scale {scale:.3g}"
    return "passed", max(worst)


def export_round_trip(interp, model_path, reference, batch, work):
    """(status, detail) of `interp export` of `model_path` read back by transformers: its logits on `batch` against
    the reference's (float32 export: the same values, 1e-4 of the logit scale)."""
    out = os.path.join(work, "export")
    shutil.rmtree(out, ignore_errors=True)
    try:
        done = subprocess.run([interp, "export", "--model", model_path, "--out", out], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return "failed", "export: hang: no answer in 60 s"
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip())[-400:]
        return ("refused", message) if "model_type" in message else ("failed", f"export: {message}")
    with open(os.path.join(out, "config.json")) as handle:
        experts = {"experts_implementation": "eager"} if json.load(handle)["model_type"] in MIXTURES else {}
    try:
        model = AutoModelForCausalLM.from_pretrained(out, attn_implementation="eager", dtype=torch.float32, **experts).eval()
        ours, expected = transformers_logits(model, batch), reference["batch"]
    except Exception as error:
        return "failed", f"export: transformers cannot run it: {type(error).__name__}: {error}"[:400]
    if ours.shape != expected.shape:
        return "failed", f"export: logits shape {ours.shape}, expected {expected.shape}"
    error_value, scale = worst_error(ours, expected, [[1] * len(batch[0])] * len(batch))
    if error_value > 1e-4 * max(1.0, scale):
        return "failed", f"export: transformers' logits of the export differ by {error_value:.3g} at logit scale {scale:.3g}"
    return "passed", error_value / max(1.0, scale)


def hooks_check(interp, model_path, work):
    """(status, detail): `interp trace` of a prompt of the checkpoint's tokenizer against transformers' eager
    attention patterns (`output_attentions`), residual stream after each layer but the last (`output_hidden_states`)
    and, for a mixture, router logits (`output_router_logits`), within 1e-4 of each one's scale."""
    text = "the cat sat on the mat hello world"
    done = subprocess.run([interp, "tokenize", "--model", model_path, "--json", "--text", text], capture_output=True,
                          text=True, timeout=60)
    if done.returncode != 0:
        return "failed", f"hooks: tokenize: {done.stderr.strip()[-300:]}"
    ids = [token["id"] for token in json.loads(done.stdout)["tokens"]]
    with open(os.path.join(model_path, "config.json")) as handle:
        saved = json.load(handle)
    experts = {"experts_implementation": "eager"} if saved["model_type"] in MIXTURES else {}
    model = AutoModelForCausalLM.from_pretrained(model_path, attn_implementation="eager", dtype=torch.float32,
                                                 **experts).eval()
    layers = model.config.get_text_config().num_hidden_layers
    options = dict(output_attentions=True, output_hidden_states=True)
    sparse = [l for l in range(layers) if experts and hasattr(model.model.layers[l].mlp, "gate")]
    if sparse:  # (transformers fails asked for the router logits of a model with none)
        options["output_router_logits"] = True
    with torch.no_grad():
        output = model(input_ids=torch.tensor([ids]), **options)
    expected = {f"blocks.{l}.attn.hook_pattern": output.attentions[l][0] for l in range(layers)}
    expected.update({f"blocks.{l}.hook_resid_post": output.hidden_states[l + 1][0] for l in range(layers - 1)})
    if sparse:
        routers = iter(output.router_logits)
        expected.update({f"blocks.{l}.mlp.hook_router_logits": next(routers) for l in sparse})
    command = [interp, "trace", "--model", model_path, "--prompt", text, "--values", "--json"]
    for name in expected:
        command += ["--hook", name]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return "failed", f"hooks: trace: {done.stderr.strip()[-300:]}"
    ours = {a["name"]: np.array(a["values"], dtype=np.float32) for a in json.loads(done.stdout)["activations"]}
    worst = 0.0
    for name, value in expected.items():
        theirs = value.float().numpy().reshape(-1)
        if name not in ours or ours[name].size != theirs.size:
            return "failed", f"hooks: {name}: {ours.get(name, np.zeros(0)).size} values, transformers {theirs.size}"
        error, scale = float(np.abs(ours[name] - theirs).max()), max(1.0, float(np.abs(theirs).max()))
        if error > 1e-4 * scale:
            return "failed", f"hooks: {name}: max |Δ| {error:.3g} at scale {scale:.3g}"
        worst = max(worst, error / scale)
    return "passed", worst


def older_layout(path, r):
    """Rewrites a saved config.json into the layout of checkpoints written by transformers 4: rope_theta and
    rope_scaling (with `type` or `rope_type`) instead of rope_parameters, torch_dtype instead of dtype."""
    with open(path) as handle:
        config = json.load(handle)
    parameters = config.get("rope_parameters")
    if config["model_type"] == "olmo3":
        # Olmo-3-7B's layout: rope_theta, and rope_scaling for the full-attention layers only.
        parameters = dict(config.pop("rope_parameters")["full_attention"])
        config["rope_theta"] = parameters.pop("rope_theta")
        kind = parameters.pop("rope_type", "default")
        config["rope_scaling"] = None if kind == "default" else dict(parameters, rope_type=kind)
    elif config["model_type"] in ("gemma3_text", "gemma3"):
        # Gemma 3's layout (every hub checkpoint): rope_theta and rope_scaling for the global layers,
        # rope_local_base_freq for the sliding ones, which transformers 4 rotated without scaling.
        text = config["text_config"] if config["model_type"] == "gemma3" else config
        nested = text.get("rope_parameters") or {}
        sliding = dict(nested.get("sliding_attention") or {"rope_type": "default"})
        if sliding.get("rope_type", "default") == "default" and "full_attention" in nested:
            full = dict(text.pop("rope_parameters")["full_attention"])
            text["rope_theta"] = full.pop("rope_theta", 1e6)
            if "rope_theta" in sliding or r.random() < 0.5:
                text["rope_local_base_freq"] = sliding.get("rope_theta", 10000.0)
            kind = full.pop("rope_type", "default")
            text["rope_scaling"] = None if kind == "default" else dict(full, **{"type" if r.random() < 0.5 else "rope_type": kind})
    elif config["model_type"] == "gpt_neox" and isinstance(parameters, dict):
        # Pythia's layout: rotary_pct and rotary_emb_base (absent: 0.25 and 10000), maybe a rope_scaling, and the
        # copy of rotary_emb_base as rope_theta that transformers 4 wrote; transformers 4 and 5 ignore rope_theta here.
        parameters = dict(config.pop("rope_parameters"))
        rotary, base = parameters.pop("partial_rotary_factor"), parameters.pop("rope_theta")
        if rotary != 0.25 or r.random() < 0.5:
            config["rotary_pct"] = rotary
        if base != 10000.0 or r.random() < 0.5:
            config["rotary_emb_base"] = base
            if r.random() < 0.5:
                config["rope_theta"] = base
        elif r.random() < 0.5:
            config["rope_theta"] = r.choice([100.0, 1e6])  # ignored by transformers
        kind = parameters.pop("rope_type", "default")
        if kind != "default" or parameters:
            parameters["type" if r.random() < 0.5 else "rope_type"] = kind
            config["rope_scaling"] = parameters
    elif isinstance(parameters, dict) and "rope_theta" in parameters and r.random() < 0.2:
        config["rope_scaling"] = r.choice([None, {}])  # yields to rope_parameters in transformers
    elif isinstance(parameters, dict) and "rope_theta" in parameters and config["model_type"] not in ("gpt_neox", "phi3"):
        parameters = dict(parameters)
        config.pop("rope_parameters")
        config["rope_theta"] = parameters.pop("rope_theta")
        kind = parameters.pop("rope_type", "default")
        if kind == "default" and not parameters:
            config["rope_scaling"] = None
        else:
            parameters["type" if r.random() < 0.5 else "rope_type"] = kind
            config["rope_scaling"] = parameters
            if r.random() < 0.2:  # a stale rope_parameters next to it: transformers reads rope_scaling
                config["rope_parameters"] = {"rope_type": "default", "rope_theta": 123.0}
    if "dtype" in config:
        config["torch_dtype"] = config.pop("dtype")
    with open(path, "w") as handle:
        json.dump(config, handle, indent=2)


def top_level_original_context(path, r):
    """Adds a top-level original_max_position_embeddings to a config.json whose single llama3 or YaRN rotary object
    sets its own (removed half of the time): transformers 5 prefers the top-level value, as it does for Phi-3."""
    with open(path) as handle:
        config = json.load(handle)
    for key in ("rope_parameters", "rope_scaling"):
        parameters = config.get(key)
        kind = (parameters or {}).get("rope_type", (parameters or {}).get("type"))
        if kind in ("llama3", "yarn") and "original_max_position_embeddings" not in config:
            config["original_max_position_embeddings"] = r.choice([4, 8, 16, 32])
            if r.random() < 0.5:
                parameters.pop("original_max_position_embeddings", None)
            with open(path, "w") as handle:
                json.dump(config, handle, indent=2)
            return


def hub_text_config(path):
    """Rewrites a saved gemma3 config.json as the hub's checkpoints hold it: text_config keeps only the fields that
    differ from Gemma3TextConfig's defaults."""
    with open(path) as handle:
        config = json.load(handle)
    defaults = transformers.Gemma3TextConfig().to_dict()
    config["text_config"] = {key: value for key, value in config["text_config"].items()
                             if key == "model_type" or defaults.get(key, "<absent>") != value}
    with open(path, "w") as handle:
        json.dump(config, handle, indent=2)


def save_and_reference(config_class, config_kwargs, dtype, seed, directory, r):
    config = config_class(**config_kwargs)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager").float().eval()
    randomize(model, seed)
    model.to(dtype).save_pretrained(directory)
    generation = os.path.join(directory, "generation_config.json")
    if os.path.exists(generation):
        os.remove(generation)
    shutil.copy(TOKENIZER, os.path.join(directory, "tokenizer.json"))
    if r.random() < 0.3:
        older_layout(os.path.join(directory, "config.json"), r)
    if r.random() < 0.3:
        top_level_original_context(os.path.join(directory, "config.json"), r)
    if config.model_type == "gemma3" and r.random() < 0.5:
        hub_text_config(os.path.join(directory, "config.json"))
    # The experts' eager loop (the default grouped_mm refuses widths whose rows are not 16-byte aligned).
    experts = {"experts_implementation": "eager"} if config.model_type in MIXTURES else {}
    reloaded = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32,
                                                    **experts).eval()
    text = config.get_text_config()
    max_positions = getattr(text, "max_position_embeddings", None) or getattr(text, "n_positions")
    batch, padded, mask = inputs(r, text.vocab_size, max_positions)
    reference = {"batch": transformers_logits(reloaded, batch), "left-padded": transformers_logits(reloaded, padded, mask),
                 "left-padded incremental": transformers_incremental(reloaded, padded, mask)}
    with open(os.path.join(directory, "config.json")) as handle:
        saved = json.load(handle)
    return saved, reference, batch, padded, mask


def defaults(config_class):
    return flatten(config_class().to_dict())


def config_diff(config_class, saved, base):
    flat = flatten(saved)
    skip = {"architectures", "transformers_version", "dtype", "torch_dtype", "use_cache", "bos_token_id",
            "eos_token_id", "pad_token_id"}
    return {k: v for k, v in flat.items() if k not in skip and base.get(k, "<absent>") != v}


# ---------------------------------------------------------------------------------------------------------------
# GGUF.

def gguf_model(family, r, seed, directory):
    """Writes a random GGUF of `family` (llama, qwen2, gemma2, gemma3, phi3, gpt2, smollm3, olmo2) into `directory`;
    returns (file, config, the keyword arguments transformers' GGUF loading needs: the config values it does not read
    from the file). For smollm3 and olmo2, which transformers' GGUF loader does not read, the third value is instead
    the transformers model written, holding the values the file stores (dequantized by gguf-py)."""
    import make_gguf_fixtures as g
    from gguf import GGMLQuantizationType as Q
    types = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]
    tensor_types = lambda name: r.choice(types)
    n_heads = r.choice([2, 4])
    kv = r.choice([d for d in range(1, n_heads + 1) if n_heads % d == 0])
    file_name = f"{family}.gguf"
    if family in GGUF_MIXTURES:
        return gguf_mixture(family, r, seed, directory, file_name, tensor_types, n_heads, kv)
    if family == "smollm3":
        # llama.cpp leaves the rotary out of every 4th layer, transformers' default no_rope_layer_interval.
        size = len(g.vocabulary(g.load_tokenizer_json("llama2"))[0])
        kwargs = dict(vocab_size=size, hidden_size=n_heads * 16 * r.choice([1, 2]), intermediate_size=32 * r.choice([1, 2]),
                      num_hidden_layers=r.choice([1, 3, 4, 5]), num_attention_heads=n_heads, num_key_value_heads=kv,
                      max_position_embeddings=128, rms_norm_eps=r.choice([1e-5, 1e-6]),
                      rope_parameters={"rope_type": "default", "rope_theta": r.choice([500.0, 2e6])},
                      tie_word_embeddings=r.random() < 0.5, pad_token_id=0, bos_token_id=1, eos_token_id=2)
        model = transformers.SmolLM3ForCausalLM(transformers.SmolLM3Config(**kwargs)).float().eval()
        randomize(model, seed)
        stored = g.write_model(file_name, family, model, model.config, tensor_types,
                               lambda w: g.add_sentencepiece_vocabulary(w, "llama2"), permute=True, directory=directory)
        model.load_state_dict(stored, strict=False)
        return file_name, kwargs, model
    if family == "olmo2":
        kwargs = dict(vocab_size=r.choice([64, 101, 259]), hidden_size=n_heads * 16 * r.choice([1, 2]),
                      intermediate_size=32 * r.choice([1, 2]), num_hidden_layers=r.choice([1, 2, 3]),
                      num_attention_heads=n_heads, num_key_value_heads=kv, max_position_embeddings=128,
                      rms_norm_eps=r.choice([1e-5, 1e-6]), rope_parameters={"rope_type": "default", "rope_theta": r.choice([500.0, 5e5])},
                      tie_word_embeddings=r.random() < 0.5, pad_token_id=0, bos_token_id=1, eos_token_id=2)
        model = transformers.Olmo2ForCausalLM(transformers.Olmo2Config(**kwargs)).float().eval()
        randomize(model, seed)
        weights = {name: value.numpy() for name, value in model.state_dict().items()}
        model.load_state_dict(g.write_olmo2(file_name, model.config.to_dict(), weights, tensor_types, directory=directory),
                              strict=False)
        return file_name, kwargs, model
    if family in ("llama", "qwen2"):
        head_dim = 32 * r.choice([1, 2])
        vocab_name = "llama2" if family == "llama" else "qwen2"
        size = len(g.vocabulary(g.load_tokenizer_json(vocab_name))[0])
        kwargs = dict(vocab_size=size, hidden_size=n_heads * head_dim, intermediate_size=32 * r.choice([2, 3, 4]),
                      num_hidden_layers=r.choice([1, 2]), num_attention_heads=n_heads, num_key_value_heads=kv,
                      max_position_embeddings=128, rms_norm_eps=r.choice([1e-5, 1e-6]),
                      rope_theta=r.choice([10000.0, 1e6]), tie_word_embeddings=r.random() < 0.5)
        config = (transformers.LlamaConfig if family == "llama" else transformers.Qwen2Config)(**kwargs)
        model = AutoModelForCausalLM.from_config(config).float().eval()
        randomize(model, seed)
        if family == "llama":
            add = lambda w: g.add_sentencepiece_vocabulary(w, "llama2")
        else:
            add = lambda w: g.add_byte_level_vocabulary(w, "qwen2", "qwen2", "<|endoftext|>", "<|im_end|>", False)
        g.write_model(file_name, family, model, config, tensor_types, add, permute=family == "llama", directory=directory)
    elif family == "phi3":
        size = len(g.vocabulary(g.load_tokenizer_json("llama2"))[0])
        kwargs = dict(vocab_size=size, hidden_size=n_heads * 32 * r.choice([1, 2]), intermediate_size=32 * r.choice([2, 3]),
                      num_hidden_layers=r.choice([1, 2]), num_attention_heads=n_heads, num_key_value_heads=kv,
                      max_position_embeddings=128, rms_norm_eps=r.choice([1e-5, 1e-6]),
                      rope_theta=r.choice([10000.0, 1e6]), tie_word_embeddings=r.random() < 0.5, pad_token_id=0)
        model = transformers.Phi3ForCausalLM(transformers.Phi3Config(**kwargs)).float().eval()
        randomize(model, seed)
        g.write_phi3(file_name, model, model.config, tensor_types, directory=directory)
        return file_name, kwargs, {"pad_token_id": 0}
    elif family == "gpt2":
        size = len(g.vocabulary(g.load_tokenizer_json("gpt2"))[0])
        kwargs = dict(vocab_size=size, n_embd=n_heads * 16 * r.choice([1, 2]), n_layer=r.choice([1, 2]), n_head=n_heads,
                      n_positions=128, n_ctx=128, layer_norm_epsilon=r.choice([1e-5, 1e-6]))
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**kwargs)).float().eval()
        randomize(model, seed)
        g.write_gpt2(file_name, model, model.config, r.random() < 0.5, tensor_types, directory=directory)
        return file_name, kwargs, {"n_positions": 128}
    else:
        size = g.add_gemma_vocabulary(g.GGUFWriter(os.devnull, "gemma"))
        head_dim = 32
        kwargs = dict(vocab_size=size, hidden_size=32 * r.choice([1, 2]), intermediate_size=32 * r.choice([2, 3]),
                      num_attention_heads=n_heads, num_key_value_heads=kv, head_dim=head_dim,
                      num_hidden_layers=r.choice([2, 3]), max_position_embeddings=64, rms_norm_eps=1e-6,
                      sliding_window=r.choice([3, 4]), pad_token_id=0, eos_token_id=1, bos_token_id=2)
        config = (transformers.Gemma2Config if family == "gemma2" else transformers.Gemma3TextConfig)(**kwargs)
        model = AutoModelForCausalLM.from_config(config).float().eval()
        randomize(model, seed)
        g.write_gemma(file_name, family, model, config, tensor_types=tensor_types, directory=directory)
    return file_name, kwargs, {}


GGUF_MIXTURES = {"olmoe": transformers.OlmoeConfig, "mixtral": transformers.MixtralConfig,
                 "qwen2moe": transformers.Qwen2MoeConfig, "qwen3moe": transformers.Qwen3MoeConfig}


def gguf_mixture(family, r, seed, directory, file_name, tensor_types, n_heads, kv):
    """A random mixture of experts written as llama.cpp's converter writes it (make_gguf_moe_fixtures.write_moe:
    olmoe; Mixtral as `llama` with stacked or per-expert tensors; qwen2moe with its shared expert; qwen3moe with
    head_dim unlike hidden / heads); returns (file, config, the transformers model holding the stored values)."""
    import make_gguf_fixtures as g
    import make_gguf_moe_fixtures as moe
    qwen = family.startswith("qwen")
    experts = r.choice([2, 3, 4, 6, 8])
    head_dim = r.choice([16, 32]) if family != "qwen3moe" else r.choice([8, 16, 32])
    hidden = n_heads * head_dim if family != "qwen3moe" else 32 * r.choice([1, 2, 4])
    kwargs = dict(vocab_size=moe.QWEN_VOCABULARY if qwen else moe.VOCABULARY, hidden_size=hidden,
                  intermediate_size=32 * r.choice([1, 2, 3]), num_hidden_layers=r.choice([1, 2, 3]),
                  num_attention_heads=n_heads, num_key_value_heads=kv, max_position_embeddings=128,
                  rms_norm_eps=r.choice([1e-5, 1e-6]), rope_theta=r.choice([10000.0, 1e6]),
                  num_experts_per_tok=r.randint(1, experts), tie_word_embeddings=r.random() < 0.5,
                  bos_token_id=1, eos_token_id=2)
    kwargs["num_local_experts" if family == "mixtral" else "num_experts"] = experts
    if family != "mixtral":
        kwargs["norm_topk_prob"] = r.random() < 0.5
    if qwen:
        kwargs["moe_intermediate_size"] = 32 * r.choice([1, 2])
    if family == "qwen2moe":
        kwargs.update(shared_expert_intermediate_size=32 * r.choice([1, 2, 3]), qkv_bias=True)
    if family == "qwen3moe":
        kwargs["head_dim"] = head_dim
    if family == "mixtral":
        kwargs["sliding_window"] = None
    model = AutoModelForCausalLM.from_config(GGUF_MIXTURES[family](**kwargs)).float().eval()
    model.set_experts_implementation("eager")
    randomize(model, seed)
    add = moe.add_qwen_vocabulary if qwen else (lambda w: g.add_sentencepiece_vocabulary(w, "llama2"))
    moe.write_moe(file_name, "llama" if family == "mixtral" else family, model, model.config, tensor_types,
                  split_experts=family == "mixtral" and r.random() < 0.5, directory=directory, add_vocabulary=add,
                  squeeze_shared_gate=family == "qwen2moe" and r.random() < 0.5)
    return file_name, kwargs, model


def sweep_gguf(interp, families, count, seed, work, rows, failures, export=False):
    for family in families:
        tried = passed = refused = failed = 0
        worst = 0.0
        for index in range(count):
            r = random.Random(f"gguf-{seed}-{family}-{index}")
            directory = os.path.join(work, f"gguf-{family}-{index}")
            os.makedirs(directory, exist_ok=True)
            try:
                file_name, kwargs, loaded = gguf_model(family, r, 1000 + index, directory)
                model = loaded if isinstance(loaded, torch.nn.Module) else AutoModelForCausalLM.from_pretrained(
                    directory, gguf_file=file_name, dtype=torch.float32, **loaded).eval()
            except Exception as error:  # transformers cannot load what we wrote: not our bug, but say so
                print(f"  gguf {family} #{index}: skipped, transformers cannot load it: {error}", file=sys.stderr)
                continue
            tried += 1
            batch, padded, mask = inputs(r, kwargs["vocab_size"], 64)
            reference = {"batch": transformers_logits(model, batch), "left-padded": transformers_logits(model, padded, mask),
                         "left-padded incremental": transformers_incremental(model, padded, mask)}
            status, detail = check(interp, os.path.join(directory, file_name), kwargs, reference, batch, padded, mask,
                                   1e-4, work)
            if status == "passed" and export:
                status, exported = export_round_trip(interp, os.path.join(directory, file_name), reference, batch, work)
                detail = detail if status == "passed" else exported
            if status == "passed":
                passed += 1
                worst = max(worst, detail)
            elif status == "refused":
                refused += 1
                print(f"  gguf {family} #{index}: refused: {detail}")
            else:
                failed += 1
                failures.append((f"gguf {family} #{index}", detail, kwargs, directory))
        rows.append((f"{family} (GGUF)", tried, passed, refused, failed, f"{worst:.1e}"))


# ---------------------------------------------------------------------------------------------------------------
# MLX (run under a Python with mlx and mlx-lm: .venv-mlx/bin/python).

# (not olmo3: make_mlx_fixtures.older_layout writes its sliding layers' theta as rope_local_base_freq, which
# transformers' OLMo-3 does not read)
MLX_FAMILIES = ["llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen2_moe", "qwen3_moe", "olmoe", "gemma", "gemma2",
                "gemma3_text", "phi3", "gpt_neox", "olmo2", "phi", "smollm3", "gpt2"]
# mlx's modes: (group sizes, bits).
MLX_MODES = {"affine": ([32, 64, 128], [1, 2, 3, 4, 5, 6, 8]), "mxfp4": ([32], [4]), "mxfp8": ([32], [8]),
             "nvfp4": ([16], [4])}


def mlx_setting(r, mode=None):
    mode = mode or r.choice(["affine", "affine", "affine", "mxfp4", "mxfp8", "nvfp4"])
    groups, bits = MLX_MODES[mode]
    return {"group_size": r.choice(groups), "bits": r.choice(bits), "mode": mode}


def mlx_draw(family, r):
    """A random configuration of `family` whose widths are often multiples of the group sizes (mlx-lm leaves a
    module unquantized when its input width is not a multiple of the group size), vocabulary >= 256 (the prompts of
    make_mlx_fixtures.source_model)."""
    kwargs = FAMILIES[family][1](r)
    vocab = r.choice([256, 259, 300, 384])
    if family == "gpt2":
        n = kwargs["n_head"]
        kwargs.update(vocab_size=vocab, n_embd=n * r.choice([16, 32]) if r.random() < 0.7 else kwargs["n_embd"])
        # mlx-lm's GPT-2 needs n_ctx, ties its embeddings and has a 4 * n_embd MLP
        kwargs.update(n_ctx=kwargs["n_positions"], tie_word_embeddings=True, n_inner=None)
        return kwargs
    kwargs["vocab_size"] = vocab
    # What mlx-lm's models cannot read: Phi's tied unembedding and q/k norms, Qwen3's attention biases, Gemma's
    # untied unembedding, Qwen2-MoE's dense layers.
    if family == "phi":
        kwargs.update(tie_word_embeddings=False, qk_layernorm=False)
    if family == "qwen3":
        kwargs["attention_bias"] = False
    if family.startswith("gemma"):
        kwargs["tie_word_embeddings"] = True
    if family == "qwen2_moe":
        kwargs.pop("mlp_only_layers", None)
        kwargs["decoder_sparse_step"] = 1
    if r.random() < 0.7:
        n, kv = r.choice([(2, 1), (2, 2), (4, 1), (4, 2), (4, 4), (8, 2)])
        head_dim = r.choice([16, 32]) if family not in ("gpt_neox", "phi") else 128 // n
        kwargs.update(hidden_size=n * head_dim, num_attention_heads=n, intermediate_size=r.choice([32, 64, 96, 128]))
        if "num_key_value_heads" in kwargs:
            kwargs["num_key_value_heads"] = kv
        if "head_dim" in kwargs:
            kwargs["head_dim"] = head_dim
        for key in ("moe_intermediate_size", "shared_expert_intermediate_size"):
            if key in kwargs:
                kwargs[key] = r.choice([16, 32, 64])
        parameters = kwargs.get("rope_parameters", {})
        for inner in [parameters] + [v for v in parameters.values() if isinstance(v, dict)]:
            if inner.get("rope_type") == "longrope":   # one factor per rotated pair
                inner["short_factor"] = inner["short_factor"][:1] * (head_dim // 2)
                inner["long_factor"] = inner["long_factor"][:1] * (head_dim // 2)
    if family == "gpt_neox":   # mlx-lm's GPT-NeoX MLP is 4 * hidden_size wide
        kwargs["intermediate_size"] = 4 * kwargs["hidden_size"]
    return kwargs


def mlx_predicate(r, base):
    """A quant_predicate for mlx_lm.convert: per module quantized by the base setting, left unquantized, or
    overridden (another affine width and group, or a microscaling mode), whenever the module's width allows."""
    choices = {}

    def predicate(path, module):
        if path not in choices:
            width = module.weight.shape[-1]
            override = mlx_setting(r)
            roll = r.random()
            if roll < 0.1:
                choices[path] = False
            elif roll < 0.4 and width % override["group_size"] == 0:
                choices[path] = override
            else:
                choices[path] = True
        return choices[path]
    return predicate


def sweep_mlx(interp, count, seed, work, rows, failures, export=False):
    import make_mlx_fixtures as m
    from mlx_lm import convert
    import contextlib
    import io
    tried = passed = refused = failed = 0
    worst = 0.0
    for index in range(count):
        r = random.Random(f"mlx-{seed}-{index}")
        family = r.choice(MLX_FAMILIES)
        kwargs = mlx_draw(family, r)
        base = mlx_setting(r)
        recipe = mlx_predicate(r, base) if r.random() < 0.5 else None
        dtype = r.choice(["float32", "bfloat16", "float16"])
        directory = os.path.join(work, f"mlx-{index}")
        shutil.rmtree(directory, ignore_errors=True)
        source, converted = os.path.join(directory, "source"), os.path.join(directory, "converted")
        name = f"mlx #{index} {family} {base['mode']} {base['bits']}-bit g{base['group_size']}"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                model = m.source_model(family, kwargs, 700 + index, source)
                if family in MIXTURES:
                    model.set_experts_implementation("eager")
                convert(source, mlx_path=converted, quantize=True, q_bits=base["bits"], q_group_size=base["group_size"],
                        q_mode=base["mode"], quant_predicate=recipe, dtype=dtype)
                quantized = m.load_dequantized(model, family, converted)
                batch, padded, mask = inputs(r, kwargs["vocab_size"], 32)
                reference = {"batch": transformers_logits(model, batch),
                             "left-padded": transformers_logits(model, padded, mask),
                             "left-padded incremental": transformers_incremental(model, padded, mask)}
        except Exception as error:  # transformers or mlx-lm cannot make it: not our bug, but say so
            print(f"  {name}: skipped, transformers or mlx-lm cannot make it: {type(error).__name__}: {error}"[:300],
                  file=sys.stderr)
            continue
        tried += 1
        config = json.load(open(os.path.join(converted, "config.json")))
        status, detail = check(interp, converted, config, reference, batch, padded, mask, 1e-4, work)
        if status == "passed" and export:
            status, exported = export_round_trip(interp, converted, reference, batch, work)
            detail = detail if status == "passed" else exported
        if status == "passed":
            passed += 1
            worst = max(worst, detail)
            print(f"  {name}: passed ({quantized} quantized modules{', per-module choices' if recipe else ''}, {dtype})")
        elif status == "refused":
            refused += 1
            print(f"  {name}: refused: {detail}")
        else:
            failed += 1
            failures.append((name + f" ({dtype}, {quantized} quantized modules)", detail, config, directory))
    rows.append(("MLX", tried, passed, refused, failed, f"{worst:.1e}"))


# ---------------------------------------------------------------------------------------------------------------
# Tokenizers.

TOKENIZER_FIXTURES = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures", "tokenizers")
PIECES = ["the", "The", " cat", "sat", "on", " mat", "hello", "world", "don't", "we'll", "I'M", "123", "4567890",
          "3.14", "café", "naïve", "Ωmega", "日本語", "中文字", "한국어", "ру́сский", "עברית", "العربية", "ﷺ", "🤖", "🚀",
          "👩‍💻", "🇫🇷", "e\u0301", "ﬁ", "Ⅻ", "①", "ǅ", "ß", "İ", "\u200b", "\u200d", "\ufeff", "\x01", "\x07",
          "\x1b", "\x7f", "\ufffd", "<", ">", "</", "<s", "s>", "##", "▁", "Ġ", "Ċ", "@@", "\\", "$$", "...", "—", "’",
          "-", "_", "=", "+", "*", "#"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n ", "\u00a0", "\u3000", "\u2009", "\x0b", "\x0c",
          "\u2028", "\u0085"]


RARE = ["\ufe0f", "\ue000", "\U000f0000", "\ufffe", "\uffff", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\u0345",
        "\u1e9e", "\u0130\u0307", "\u2126", "\u212b", "\uff21\uff22", "\u00bd", "\u2002", "\u180e", "\u3164",
        "\U0001d400", "\u0f0b", "\u0e01\u0e31", "\u094d", "\u200c", "\u2066\u2069", "\u00ad", "\u034f"]


def long_word(r):
    """A word of 30 to 400 characters: one letter repeated, random letters, digits, one CJK character or emoji."""
    length = r.randrange(30, 400)
    kind = r.randrange(5)
    if kind == 0:
        return r.choice("aZé日🤖") * length
    if kind == 1:
        return "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEF") for _ in range(length))
    if kind == 2:
        return "".join(r.choice("0123456789") for _ in range(length))
    if kind == 3:
        return "".join(r.choice("ab'-_.") for _ in range(length))
    return "".join(chr(r.randrange(0x4E00, 0x9FFF)) for _ in range(length // 4))


def random_text(r, specials):
    parts = []
    for _ in range(r.randrange(1, 14)):
        roll = r.random()
        if roll < 0.05:
            parts.append(long_word(r))
        elif roll < 0.12:
            parts.append(r.choice(RARE))
        elif roll < 0.45:
            parts.append(r.choice(PIECES))
        elif roll < 0.8:
            parts.append(r.choice(SPACES))
        elif roll < 0.9 and specials:
            parts.append(r.choice(specials))
        else:
            parts.append("".join(chr(r.choice([r.randrange(32, 127), r.randrange(0xA0, 0x2FFF), r.randrange(0x1F300, 0x1FAFF)]))
                                 for _ in range(r.randrange(1, 4))))
    return "".join(parts)


def sweep_tokenizers(interp, count, seed, work, rows, failures):
    """Random texts through every fixture tokenizer: `interp tokenize` against the tokenizers library (with and
    without special tokens)."""
    from tokenizers import Tokenizer
    model_files = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures", "models", "llama_gqa")
    for name in sorted(os.listdir(TOKENIZER_FIXTURES)):
        source = os.path.join(TOKENIZER_FIXTURES, name)
        directory = os.path.join(work, f"tokenizer-{name}")
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for file in ["config.json", "model.safetensors"]:
            shutil.copy(os.path.join(model_files, file), directory)
        for file in ["tokenizer.json", "tokenizer_config.json"]:
            if os.path.exists(os.path.join(source, file)):
                shutil.copy(os.path.join(source, file), directory)
        reference = Tokenizer.from_file(os.path.join(source, "tokenizer.json"))
        with open(os.path.join(source, "tokenizer.json"), encoding="utf-8") as handle:
            specials = [added["content"] for added in json.load(handle).get("added_tokens", [])]
        tried = passed = failed = 0
        r = random.Random(f"tokenizers-{seed}-{name}")
        for _ in range(count):
            text = random_text(r, specials)
            tried += 1
            problems = []
            for special in (True, False):
                # "--text=VALUE" for a text starting with "-" (else read as an option); "--text VALUE" otherwise, as
                # ArgumentParser does not split "--text=" before a combining scalar such as U+200D.
                text_arguments = [f"--text={text}"] if text.startswith("-") else ["--text", text]
                command = [interp, "tokenize", "--model", directory, *text_arguments, "--json"]
                if not special:
                    command.append("--no-special-tokens")
                try:
                    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
                except subprocess.TimeoutExpired:
                    problems.append(f"special={special}: hang")
                    continue
                expected = reference.encode(text, add_special_tokens=special).ids
                if done.returncode != 0:
                    problems.append(f"special={special}: {done.stderr.strip()[-300:]}")
                    continue
                ours = [token["id"] for token in json.loads(done.stdout)["tokens"]]
                if ours != expected:
                    problems.append(f"special={special}: ours {ours} tokenizers {expected}")
            if problems:
                failed += 1
                failures.append((f"tokenizer {name}", "; ".join(problems)[:800], {"text": text}, directory))
            else:
                passed += 1
        rows.append((f"tokenizer {name}", tried, passed, 0, failed, ""))


# ---------------------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=4, help="configurations per family")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated model_types")
    parser.add_argument("--gguf", type=int, default=0, help="random GGUF files per GGUF family")
    parser.add_argument("--gguf-families", default=",".join(GGUF_FAMILIES), help="comma-separated GGUF architectures")
    parser.add_argument("--hooks", action="store_true",
                        help="also compare attention patterns, the residual stream and router logits with transformers'")
    parser.add_argument("--export", action="store_true",
                        help="also export each passing checkpoint with `interp export` and compare transformers' logits of it")
    parser.add_argument("--mlx", type=int, default=0, help="random mlx-lm quantized checkpoints (needs mlx, mlx-lm)")
    parser.add_argument("--tokenizers", type=int, default=0, help="random texts per fixture tokenizer")
    parser.add_argument("--interp", default=os.path.join(ROOT, ".build", "release", "interp"))
    parser.add_argument("--keep", help="keep the checkpoints in this directory (default: a temporary one, deleted)")
    arguments = parser.parse_args()
    torch.set_grad_enabled(False)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    work = arguments.keep or tempfile.mkdtemp(prefix="sweep-")
    os.makedirs(work, exist_ok=True)
    rows, failures = [], []
    for family in filter(None, arguments.families.split(",")):
        config_class, draw = FAMILIES[family]
        base = defaults(config_class)
        tried = passed = refused = failed = exports_refused = 0
        worst = {"fp32": 0.0, "16-bit": 0.0}
        for index in range(arguments.n):
            r = random.Random(f"{arguments.seed}-{family}-{index}")
            kwargs = draw(r)
            dtype = r.choice([torch.float32, torch.float32, torch.bfloat16, torch.float16])
            directory = os.path.join(work, f"{family}-{index}")
            shutil.rmtree(directory, ignore_errors=True)
            try:
                saved, reference, batch, padded, mask = save_and_reference(config_class, kwargs, dtype, 500 + index,
                                                                            directory, r)
            except Exception as error:
                print(f"  {family} #{index}: skipped, transformers refuses it: {type(error).__name__}: {error}"[:300],
                      file=sys.stderr)
                continue
            tried += 1
            tolerance = 1e-4 if dtype == torch.float32 else 1e-3
            status, detail = check(arguments.interp, directory, saved, reference, batch, padded, mask, tolerance, work)
            if family in REFUSED_FAMILIES:
                expected = status == "refused" or (f"model_type '{family}'" in detail)
                status = "refused" if expected else "failed"
            if status == "passed" and arguments.hooks:
                status, hooks_detail = hooks_check(arguments.interp, directory, work)
                detail = detail if status == "passed" else hooks_detail
            if status == "passed" and arguments.export:
                status, detail_export = export_round_trip(arguments.interp, directory, reference, batch, work)
                if status == "refused":
                    exports_refused += 1
                    status = "passed"
                elif status == "failed":
                    detail = detail_export
            if status == "passed":
                passed += 1
                kind = "fp32" if dtype == torch.float32 else "16-bit"
                worst[kind] = max(worst[kind], detail)
            elif status == "refused":
                refused += 1
                print(f"  {family} #{index}: refused: {detail}")
            else:
                failed += 1
                failures.append((f"{family} #{index} ({str(dtype).split('.')[-1]})", detail,
                                 config_diff(config_class, saved, base), directory))
        exports = f" ({exports_refused} exports refused)" if exports_refused else ""
        rows.append((family, tried, passed, refused, failed, f"{worst['fp32']:.1e} / {worst['16-bit']:.1e}{exports}"))
    if arguments.gguf:
        sweep_gguf(arguments.interp, arguments.gguf_families.split(","), arguments.gguf, arguments.seed, work, rows,
                   failures, arguments.export)

    if arguments.mlx:
        sweep_mlx(arguments.interp, arguments.mlx, arguments.seed, work, rows, failures, arguments.export)

    if arguments.tokenizers:
        sweep_tokenizers(arguments.interp, arguments.tokenizers, arguments.seed, work, rows, failures)

    print(f"\n{'family':<30}{'tried':>7}{'passed':>8}{'refused':>9}{'failed':>8}   worst |Δ|/scale (fp32 / 16-bit)")
    for family, tried, passed, refused, failed, worst in rows:
        print(f"{family:<30}{tried:>7}{passed:>8}{refused:>9}{failed:>8}   {worst}")
    for name, detail, diff, directory in failures:
        print(f"\nFAILED {name}: {detail}\n  directory: {directory}\n  options: {json.dumps(diff, sort_keys=True)}")
    if not arguments.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
