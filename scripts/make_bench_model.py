"""Writes random-weight checkpoints for `interp bench` and scripts/bench_peers.py (never committed).

Run (from the repository root; needs only numpy; downloads nothing, builds no model in Python):

    python3 scripts/make_bench_model.py [--output /tmp/interp-bench] [--models gpt2-small smollm2-135m-shape ...]
        [--dtype bfloat16|float32] [--seed 0] [--shard-gb 2] [--raw-bits]

Writes one Hugging Face directory (config.json + safetensors shards + model.safetensors.index.json) per model
under --output, named `<model>` (float32) or `<model>-bf16` (bfloat16):
  - gpt2-small:          GPT-2 small (12 layers, 12 heads, d_model 768, vocab 50257, 1024 positions, tied), 124M;
  - smollm2-135m-shape:  SmolLM2-135M (30 layers, d 576, 9 heads / 3 key-value heads, SiLU-gated MLP 1536,
                         vocab 49152, tied, rope_theta 100000), 135M;
  - llama-1b-shape:      Llama-3.2-1B (16 layers, d 2048, 32/8 heads, head_dim 64, MLP 8192, vocab 128256, tied,
                         rope_theta 500000 with llama3 rope scaling factor 32), 1.24B (2.5 GB in bf16);
  - llama-8b-shape:      Llama-3.1-8B (32 layers, d 4096, 32/8 heads, MLP 14336, vocab 128256, untied,
                         rope_theta 500000 with llama3 rope scaling factor 8), 8.03B (16 GB in bf16).
Weights are normal with std 0.02 (norm gains 1 + N(0, 0.02), biases N(0, 0.02)) from a seeded numpy generator;
each tensor is generated in row blocks and streamed into its shard, so memory stays at one block whatever the
model size. bfloat16 values are the float32 ones rounded to nearest even. With --raw-bits (bfloat16 only, for
the 8B shape: about 20x faster) matrices are random bit patterns instead, magnitudes uniform in [1/64, 1/32)
with random signs (std ~0.024). The word-level tokenizer of the
embedded default model (Sources/InterpCLI/Resources/DefaultModel, 208 tokens) is copied alongside, with its
IOI task file, so that `interp run`, `eap --task task.json` and the rest work on these checkpoints.
"""
import argparse
import json
import os
import shutil
import struct
import time

import numpy as np

BLOCK_ELEMENTS = 1 << 24
DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "Sources", "InterpCLI", "Resources", "DefaultModel")


def gpt2_small():
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024,
              "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": None, "activation_function": "gelu_new",
              "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True, "bos_token_id": 50256, "eos_token_id": 50256}
    d, mlp, vocab = 768, 3072, 50257
    tensors = [("transformer.wte.weight", (vocab, d)), ("transformer.wpe.weight", (1024, d))]
    for layer in range(12):
        p = f"transformer.h.{layer}."
        tensors += [(p + "ln_1.weight", (d,)), (p + "ln_1.bias", (d,)),
                    (p + "attn.c_attn.weight", (d, 3 * d)), (p + "attn.c_attn.bias", (3 * d,)),
                    (p + "attn.c_proj.weight", (d, d)), (p + "attn.c_proj.bias", (d,)),
                    (p + "ln_2.weight", (d,)), (p + "ln_2.bias", (d,)),
                    (p + "mlp.c_fc.weight", (d, mlp)), (p + "mlp.c_fc.bias", (mlp,)),
                    (p + "mlp.c_proj.weight", (mlp, d)), (p + "mlp.c_proj.bias", (d,))]
    tensors += [("transformer.ln_f.weight", (d,)), ("transformer.ln_f.bias", (d,))]
    return config, tensors


def llama(hidden, intermediate, layers, heads, kv_heads, vocab, tied, rope_theta, rope_scaling, max_positions):
    head_dim = hidden // heads
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab, "hidden_size": hidden,
              "intermediate_size": intermediate, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "head_dim": head_dim, "hidden_act": "silu",
              "max_position_embeddings": max_positions, "rms_norm_eps": 1e-5, "tie_word_embeddings": tied,
              "rope_theta": rope_theta, "rope_scaling": rope_scaling, "attention_bias": False, "mlp_bias": False,
              "bos_token_id": 1, "eos_token_id": 2}
    tensors = [("model.embed_tokens.weight", (vocab, hidden))]
    for layer in range(layers):
        p = f"model.layers.{layer}."
        tensors += [(p + "input_layernorm.weight", (hidden,)),
                    (p + "self_attn.q_proj.weight", (heads * head_dim, hidden)),
                    (p + "self_attn.k_proj.weight", (kv_heads * head_dim, hidden)),
                    (p + "self_attn.v_proj.weight", (kv_heads * head_dim, hidden)),
                    (p + "self_attn.o_proj.weight", (hidden, heads * head_dim)),
                    (p + "post_attention_layernorm.weight", (hidden,)),
                    (p + "mlp.gate_proj.weight", (intermediate, hidden)),
                    (p + "mlp.up_proj.weight", (intermediate, hidden)),
                    (p + "mlp.down_proj.weight", (hidden, intermediate))]
    tensors.append(("model.norm.weight", (hidden,)))
    if not tied:
        tensors.append(("lm_head.weight", (vocab, hidden)))
    return config, tensors


