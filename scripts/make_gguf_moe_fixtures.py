"""Write the mixture-of-experts GGUF fixtures of Tests/LanguageModelsTests/Fixtures/gguf/ with the `gguf` package and
the logits the Swift tests compare with.

Regenerate with (PyPI packages only, nothing is downloaded):

    pip install gguf torch transformers tokenizers safetensors numpy
    python3 scripts/make_gguf_moe_fixtures.py

Each file is a tiny random transformers model written as llama.cpp's convert_hf_to_gguf writes its architecture,
with the llama2 SentencePiece vocabulary of the other GGUF fixtures (make_gguf_fixtures.py, whose helpers this uses):

- olmoe-f32.gguf: an `OlmoeForCausalLM` (width 32, 8 experts, 2 per token, norm_topk_prob false, grouped-query heads) written
  as `OlmoeModel` writes it: llama.cpp's names, the experts of each layer stacked into `blk.N.ffn_{gate,up,down}_exps`
  ([experts, rows, columns]), the router `ffn_gate_inp`, attn_q_norm / attn_k_norm over the whole projection,
  nothing permuted; `olmoe.expert_count`, `olmoe.expert_used_count`, `olmoe.expert_weights_norm` (from
  norm_topk_prob); every tensor F32.
- olmoe-q8_0.gguf: another OLMoE (6 experts, 3 per token, norm_topk_prob true: expert_weights_norm true) whose
  matrices are quantized by gguf-py's quantizer: Q8_0, the stacked experts Q8_0 / Q4_0 / Q5_1.
- mixtral-f16.gguf: a `MixtralForCausalLM` (5 experts, 2 per token) written as `LlamaModel` writes it: `llama`
  architecture, q/k rows permuted, experts w1 / w3 / w2 stacked as ffn_gate_exps / ffn_up_exps / ffn_down_exps,
  `llama.expert_count` and `llama.expert_used_count`; matrices F16, router and norms F32.
- mixtral-split.gguf: the same Mixtral in the older per-expert layout (`blk.N.ffn_gate.E.weight`, ...), Q8_0.
- mixtral-kquants.gguf: a Mixtral of width 256 (3 experts, tied embeddings: no output.weight) whose stacked experts are K-quants and i-quants (Q4_K,
  Q6_K, IQ4_XS; Q5_K, Q2_K, IQ4_NL): random blocks with sane scales (gguf-py cannot quantize these types), the rest
  Q4_0.

- qwen2moe-f32.gguf: a `Qwen2MoeForCausalLM` (6 experts 32 wide, 2 per token, norm_topk_prob false, a shared expert
  64 wide, intermediate_size 96, q/k/v biases, untied) written as `Qwen2MoeModel` writes it: experts stacked as for
  OLMoE, the shared expert `ffn_{gate,up,down}_shexp`, its gate `ffn_gate_inp_shexp` [1, 64] (F32, as the converter
  keeps it), `qwen2moe.expert_feed_forward_length`, `expert_shared_feed_forward_length`, `expert_weights_norm`; the
  byte-level BPE vocabulary of qwen2.gguf; every tensor F32.
- qwen2moe-q8_0.gguf: another (5 experts, 3 per token, norm_topk_prob true), matrices Q8_0, experts Q8_0 / Q4_0 /
  Q5_1, shared expert Q4_1 / Q5_0 / Q8_0, its gate the vector [64] that older converters wrote (they squeezed it).
- qwen3moe-f32.gguf: a `Qwen3MoeForCausalLM` (8 experts 24 wide, 3 per token, norm_topk_prob true, head_dim 16 with 4
  heads of a 32-wide model: `attention.key_length`, per-head `attn_q_norm` / `attn_k_norm`, tied) as `Qwen3MoeModel`
  writes it; F32.
- qwen3moe-kquants.gguf: a Qwen3-MoE of width 256 (4 experts 256 wide, head_dim 32, untied) whose stacked experts are
  K-quants (Q4_K, Q5_K, Q6_K; Q3_K, Q4_K, Q2_K; random blocks as for mixtral-kquants.gguf), the rest Q8_0.

The converter maps no dense MLP for either Qwen architecture (llama.cpp builds every layer as a mixture), so no
fixture has `mlp_only_layers`.

The routers (`ffn_gate_inp`) are F32 in every file, as the converter keeps them. moe_reference.json holds each file's
input ids and moe_reference_logits.safetensors its logits: those of the transformers model the file was written from
holding the values the file stores (dequantized by gguf-py; q/k rows un-permuted). transformers' GGUF loader reads
neither OLMoE nor Mixtral. It reads `qwen2moe` / `qwen3moe` but maps no `expert_feed_forward_length` or
`expert_shared_feed_forward_length` (real Qwen files have transformers' default widths), so `transformers_gguf_check`
passes the widths (and qwen2moe's norm_topk_prob) and checks that its logits equal the reference; it cannot load the
[1, d] shared-expert gate of today's converter (it adds an axis to every `ffn_gate_inp_shexp`), so qwen2moe-f32.gguf
is checked only against the model it was written from.
"""

