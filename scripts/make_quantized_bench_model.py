"""Writes quantized random-weight checkpoints of a bench shape, each with its dequantized float32 twin, so that the
speed and memory of a quantized forward pass can be compared with the fp32 run of the very same values (never
committed).

Run (from the repository root; needs numpy, safetensors and gguf; downloads nothing):

    python3 scripts/make_quantized_bench_model.py [--output /tmp/interp-quant] [--model smollm2-135m-shape]
        [--formats mlx4 mlx8 q8_0 q4_0 q4_k iq4_xs iq4_nl iq3_s ... iq1_m f16 bf16]

For each format it writes, under --output:
  - `<model>-<format>`: the quantized checkpoint. `mlx4` / `mlx8`: a Hugging Face directory quantized by MLX's
    affine rule (group size 64, float16 scales and biases, tied embeddings quantized too), as mlx-lm stores it.
    `q8_0`, `q4_0`: a llama.cpp GGUF file `model.gguf` quantized by `gguf.quants.quantize`, with q/k rows permuted
    as convert_hf_to_gguf does and a synthetic SentencePiece vocabulary of the model's size. `q4_k`: the same with
    every matrix whose rows are whole 256-value blocks Q4_K, the others Q5_0 (llama.cpp's fallback); gguf cannot
    quantize K-quants, so their blocks are random codes with sane scales. `iq4_xs`, `iq3_s`, ..., `iq1_m`: likewise
    that i-quant, IQ4_NL where rows are not whole 256-value blocks (llama.cpp's fallback), random codes with scales
    for values of std 0.02; `iq4_nl` everywhere. `f16`, `bf16`: every matrix GGUF F16 or
    BF16 (for `--compute bf16` against `--compute float32`).
  - `<model>-<format>-fp32`: a float32 Hugging Face directory holding the values a reader recovers from that file
    (dequantized here in numpy or by `gguf.quants.dequantize`, q/k rows un-permuted).
Weights are drawn as scripts/make_bench_model.py draws them (normal, std 0.02; norm gains 1 + N(0, 0.02)). Both
directories carry the embedded default model's word-level tokenizer and task file, as the bench models do.

Then, for example:

    interp bench --suite forward,memory --model /tmp/interp-quant/smollm2-135m-shape-q4_0/model.gguf
    interp bench --suite forward,memory --model /tmp/interp-quant/smollm2-135m-shape-q4_0-fp32
"""
import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter, TokenType
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_bench_model import DEFAULT_MODEL, MODELS, blocks  # noqa: E402
from make_fixtures import pack_codes  # noqa: E402
from make_gguf_fixtures import I_QUANTS, K_QUANT_LAYOUT, llama_permute, random_iquant_blocks, random_k_blocks  # noqa: E402

GGUF_TYPES = {"q8_0": Q.Q8_0, "q4_0": Q.Q4_0, "q4_k": Q.Q4_K, "f16": Q.F16, "bf16": Q.BF16,
              **{qtype.name.lower(): qtype for qtype in I_QUANTS}}
