"""Write a GGUF file with OLMoE-1B-7B's shape (hidden 2048, 16 heads, experts of width 1024, 64 experts, 8 per token,
vocabulary 50304) and random Q4_K weights, to measure how much memory a mixture of experts takes when its stacked
expert tensors are read in place.

    python3 scripts/make_gguf_moe_bench_model.py OUT.gguf [LAYERS]     # LAYERS default 4 (the model has 16)
    /usr/bin/time -v .build/release/interp info --model OUT.gguf        # peak RSS against the file's size

Every matrix is Q4_K (random blocks with sane scales, as make_gguf_fixtures.py's K-quants; gguf-py cannot quantize
K-quants), the routers and norms F32; names and metadata as convert_hf_to_gguf writes `olmoe`. The vocabulary is a
placeholder (byte pieces, then `t<N>` pieces). Nothing is downloaded; the weights are meaningless.
"""

import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter, TokenType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_gguf_fixtures import finish, random_k_blocks  # noqa: E402

HIDDEN, HEADS, EXPERT_WIDTH, EXPERTS, PER_TOKEN, VOCABULARY = 2048, 16, 1024, 64, 8, 50304


def main():
    path, layers = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4
    rng = np.random.default_rng(0)
    writer = GGUFWriter(path, "olmoe")
    writer.add_name("olmoe-1b-7b-shape-q4_k")
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"t{i}" for i in range(VOCABULARY - len(tokens))]
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types([TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
                           + [TokenType.NORMAL] * (len(tokens) - 259))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_context_length(4096)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(EXPERT_WIDTH)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_expert_count(EXPERTS)
    writer.add_expert_used_count(PER_TOKEN)
    writer.add_expert_weights_norm(False)
    writer.add_vocab_size(VOCABULARY)

    def q4k(name, *shape):
        rows = int(np.prod(shape[:-1]))
        writer.add_tensor(name, random_k_blocks(rng, Q.Q4_K, rows, shape[-1]).reshape(*shape[:-1], -1), raw_dtype=Q.Q4_K)

    def f32(name, *shape, scale=1.0):
        writer.add_tensor(name, (scale * rng.standard_normal(shape)).astype(np.float32))

    q4k("token_embd.weight", VOCABULARY, HIDDEN)
    for layer in range(layers):
        p = f"blk.{layer}."
        for name in ["attn_q", "attn_k", "attn_v", "attn_output"]:
            q4k(p + name + ".weight", HIDDEN, HIDDEN)
        for name in ["attn_norm", "attn_q_norm", "attn_k_norm", "ffn_norm"]:
            writer.add_tensor(p + name + ".weight", np.ones(HIDDEN, dtype=np.float32))
        f32(p + "ffn_gate_inp.weight", EXPERTS, HIDDEN, scale=0.02)
        q4k(p + "ffn_gate_exps.weight", EXPERTS, EXPERT_WIDTH, HIDDEN)
        q4k(p + "ffn_up_exps.weight", EXPERTS, EXPERT_WIDTH, HIDDEN)
        q4k(p + "ffn_down_exps.weight", EXPERTS, HIDDEN, EXPERT_WIDTH)
    writer.add_tensor("output_norm.weight", np.ones(HIDDEN, dtype=np.float32))
    q4k("output.weight", VOCABULARY, HIDDEN)
    finish(writer)
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