import json
import os
import sys

import numpy as np
import torch
import transformers
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_gguf_fixtures import (OUT, add_decoder_shape, add_byte_level_vocabulary, add_sentencepiece_vocabulary,  # noqa: E402
                                encode, finish, llama_permute, llama_unpermute, load_tokenizer_json, randomize,
                                stored_values, vocabulary)

VOCABULARY = len(vocabulary(load_tokenizer_json("llama2"))[0])
QWEN_VOCABULARY = len(vocabulary(load_tokenizer_json("qwen2"))[0])

# Hugging Face module (after model.layers.N.) -> llama.cpp name, per architecture.
OLMOE_NAMES = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
               "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
               "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm", "mlp.gate": "ffn_gate_inp"}
QWEN_MOE_NAMES = {**OLMOE_NAMES, "mlp.shared_expert.gate_proj": "ffn_gate_shexp", "mlp.shared_expert.up_proj": "ffn_up_shexp",
                  "mlp.shared_expert.down_proj": "ffn_down_shexp", "mlp.shared_expert_gate": "ffn_gate_inp_shexp"}
MIXTRAL_NAMES = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
                 "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
                 "block_sparse_moe.gate": "ffn_gate_inp", "mlp.gate": "ffn_gate_inp"}
GLOBAL_NAMES = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
                "lm_head.weight": "output.weight"}
# Expert projection -> llama.cpp's kind (OLMoE's names, Mixtral's w1 / w3 / w2).
EXPERT_KINDS = {"gate_proj": "gate", "up_proj": "up", "down_proj": "down", "w1": "gate", "w3": "up", "w2": "down"}


def expert_matrices(model, layer):
    """{kind: [each expert's matrix]} of one layer, from the fused or per-expert parameters transformers holds."""
    mlp = model.model.layers[layer].mlp
    experts = mlp.experts
    if hasattr(experts, "gate_up_proj"):
        # transformers 5 fuses the experts: gate_up_proj [E, 2 * ff, d] (gate rows first), down_proj [E, d, ff].
        gate_up = experts.gate_up_proj.detach().float().numpy()
        half = gate_up.shape[1] // 2
        return {"gate": list(gate_up[:, :half]), "up": list(gate_up[:, half:]),
                "down": list(experts.down_proj.detach().float().numpy())}
    raise SystemExit("unexpected transformers expert layout")


def set_expert_matrices(model, layer, matrices):
    experts = model.model.layers[layer].mlp.experts
    with torch.no_grad():
        experts.gate_up_proj.copy_(torch.from_numpy(np.concatenate([np.stack(matrices["gate"]), np.stack(matrices["up"])], 1)))
        experts.down_proj.copy_(torch.from_numpy(np.stack(matrices["down"])))


def add_qwen_vocabulary(writer):
    return add_byte_level_vocabulary(writer, "qwen2", "qwen2", "<|endoftext|>", "<|im_end|>", False)