def smollm2_135m_shape():
    return llama(576, 1536, 30, 9, 3, 49152, True, 100000.0, None, 8192)


def llama3_scaling(factor):
    return {"rope_type": "llama3", "factor": factor, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192}


def llama_1b_shape():
    return llama(2048, 8192, 16, 32, 8, 128256, True, 500000.0, llama3_scaling(32.0), 131072)


def llama_8b_shape():
    return llama(4096, 14336, 32, 32, 8, 128256, False, 500000.0, llama3_scaling(8.0), 131072)


MODELS = {"gpt2-small": gpt2_small, "smollm2-135m-shape": smollm2_135m_shape, "llama-1b-shape": llama_1b_shape,
          "llama-8b-shape": llama_8b_shape}


def bfloat16_bits(values):
    """float32 -> bfloat16 bit patterns (uint16), rounded to nearest even."""
    bits = values.view(np.uint32)
    return ((bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16).astype(np.uint16)


def blocks(name, shape, generator):
    """The tensor's values as float32 blocks of whole rows, in order."""
    if len(shape) == 1:
        noise = generator.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
        yield (noise + np.float32(1)) if name.endswith(("norm.weight", "ln_1.weight", "ln_2.weight", "ln_f.weight")) else noise
        return
    rows, columns = shape
    step = max(1, BLOCK_ELEMENTS // columns)
    for start in range(0, rows, step):
        count = min(step, rows - start)
        yield generator.standard_normal((count, columns), dtype=np.float32) * np.float32(0.02)


def raw_bfloat16_blocks(shape, generator):
    """A matrix's bfloat16 bits in row blocks: random sign and mantissa, exponent 2^-6."""
    rows, columns = shape
    step = max(1, BLOCK_ELEMENTS // columns)
    for start in range(0, rows, step):
        count = min(step, rows - start)
        bits = np.frombuffer(generator.bytes(2 * count * columns), dtype=np.uint16)
        yield (bits & np.uint16(0x807F)) | np.uint16(121 << 7)


def write_shard(path, entries, dtype, generator, raw_bits=False):
    """Writes one safetensors file holding `entries` ([(name, shape)]), streaming each tensor's blocks."""
    element = 2 if dtype == "bfloat16" else 4
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in entries:
        size = int(np.prod(shape)) * element
        header[name] = {"dtype": "BF16" if dtype == "bfloat16" else "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for name, shape in entries:
            if raw_bits and len(shape) == 2:
                for bits in raw_bfloat16_blocks(shape, generator):
                    f.write(bits.tobytes())
                continue
            for block in blocks(name, shape, generator):
                f.write((bfloat16_bits(block) if dtype == "bfloat16" else block).tobytes())
    return offset


def write_model(directory, model, dtype, seed, shard_bytes, raw_bits=False):
    config, tensors = MODELS[model]()
    config["torch_dtype"] = dtype
    os.makedirs(directory, exist_ok=True)
    element = 2 if dtype == "bfloat16" else 4
    shards, current, current_bytes = [], [], 0
    for name, shape in tensors:
        size = int(np.prod(shape)) * element
        if current and current_bytes + size > shard_bytes:
            shards.append(current)
            current, current_bytes = [], 0
        current.append((name, shape))
        current_bytes += size
    shards.append(current)
    generator = np.random.default_rng(seed)
    weight_map, total = {}, 0
    for index, entries in enumerate(shards):
        file_name = f"model-{index + 1:05d}-of-{len(shards):05d}.safetensors"
        total += write_shard(os.path.join(directory, file_name), entries, dtype, generator, raw_bits)
        weight_map.update({name: file_name for name, _ in entries})
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ["tokenizer.json", "tokenizer_config.json", "task.json"]:
        shutil.copy(os.path.join(DEFAULT_MODEL, name), os.path.join(directory, name))
    parameters = sum(int(np.prod(shape)) for _, shape in tensors)
    return parameters, total, len(shards)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="/tmp/interp-bench", help="directory that receives one folder per model")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["gpt2-small", "smollm2-135m-shape"])
    parser.add_argument("--dtype", nargs="+", choices=["float32", "bfloat16"], default=["float32", "bfloat16"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-gb", type=float, default=2.0, help="largest shard size in GB")
    parser.add_argument("--raw-bits", action="store_true", help="bfloat16 matrices as random bits (fast; see above)")
    args = parser.parse_args()
    if args.raw_bits and args.dtype != ["bfloat16"]:
        parser.error("--raw-bits writes bfloat16 only: add --dtype bfloat16")
    for model in args.models:
        for dtype in args.dtype:
            directory = os.path.join(args.output, model + ("-bf16" if dtype == "bfloat16" else ""))
            start = time.time()
            parameters, total, shards = write_model(directory, model, dtype, args.seed, int(args.shard_gb * 1e9),
                                                    args.raw_bits)
            print(f"{model}: {parameters / 1e6:.1f}M parameters, {dtype}, {total / 1e9:.2f} GB in {shards} shard(s), "
                  f"written to {directory} in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
