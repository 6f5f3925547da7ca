"""Converts a Llama-family bench checkpoint (a Hugging Face directory of safetensors shards, e.g. the bf16 one written
by scripts/make_bench_model.py) to one llama.cpp GGUF file per tensor type, to measure loading and running GGUF at a
real size (never committed).

Run (from the repository root; needs torch, safetensors, numpy and gguf; downloads nothing):

    python3 scripts/convert_bench_model_to_gguf.py /work/bench-1b/llama-1b-shape-bf16 --output /tmp/interp-gguf \
        --types f16 q8_0

writes `<output>/<checkpoint name>-<type>.gguf` for each type: every matrix in that type (`f16`, `bf16`, `q8_0`
quantized by `gguf.quants.quantize`, `q4_0`), norms F32, q/k rows permuted as convert_hf_to_gguf does, Llama 3 rope
scaling stored as its `rope_freqs.weight` factors (as convert_hf_to_gguf stores them), and the synthetic SentencePiece
vocabulary of the model's size that scripts/make_quantized_bench_model.py writes. Tensors are read one at a time;
the writer holds the converted file in memory until it writes it.

Then, for example:

    /usr/bin/time -v interp run --model /tmp/interp-gguf/llama-1b-shape-bf16-q8_0.gguf --prompt "w1 w2 w3"
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter
from gguf.quants import quantize
from safetensors import safe_open

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_gguf_fixtures import llama_permute  # noqa: E402
from make_quantized_bench_model import add_llama_hyperparameters, add_vocabulary, gguf_name  # noqa: E402

TYPES = {"f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0}


def tensors(directory):
    """(name, float32 numpy array) for every tensor of the checkpoint's shards, one at a time, in name order."""
    shards = sorted(name for name in os.listdir(directory) if name.endswith(".safetensors"))
    for shard in shards:
        with safe_open(os.path.join(directory, shard), framework="pt") as f:
            for name in sorted(f.keys()):
                yield name, f.get_tensor(name).to(torch.float32).numpy()


def to_bfloat16_bits(values):
    """Round to nearest even bfloat16, as uint16 bit patterns."""
    bits = values.astype(np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def convert(directory, output, type_name):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    qtype = TYPES[type_name]
    path = os.path.join(output, f"{os.path.basename(os.path.normpath(directory))}-{type_name}.gguf")
    writer = GGUFWriter(path, "llama")
    writer.add_name(os.path.basename(path))
    add_vocabulary(writer, config["vocab_size"])
    add_llama_hyperparameters(writer, config)
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    for name, value in tensors(directory):
        target = gguf_name(name)
        permutation = {"attn_q": heads, "attn_k": kv_heads}.get(target.split(".")[-2])
        stored = llama_permute(value, permutation) if permutation else value
        if value.ndim == 1:
            writer.add_tensor(target, stored)
        elif qtype == Q.BF16:
            writer.add_tensor(target, to_bfloat16_bits(stored), raw_dtype=Q.BF16)
        elif qtype == Q.F16:
            writer.add_tensor(target, stored.astype(np.float16))
        else:
            writer.add_tensor(target, quantize(stored, qtype), raw_dtype=qtype)
        print(f"  {target} {list(value.shape)}", flush=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--output", default="/tmp/interp-gguf")
    parser.add_argument("--types", nargs="+", choices=sorted(TYPES), default=["f16", "q8_0"])
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    for type_name in args.types:
        print(f"{convert(args.checkpoint, args.output, type_name)} written")


if __name__ == "__main__":
    main()