def write_moe(file_name, architecture, model, config, tensor_types, split_experts=False, directory=OUT,
              add_vocabulary=lambda writer: add_sentencepiece_vocabulary(writer, "llama2"), squeeze_shared_gate=False):
    """The file convert_hf_to_gguf writes for `model` (OLMoE: `olmoe`; Mixtral: `llama`, q/k rows permuted;
    Qwen2-MoE / Qwen3-MoE: `qwen2moe` / `qwen3moe`) in `directory`, matrices as `tensor_types(gguf name)`, vectors and
    routers (`ffn_gate_inp`, `ffn_gate_inp_shexp`) F32; Mixtral's experts per expert when `split_experts`; the shared
    expert's gate `[dModel]` when `squeeze_shared_gate` (older converters squeezed it), else `[1, dModel]`. Puts the
    values the file stores into `model` (q/k rows un-permuted)."""
    rng = np.random.default_rng(23)
    writer = GGUFWriter(os.path.join(directory, file_name), architecture)
    writer.add_name(f"tiny-{file_name[:-5]}")
    assert add_vocabulary(writer) == config.vocab_size
    add_decoder_shape(writer, config)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    experts = config.num_local_experts if architecture == "llama" else config.num_experts
    writer.add_expert_count(experts)
    writer.add_expert_used_count(config.num_experts_per_tok)
    if architecture == "llama":
        writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    else:
        writer.add_expert_weights_norm(config.norm_topk_prob)
    if architecture in ("qwen2moe", "qwen3moe"):
        # Qwen2MoeModel (and Qwen3MoeModel, its subclass): the experts' widths; head_dim as key/value length.
        writer.add_expert_feed_forward_length(config.moe_intermediate_size)
        if architecture == "qwen2moe":
            writer.add_expert_shared_feed_forward_length(config.shared_expert_intermediate_size)
        if getattr(config, "head_dim", None) is not None:
            writer.add_key_length(config.head_dim)
            writer.add_value_length(config.head_dim)
    writer.add_vocab_size(config.vocab_size)
    permute = architecture == "llama"
    names = {"olmoe": OLMOE_NAMES, "llama": MIXTRAL_NAMES}.get(architecture, QWEN_MOE_NAMES)
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads

    def add(gguf_name, values, qtype):
        data, raw = encode(rng, values.reshape(-1, values.shape[-1]), qtype)
        data = data.reshape(*values.shape[:-1], -1)
        writer.add_tensor(gguf_name, data, raw_dtype=raw)
        return stored_values(data.reshape(-1, data.shape[-1]), raw).reshape(values.shape).astype(np.float32)

    state = {}
    for hf_name, parameter in model.state_dict().items():
        parts = hf_name.split(".")
        if ".experts." in hf_name or (hf_name == "lm_head.weight" and config.tie_word_embeddings):
            continue
        if hf_name in GLOBAL_NAMES:
            gguf_name, short = GLOBAL_NAMES[hf_name], None
        else:
            short = names[".".join(parts[3:-1])]
            gguf_name = f"blk.{parts[2]}.{short}.{parts[-1]}"
        values = parameter.float().numpy()
        if permute and short in ("attn_q", "attn_k"):
            values = llama_permute(values, heads if short == "attn_q" else kv_heads)
        qtype = Q.F32 if values.ndim == 1 or short in ("ffn_gate_inp", "ffn_gate_inp_shexp") else tensor_types(gguf_name)
        if short == "ffn_gate_inp_shexp" and squeeze_shared_gate:
            read_back = add(gguf_name, values.reshape(-1), qtype).reshape(values.shape)
        else:
            read_back = add(gguf_name, values, qtype)
        if permute and short in ("attn_q", "attn_k"):
            read_back = llama_unpermute(read_back, heads if short == "attn_q" else kv_heads)
        state[hf_name] = torch.from_numpy(np.ascontiguousarray(read_back))
    for layer in range(config.num_hidden_layers):
        stored = {}
        for kind, matrices in expert_matrices(model, layer).items():
            if split_experts:
                stored[kind] = [add(f"blk.{layer}.ffn_{kind}.{e}.weight", m, tensor_types(f"blk.{layer}.ffn_{kind}.{e}.weight"))
                                for e, m in enumerate(matrices)]
            else:
                name = f"blk.{layer}.ffn_{kind}_exps.weight"
                stored[kind] = list(add(name, np.stack(matrices), tensor_types(name)))
        set_expert_matrices(model, layer, stored)
    finish(writer)
    model.load_state_dict(state, strict=False)


def seeded_model(model_class, config, seed):
    """`model_class(config)` built after torch.manual_seed(0), its parameters drawn by `randomize(model, seed)`."""
    torch.manual_seed(0)
    model = model_class(config).eval()
    randomize(model, seed)
    return model


def olmoe(experts, per_token, normalize, hidden=64, ff=32, seed=31, vocabulary_size=VOCABULARY, tied=False, kv_heads=2):
    config = transformers.OlmoeConfig(
        vocab_size=vocabulary_size, hidden_size=hidden, intermediate_size=ff, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=kv_heads, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
        num_experts=experts, num_experts_per_tok=per_token, norm_topk_prob=normalize, tie_word_embeddings=tied,
        bos_token_id=1, eos_token_id=2, pad_token_id=None)
    return seeded_model(transformers.OlmoeForCausalLM, config, seed), config