# The type llama.cpp falls back to for matrices whose rows are not whole 256-value blocks.
FALLBACK_TYPES = {Q.Q4_K: Q.Q5_0, **{qtype: Q.IQ4_NL for qtype in I_QUANTS if qtype != Q.IQ4_NL}}
MLX_BITS = {"mlx4": 4, "mlx8": 8}
GGUF_NAMES = {"embed_tokens": "token_embd", "norm": "output_norm", "lm_head": "output",
              "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
              "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}


def weights(model, seed):
    """(config, {name: float32 values}) drawn like make_bench_model's checkpoints."""
    config, tensors = MODELS[model]()
    generator = np.random.default_rng(seed)
    return config, {name: np.concatenate(list(blocks(name, shape, generator))) if len(shape) == 2
                    else next(blocks(name, shape, generator)) for name, shape in tensors}


def mlx_quantize(values, bits, group_size=64):
    """mx.quantize's affine rule with float16 scales and biases: (packed, scales, biases, dequantized)."""
    rows, columns = values.shape
    groups = values.reshape(rows, columns // group_size, group_size)
    low, high = groups.min(axis=2), groups.max(axis=2)
    levels = (1 << bits) - 1
    scales = ((high - low) / levels).astype(np.float16)
    biases = low.astype(np.float16)
    scale32, bias32 = scales.astype(np.float32)[..., None], biases.astype(np.float32)[..., None]
    codes = np.clip(np.rint((groups - bias32) / np.where(scale32 == 0, 1, scale32)), 0, levels).astype(np.int64)
    dequantized = (scale32 * codes + bias32).reshape(rows, columns).astype(np.float32)
    return pack_codes(codes.reshape(rows, columns), bits), scales, biases, dequantized


def write_directory(directory, config, tensors, metadata):
    os.makedirs(directory, exist_ok=True)
    save_file(tensors, os.path.join(directory, "model.safetensors"), metadata=metadata)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ["tokenizer.json", "tokenizer_config.json", "task.json"]:
        shutil.copy(os.path.join(DEFAULT_MODEL, name), os.path.join(directory, name))


def write_mlx(output, model, config, values, bits):
    stored, twin = {}, {}
    for name, value in values.items():
        if value.ndim == 2:
            module = name[: -len(".weight")]
            packed, scales, biases, dequantized = mlx_quantize(value, bits)
            stored[name], stored[module + ".scales"], stored[module + ".biases"] = packed, scales, biases
            twin[name] = dequantized
        else:
            stored[name] = value.astype(np.float16)
            twin[name] = stored[name].astype(np.float32)
    quantized_config = dict(config, torch_dtype="float16", quantization={"group_size": 64, "bits": bits})
    write_directory(os.path.join(output, f"{model}-mlx{bits}"), quantized_config, stored, {"format": "mlx"})
    write_directory(os.path.join(output, f"{model}-mlx{bits}-fp32"), dict(config, torch_dtype="float32"), twin,
                    {"format": "pt"})


def add_vocabulary(writer, size):
    """A SentencePiece (`llama`) vocabulary of `size` tokens: <unk> <s> </s>, the 256 byte tokens, then words."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581w{i}" for i in range(size - len(tokens))]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    types += [TokenType.NORMAL] * (size - len(types))
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores([-float(i) for i in range(size)])
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)


def llama3_rope_factors(config):
    """The per-frequency factors convert_hf_to_gguf writes as `rope_freqs.weight` for Llama 3 rope scaling."""
    scaling = config["rope_scaling"]
    dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    original = scaling["original_max_position_embeddings"]
    factors = []
    for i in range(0, dim, 2):
        wavelength = 2 * math.pi * config["rope_theta"] ** (i / dim)
        if wavelength < original / high:
            factors.append(1.0)
        elif wavelength > original / low:
            factors.append(factor)
        else:
            smooth = (original / wavelength - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


def add_llama_hyperparameters(writer, config):
    """The `llama.*` metadata of a Hugging Face Llama config, and `rope_freqs.weight` for Llama 3 rope scaling."""
    heads = config["num_attention_heads"]
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_rope_dimension_count(config.get("head_dim") or config["hidden_size"] // heads)
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])
    if (config.get("rope_scaling") or {}).get("rope_type") == "llama3":
        writer.add_tensor("rope_freqs.weight", llama3_rope_factors(config))


def gguf_name(name):
    parts = name.split(".")
    if parts[1] == "layers":
        return f"blk.{parts[2]}.{GGUF_NAMES['.'.join(parts[3:-1])]}.{parts[-1]}"
    module = ".".join(parts[1:-1]) if parts[0] == "model" else parts[0]
    return f"{GGUF_NAMES[module]}.{parts[-1]}"


def write_gguf(output, model, config, values, fmt):
    qtype = GGUF_TYPES[fmt]
    directory = os.path.join(output, f"{model}-{fmt}")
    os.makedirs(directory, exist_ok=True)
    writer = GGUFWriter(os.path.join(directory, "model.gguf"), "llama")
    writer.add_custom_alignment(64)
    writer.add_name(f"{model}-{fmt}")
    add_vocabulary(writer, config["vocab_size"])
    add_llama_hyperparameters(writer, config)
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    rng, twin = np.random.default_rng(1), {}
    for name, value in values.items():
        target = gguf_name(name)
        kind = target.split(".")[-2]
        permutation = {"attn_q": heads, "attn_k": kv_heads}.get(kind)
        stored = llama_permute(value, permutation) if permutation else value
        if value.ndim == 1:
            writer.add_tensor(target, stored)
            twin[name] = value
            continue
        kind_type = FALLBACK_TYPES[qtype] if qtype in FALLBACK_TYPES and stored.shape[1] % 256 else qtype
        if kind_type in K_QUANT_LAYOUT:
            data = random_k_blocks(rng, kind_type, *stored.shape, target=0.05)
        elif kind_type in I_QUANTS:
            data = random_iquant_blocks(rng, kind_type, *stored.shape, target=0.02)
        else:
            data = quantize(stored, kind_type)
        writer.add_tensor(target, data, raw_dtype=kind_type)
        recovered = dequantize(data, kind_type).reshape(stored.shape).astype(np.float32)
        if permutation:
            recovered = unpermute(recovered, permutation)
        twin[name] = recovered
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    for name in ["tokenizer.json", "tokenizer_config.json", "task.json"]:
        shutil.copy(os.path.join(DEFAULT_MODEL, name), os.path.join(directory, name))
    write_directory(directory + "-fp32", dict(config, torch_dtype="float32"), twin, {"format": "pt"})


def unpermute(weights, heads):
    """The inverse of llama_permute: the two rotary halves of each head back in Hugging Face order."""
    return weights.reshape(heads, weights.shape[0] // heads // 2, 2, *weights.shape[1:]).swapaxes(1, 2) \
        .reshape(weights.shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="/tmp/interp-quant")
    parser.add_argument("--model", choices=sorted(name for name in MODELS if name != "gpt2-small"),
                        default="smollm2-135m-shape")
    parser.add_argument("--formats", nargs="+", choices=sorted(MLX_BITS) + sorted(GGUF_TYPES),
                        default=["mlx4", "q8_0", "q4_0", "q4_k"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config, values = weights(args.model, args.seed)
    for fmt in args.formats:
        if fmt in MLX_BITS:
            write_mlx(args.output, args.model, config, values, MLX_BITS[fmt])
        else:
            write_gguf(args.output, args.model, config, values, fmt)
        print(f"{args.model}-{fmt} and its float32 twin written under {args.output}")


if __name__ == "__main__":
    main()
