"""Writes random-weight checkpoints for `interp bench` and scripts/bench_peers.py (never committed).

Run (from the repository root; needs torch and transformers; downloads nothing):

    python3 scripts/make_bench_model.py [--output /tmp/interp-bench] [--models gpt2-small llama-1b-shape]

Writes one Hugging Face directory (config.json + model.safetensors) per model under --output:
  - gpt2-small:      GPT-2 small's shape (12 layers, 12 heads, d_model 768, vocab 50257, 1024 positions,
                     124M parameters, tied embeddings), float32 on disk;
  - llama-1b-shape:  Llama-3.2-1B's shape (hidden 2048, 16 layers, 32 heads, 8 key-value heads, head_dim 64,
                     intermediate 8192, vocab 128256, tied embeddings, rope_theta 500000 with llama3 rope
                     scaling), bfloat16 on disk (about 2.5 GB; 4.9 GB as float32);
  - smollm-135m-shape: SmolLM-135M's shape (a 135M Llama: hidden 576, 30 layers, 9 heads, 3 key-value heads,
                     intermediate 1536, vocab 49152, tied embeddings), float32 on disk; the ACDC benchmark's
                     30-layer grouped-query model.
Weights use transformers' own initialization (normal, std 0.02) with a fixed seed. The attention-only
model of the ACDC benchmark (4 layers, 8 heads, d_model 512) is not written here: transformers has no
attention-only GPT-2, so `interp bench --suite acdc` builds that model in memory with random weights.
"""
import argparse
import os
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM


def gpt2_small():
    config = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                        activation_function="gelu_new", tie_word_embeddings=True)
    return GPT2LMHeadModel(config), torch.float32


def llama_1b_shape():
    config = LlamaConfig(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, head_dim=64, hidden_act="silu",
        max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=True,
        rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 8192},
        bos_token_id=128000, eos_token_id=128001)
    # Build directly in bfloat16 so that the 1.2B parameters never exist in float32 here.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model, torch.bfloat16


def smollm_135m_shape():
    config = LlamaConfig(
        vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
        num_attention_heads=9, num_key_value_heads=3, head_dim=64, hidden_act="silu",
        max_position_embeddings=2048, rms_norm_eps=1e-5, tie_word_embeddings=True, rope_theta=10000.0)
    return LlamaForCausalLM(config), torch.float32


MODELS = {"gpt2-small": gpt2_small, "llama-1b-shape": llama_1b_shape, "smollm-135m-shape": smollm_135m_shape}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="/tmp/interp-bench", help="directory that receives one folder per model")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=sorted(MODELS))
    args = parser.parse_args()
    for name in args.models:
        directory = os.path.join(args.output, name)
        start = time.time()
        torch.manual_seed(0)
        model, dtype = MODELS[name]()
        model = model.to(dtype).eval()
        model.save_pretrained(directory, safe_serialization=True)
        parameters = sum(p.numel() for p in model.parameters())
        print(f"{name}: {parameters / 1e6:.1f}M parameters, {str(dtype).removeprefix('torch.')} on disk, "
              f"written to {directory} in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