def mixtral(experts, hidden=64, ff=32, seed=37, tied=False, vocabulary_size=VOCABULARY):
    config = transformers.MixtralConfig(
        vocab_size=vocabulary_size, hidden_size=hidden, intermediate_size=ff, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
        num_local_experts=experts, num_experts_per_tok=2, sliding_window=None, tie_word_embeddings=tied,
        bos_token_id=1, eos_token_id=2)
    return seeded_model(transformers.MixtralForCausalLM, config, seed), config


def qwen2_moe(experts, per_token, normalize, seed):
    """A Qwen2-MoE whose three MLP widths differ: intermediate_size 96 (feed_forward_length, which no layer uses), experts
    32 wide, the shared expert 64; q/k/v biases, rope base 1e6."""
    config = transformers.Qwen2MoeConfig(
        vocab_size=QWEN_VOCABULARY, hidden_size=64, intermediate_size=96, moe_intermediate_size=32,
        shared_expert_intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1000000.0, num_experts=experts,
        num_experts_per_tok=per_token, norm_topk_prob=normalize, tie_word_embeddings=False)
    return seeded_model(transformers.Qwen2MoeForCausalLM, config, seed), config


def qwen3_moe(experts, per_token, hidden, width, head_dim, seed, tied):
    """A Qwen3-MoE (per-head q/k norms, `head_dim` × 4 heads, 2 key-value heads, top-k renormalized as Qwen3-30B-A3B's
    norm_topk_prob true) with experts `width` wide and feed_forward_length 3 · width, which no layer uses."""
    config = transformers.Qwen3MoeConfig(
        vocab_size=QWEN_VOCABULARY, hidden_size=hidden, intermediate_size=3 * width, moe_intermediate_size=width,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=head_dim,
        max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1000000.0, num_experts=experts,
        num_experts_per_tok=per_token, norm_topk_prob=True, tie_word_embeddings=tied)
    return seeded_model(transformers.Qwen3MoeForCausalLM, config, seed), config


def quantized_qwen2_moe_types(name):
    kind = name.split(".")[2] if name.startswith("blk.") else None
    return {"ffn_gate_exps": Q.Q8_0, "ffn_up_exps": Q.Q4_0, "ffn_down_exps": Q.Q5_1, "ffn_gate_shexp": Q.Q4_1,
            "ffn_up_shexp": Q.Q5_0, "ffn_down_shexp": Q.Q8_0}.get(kind, Q.Q8_0)


def qwen3_kquant_types(name):
    if not name.startswith("blk."):
        return Q.Q8_0
    layer, kind = int(name.split(".")[1]), name.split(".")[2]
    return {"ffn_gate_exps": [Q.Q4_K, Q.Q3_K], "ffn_up_exps": [Q.Q5_K, Q.Q4_K],
            "ffn_down_exps": [Q.Q6_K, Q.Q2_K]}.get(kind, [Q.Q8_0, Q.Q8_0])[layer]


def transformers_gguf_check(file_name, config, ids, expected):
    """transformers' own GGUF loader on a Qwen file (widths passed, as it reads none) gives the reference logits."""
    overrides = {"moe_intermediate_size": config.moe_intermediate_size, "norm_topk_prob": config.norm_topk_prob}
    if hasattr(config, "shared_expert_intermediate_size"):
        overrides["shared_expert_intermediate_size"] = config.shared_expert_intermediate_size
    model = transformers.AutoModelForCausalLM.from_pretrained(OUT, gguf_file=file_name, dtype=torch.float32, **overrides)
    with torch.no_grad():
        output = model.eval()(input_ids=torch.tensor(ids)).logits.float().numpy()
    difference = float(np.abs(output - expected).max())
    assert difference <= 1e-5 * float(np.abs(expected).max()), f"{file_name}: transformers' GGUF loader differs by {difference}"
    return difference


def quantized_olmoe_types(name):
    kind = name.split(".")[2] if name.startswith("blk.") else None
    return {"ffn_gate_exps": Q.Q8_0, "ffn_up_exps": Q.Q4_0, "ffn_down_exps": Q.Q5_1}.get(kind, Q.Q8_0)


def kquant_types(name):
    if not name.startswith("blk."):
        return Q.Q4_0
    layer, kind = int(name.split(".")[1]), name.split(".")[2]
    return {"ffn_gate_exps": [Q.Q4_K, Q.Q5_K], "ffn_up_exps": [Q.Q6_K, Q.Q2_K],
            "ffn_down_exps": [Q.IQ4_XS, Q.IQ4_NL]}.get(kind, [Q.Q4_0, Q.Q4_0])[layer]


def write_fuzz_seeds(directory, add_vocabulary):
    """tiny-olmoe.gguf (stacked experts) and tiny-mixtral-split.gguf (per-expert tensors): one-layer, 2-expert seeds of
    the fuzz-gguf corpus (make_gguf_fixtures.py fuzz-seeds calls this), Q4_0 matrices, tied embeddings (no
    output.weight) and one key-value head for OLMoE, to stay under the fuzzer's 8 KB."""
    for file_name, architecture, (model, config), split in [
        ("tiny-olmoe.gguf", "olmoe", olmoe(2, 1, False, hidden=32, vocabulary_size=12, tied=True, kv_heads=1), False),
        ("tiny-mixtral-split.gguf", "llama", mixtral(2, hidden=32, tied=True, vocabulary_size=12), True),
    ]:
        config.num_hidden_layers = 1
        model.model.layers = model.model.layers[:1]
        write_moe(file_name, architecture, model, config, lambda name: Q.Q4_0, split_experts=split, directory=directory,
                  add_vocabulary=add_vocabulary)


def main():
    llama2 = lambda writer: add_sentencepiece_vocabulary(writer, "llama2")  # noqa: E731
    models = {
        "olmoe-f32.gguf": ("olmoe", olmoe(8, 2, False, hidden=32), lambda name: Q.F32, False),
        "olmoe-q8_0.gguf": ("olmoe", olmoe(6, 3, True, seed=41), quantized_olmoe_types, False),
        "mixtral-f16.gguf": ("llama", mixtral(5), lambda name: Q.F16, False),
        "mixtral-split.gguf": ("llama", mixtral(5, seed=43), lambda name: Q.Q8_0, True),
        "mixtral-kquants.gguf": ("llama", mixtral(3, hidden=256, ff=256, seed=47, tied=True), kquant_types, False),
        "qwen2moe-f32.gguf": ("qwen2moe", qwen2_moe(6, 2, False, seed=53), lambda name: Q.F32, False),
        "qwen2moe-q8_0.gguf": ("qwen2moe", qwen2_moe(5, 3, True, seed=59), quantized_qwen2_moe_types, True),
        "qwen3moe-f32.gguf": ("qwen3moe", qwen3_moe(8, 3, 32, 24, 16, seed=61, tied=True), lambda name: Q.F32, False),
        "qwen3moe-kquants.gguf": ("qwen3moe", qwen3_moe(4, 2, 256, 256, 32, seed=67, tied=False), qwen3_kquant_types, False),
    }
    reference, logits = {}, {}
    rng = np.random.default_rng(29)
    for file_name, (architecture, (model, config), types, flag) in models.items():
        qwen = architecture.startswith("qwen")
        write_moe(file_name, architecture, model, config, types, split_experts=flag and not qwen,
                  add_vocabulary=add_qwen_vocabulary if qwen else llama2, squeeze_shared_gate=flag and qwen)
        ids = rng.integers(0, QWEN_VOCABULARY if qwen else VOCABULARY, size=(2, 7)).tolist()
        with torch.no_grad():
            output = model(input_ids=torch.tensor(ids)).logits.float().numpy()
        assert output.std(axis=-1).min() > 0.5, f"{file_name}: logits too close to uniform"
        reference[file_name] = {"input_ids": ids}
        logits[file_name] = np.ascontiguousarray(output)
        print(file_name, os.path.getsize(os.path.join(OUT, file_name)), "bytes, logit scale", float(np.abs(output).max()))
        if qwen and file_name != "qwen2moe-f32.gguf":
            print("  transformers' GGUF loader: max |diff|", transformers_gguf_check(file_name, config, ids, output))
    save_file(logits, os.path.join(OUT, "moe_reference_logits.safetensors"))
    with open(os.path.join(OUT, "moe_reference.json"), "w", encoding="utf-8") as file:
        json.dump(reference, file)


if __name__ == "__main__":
    main()
