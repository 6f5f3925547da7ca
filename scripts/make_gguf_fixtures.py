"""Write the GGUF fixtures of Tests/LanguageModelsTests/Fixtures/gguf/ with the `gguf` package and record the
references the Swift tests compare with.

Regenerate with (PyPI packages only, nothing is downloaded):

    pip install gguf torch transformers tokenizers safetensors numpy
    python3 scripts/make_gguf_fixtures.py

- quants.gguf: one [3, 512] tensor per type (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K,
  Q5_K, Q6_K). F32 to Q5_1 are quantized from random values by `gguf.quants.quantize`; the package cannot
  quantize K-quants, so their blocks are random bytes with sane fp16 scales written into each block's `d`
  (and `dmin`) fields. quants_expected.safetensors holds `gguf.quants.dequantize` of each tensor.
- iquants.gguf: one [3, 512] tensor per i-quant (IQ4_NL, IQ4_XS, IQ3_S, IQ3_XXS, IQ2_S, IQ2_XS, IQ2_XXS, IQ1_S,
  IQ1_M), random bytes (codes, signs, sub-block scales) with each block's fp16 scale chosen for values of standard
  deviation near 0.15 (the package cannot quantize them); iquants_expected.safetensors holds `gguf.quants.dequantize`
  of each. llama-iquants.gguf: a tiny random Llama (hidden size 256, so that every matrix is whole 256-value blocks)
  whose matrices are all i-quants, each type in at least one projection; its logits from transformers loading it
  are added to reference.json and reference_logits.safetensors. `python3 scripts/make_gguf_fixtures.py
  iquants` rewrites only these.
- llama.gguf: a tiny random Llama (grouped-query heads, untied output) converted the way llama.cpp's
  convert_hf_to_gguf does (q/k rows permuted, llama.cpp tensor names and metadata, alignment 64), with a
  different tensor type per projection (F32 norms, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1; the down projections
  Q2_K, Q3_K, Q4_K), and a SentencePiece (`llama`) vocabulary with scores and token types and no merges.
- qwen2.gguf: a tiny random Qwen2 (q/k/v biases, tied embeddings: no output.weight), down projections Q5_K and
  Q6_K, and a byte-level BPE (`gpt2`, pre-tokenizer `qwen2`) vocabulary with merges and control tokens.
- llama3-tokenizer.gguf, gpt2-tokenizer.gguf: vocabularies only (`llama-bpe` and `gpt-2` pre-tokenizers).
- gemma.gguf, gemma2.gguf, gemma3.gguf: tiny random Gemma 1, Gemma-2 (sliding window 4 on every other layer,
  soft-capping 50 and 30 written to the metadata) and Gemma-3 text (6 layers: 5 sliding, 1 global; q/k norms;
  rotary bases 10000 local and 1000000 global) written as llama.cpp's convert_hf_to_gguf writes Gemma: llama.cpp
  tensor names (post_attention_norm, post_ffw_norm, ...), every norm weight stored as 1 + weight, no q/k
  permutation, key_length / value_length, a Gemma-style SentencePiece vocabulary (<pad> <eos> <bos> <unk> <mask>
  first, runs of spaces stored as real spaces, scores that do not follow the merge order). gemma_reference.json and
  gemma_reference_logits.safetensors: logits of transformers loading gemma2.gguf and gemma3.gguf
  (`from_pretrained(dir, gguf_file=...)`); transformers does not load `gemma` GGUF files, so gemma.gguf's logits
  are those of the transformers model the file was made from, with its weights replaced by the file's values
  (dequantized by gguf-py, norms minus 1 as transformers' Gemma2TensorProcessor does). Token ids from
  transformers' tokenizer rebuilt from each file. `python3 scripts/make_gguf_fixtures.py gemma` rewrites only these.
- phi2.gguf, olmo.gguf: a tiny random Phi (parallel block, partial rotary, biases everywhere) and OLMo (no norm
  weights, q/k/v clipping, q/k rows permuted) written as convert_hf_to_gguf writes `phi2` and `olmo` files;
  phi2-fused-qkv.gguf: a Phi whose q, k and v are one `attn_qkv` tensor, as older phi-2 conversions store them.
  transformers' GGUF loader reads neither, so phi2_olmo_reference.json and phi2_olmo_reference_logits.safetensors
  hold the logits of the transformers models they were made from, with the values the files store (dequantized by
  gguf-py). `python3 scripts/make_gguf_fixtures.py phi2-olmo` rewrites only these.
- smollm3.gguf: a tiny random SmolLM3 (4 layers: the 4th a NoPE layer, as llama.cpp hard-codes for `smollm3`, which
  has no metadata key for it; tied embeddings, grouped-query heads) written as convert_hf_to_gguf writes it (the
  `llama` conversion: q/k rows permuted), F32 tensors. transformers' GGUF loader does not read `smollm3`, so
  smollm3_reference.json holds the ids and logits of the transformers model the file was written from.
  `python3 scripts/make_gguf_fixtures.py smollm3` rewrites only these.
- phi3.gguf, phi3-f16.gguf, phi3-q8_0.gguf: one tiny random Phi-3 (grouped-query heads, untied output) written as
  convert_hf_to_gguf writes `phi3` files (fused attn_qkv and ffn_up = gate_up_proj, nothing permuted), its matrices in
  F32, F16 and Q8_0; phi3-longrope.gguf: a Phi-4-mini-like one (partial rotary 0.5, LongRoPE factors as
  rope_factors_long/short tensors, original context 16, tied embeddings, Q8_0). phi3_reference.json and
  phi3_reference_logits.safetensors: logits of transformers loading the first three files (`from_pretrained(dir,
  gguf_file=...)`); transformers' GGUF loader reads neither `rope.dimension_count` nor the rope factors, so
  phi3-longrope.gguf's are those of the transformers model it was written from holding the file's values, on a
  7-token pass (short factors) and a 24-token one (long factors). `python3 scripts/make_gguf_fixtures.py phi3`.
- gpt2.gguf, gpt2-tied.gguf: a tiny random GPT-2 written as convert_hf_to_gguf writes `gpt2` files (Conv1D weights
  transposed, fused attn_qkv with its bias, position_embd), F32/F16/Q8_0 matrices, with a separate Q8_0 output.weight
  or none; gpt2_reference.json and gpt2_reference_logits.safetensors: logits of transformers loading each file.
  `python3 scripts/make_gguf_fixtures.py gpt2`.
- olmo2.gguf: the Hugging Face fixture models/olmo2 written as convert_hf_to_gguf writes `olmo2` files, F32, with a
  placeholder byte vocabulary of its size; its logits are that fixture's reference.json (transformers' GGUF loader
  does not read `olmo2`). `python3 scripts/make_gguf_fixtures.py olmo2`.
- olmo3.gguf: a tiny random OLMo-3 (3 sliding-window layers, window 4, then a full-attention one) written as
  convert_hf_to_gguf writes OLMo-3 (`olmo2` with `attention.sliding_window` and `attention.sliding_window_pattern`),
  F32; olmo3_reference.json: the logits of the transformers model it was written from.
  `python3 scripts/make_gguf_fixtures.py olmo3`.
- llama-yarn.gguf, qwen3-yarn.gguf, smollm3-yarn.gguf, olmo3-yarn.gguf, mistral3-yarn.gguf: tiny random Llama, Qwen3, SmolLM3,
  OLMo-3 and Ministral 3 with YaRN rotary scaling
  written as convert_hf_to_gguf writes a yarn `rope_scaling` (`rope.scaling.type`, `factor`, `original_context_length`,
  and `yarn_beta_fast`, `yarn_beta_slow`, `yarn_attn_factor` when the config has them), F32; yarn_reference.json and
  yarn_reference_logits.safetensors: ids of 40 tokens (past the original context of 32) and the logits of the
  transformers models they were written from (see `make_yarn_models`). `python3 scripts/make_gguf_fixtures.py yarn`.
- reference.json and reference_logits.safetensors: for each model, token ids and the logits of transformers loading
  the .gguf (`from_pretrained(dir, gguf_file=...)`, which dequantizes with gguf-py); for each vocabulary, the ids
  of transformers' tokenizer rebuilt from the .gguf (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`) on texts
  with control tokens, Unicode and whitespace runs.

The vocabularies are the tokenizer fixtures of Tests/LanguageModelsTests/Fixtures/tokenizers.

The script also writes the seeds of the fuzz-gguf target (Fuzz/Corpus/fuzz-gguf/, each under 8 KB): a tiny Llama
with a SentencePiece vocabulary, a tiny Qwen2 with a byte-level one, a file with one tensor of every type and a
metadata value of every type, a tiny Gemma-2 (llama.cpp's Gemma names and norms), a tiny SmolLM3, Phi-3 (fused
attn_qkv and ffn_up), OLMo-2 (post-norms, q/k norms over the whole projection), GPT-2 (fused attn_qkv with bias,
position_embd), OLMo-3 with YaRN rope scaling, OLMoE (stacked experts) and Mixtral (per-expert tensors; make_gguf_moe_fixtures.py), and truncated or
lying variants. Only the seeds: `python3 scripts/make_gguf_fixtures.py fuzz-seeds`.
"""

import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import transformers
from gguf import GGML_QUANT_SIZES
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter, RopeScalingType, TokenType
from gguf.quants import dequantize, quantize
from safetensors.numpy import load_file, save_file
from transformers.convert_slow_tokenizer import bytes_to_unicode

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures", "gguf")
SEEDS = os.path.join(ROOT, "Fuzz", "Corpus", "fuzz-gguf")
TOKENIZERS = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures", "tokenizers")

K_QUANT_LAYOUT = {
    # type: (bytes per 256-value block, offsets of fp16 `d` and `dmin` (None when absent), largest |scale * code|)
    Q.Q2_K: (84, 80, 82, 15 * 3),
    Q.Q3_K: (110, 108, None, 32 * 4),
    Q.Q4_K: (144, 0, 2, 63 * 15),
    Q.Q5_K: (176, 0, 2, 63 * 31),
    Q.Q6_K: (210, 208, None, 128 * 32),
}

I_QUANTS = [Q.IQ4_NL, Q.IQ4_XS, Q.IQ3_S, Q.IQ3_XXS, Q.IQ2_S, Q.IQ2_XS, Q.IQ2_XXS, Q.IQ1_S, Q.IQ1_M]

TEXTS = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "  leading spaces,   runs   of spaces\tand\ttabs\n\nnew lines  \n",
    "café naïve Ωmega 日本語 emoji 🤖🚀 and numbers 1234567 don't we'll",
    "<s>control tokens</s> stay whole: <unk><|endoftext|><|im_start|>user\nhi<|im_end|>",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>",
    "",
]


def random_k_blocks(rng, qtype, rows, columns, target=0.25):
    """Random K-quant rows: random codes and scales, fp16 d (and dmin) chosen so values stay near `target`."""
    size, d_offset, dmin_offset, largest = K_QUANT_LAYOUT[qtype]
    blocks = rng.integers(0, 256, size=(rows, columns // 256, size), dtype=np.uint8)
    d = (rng.uniform(0.5, 1.0, size=(rows, columns // 256)) * target / largest).astype(np.float16)
    blocks[..., d_offset:d_offset + 2] = d.view(np.uint8).reshape(rows, columns // 256, 2)
    if dmin_offset is not None:
        dmin = (rng.uniform(0.5, 1.0, size=(rows, columns // 256)) * target / 63).astype(np.float16)
        blocks[..., dmin_offset:dmin_offset + 2] = dmin.view(np.uint8).reshape(rows, columns // 256, 2)
    return blocks.reshape(rows, -1)


def with_iquant_scale(blocks, qtype, d):
    """`blocks` ([..., bytes per block] uint8) with fp16 `d` ([...]) written as the block scale: the first two bytes,
    or for IQ1_M the top nibbles of its four uint16 scales (low nibble of d first)."""
    blocks = blocks.copy()
    bits = d.astype(np.float16).view(np.uint16)
    if qtype == Q.IQ1_M:
        for k in range(4):
            scales = blocks[..., 48 + 2 * k:50 + 2 * k].copy().view(np.uint16)[..., 0]
            scales = (scales & 0x0FFF) | (((bits >> (4 * k)) & 0xF) << 12).astype(np.uint16)
            blocks[..., 48 + 2 * k:50 + 2 * k] = scales.astype(np.uint16)[..., None].view(np.uint8)
    else:
        blocks[..., 0:2] = bits[..., None].view(np.uint8)
    return blocks


def random_iquant_blocks(rng, qtype, rows, columns, target=0.15):
    """Random i-quant rows: random codes, signs and sub-block scales, each block's fp16 scale chosen so that the
    values' standard deviation is near `target` (the package cannot quantize i-quants)."""
    values_per_block, size = GGML_QUANT_SIZES[qtype]
    count = columns // values_per_block
    blocks = rng.integers(0, 256, size=(rows, count, size), dtype=np.uint8)
    blocks = with_iquant_scale(blocks, qtype, np.ones((rows, count)))
    unit = dequantize(blocks.reshape(rows * count, size), qtype).reshape(rows, count, values_per_block)
    spread = np.maximum(unit.std(axis=-1), 1e-3)
    blocks = with_iquant_scale(blocks, qtype, rng.uniform(0.7, 1.3, size=(rows, count)) * target / spread)
    return blocks.reshape(rows, -1)


def encode(rng, values, qtype):
    """(what GGUFWriter.add_tensor takes, its raw_dtype) for float32 `values` stored as `qtype`."""
    if qtype == Q.F32:
        return values.astype(np.float32), None
    if qtype == Q.F16:
        return values.astype(np.float16), None
    if qtype in K_QUANT_LAYOUT:
        return random_k_blocks(rng, qtype, *values.shape), qtype
    if qtype in I_QUANTS:
        return random_iquant_blocks(rng, qtype, *values.shape), qtype
    return quantize(values, qtype), qtype


def stored_values(data, qtype):
    """The float32 values a reader recovers from what `encode` returned."""
    return dequantize(data, Q.F32 if qtype is None and data.dtype == np.float32 else Q.F16 if qtype is None else qtype)


def make_quants():
    rng = np.random.default_rng(13)
    writer = GGUFWriter(os.path.join(OUT, "quants.gguf"), "quants")
    expected = {}
    for qtype in [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K]:
        values = rng.standard_normal((3, 512)).astype(np.float32)
        data, raw = encode(rng, values, qtype)
        writer.add_tensor(qtype.name, data, raw_dtype=raw)
        expected[qtype.name] = np.ascontiguousarray(stored_values(data, raw).reshape(3, 512).astype(np.float32))
    finish(writer)
    save_file(expected, os.path.join(OUT, "quants_expected.safetensors"))


def make_iquants():
    """iquants.gguf (one [3, 512] tensor per i-quant) with gguf-py's values, and llama-iquants.gguf (a tiny Llama
    whose matrices are all i-quants) with the logits of transformers loading it."""
    rng = np.random.default_rng(17)
    writer = GGUFWriter(os.path.join(OUT, "iquants.gguf"), "quants")
    expected = {}
    for qtype in I_QUANTS:
        data, raw = encode(rng, np.zeros((3, 512), dtype=np.float32), qtype)
        writer.add_tensor(qtype.name, data, raw_dtype=raw)
        expected[qtype.name] = np.ascontiguousarray(stored_values(data, raw).reshape(3, 512).astype(np.float32))
    finish(writer)
    save_file(expected, os.path.join(OUT, "iquants_expected.safetensors"))

    vocabulary_size = len(vocabulary(load_tokenizer_json("llama2"))[0])
    config = transformers.LlamaConfig(
        vocab_size=vocabulary_size, hidden_size=256, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    randomize(model, 5)
    write_model("llama-iquants.gguf", "llama", model, config, llama_iquant_types,
                lambda writer: add_sentencepiece_vocabulary(writer, "llama2"), permute=True)
    logits = load_file(os.path.join(OUT, "reference_logits.safetensors"))
    with open(os.path.join(OUT, "reference.json"), encoding="utf-8") as file:
        reference = json.load(file)
    reference["llama-iquants.gguf"] = {"logits": logits_reference(OUT, "llama-iquants.gguf", vocabulary_size, 6, logits)}
    save_file(logits, os.path.join(OUT, "reference_logits.safetensors"))
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as file:
        json.dump(reference, file, ensure_ascii=False)


def llama_iquant_types(name):
    if not name.startswith("blk."):
        return {"token_embd.weight": Q.IQ4_NL, "output.weight": Q.IQ4_XS}[name]
    layer, kind = int(name.split(".")[1]), name.split(".")[2]
    return {"attn_q": [Q.IQ4_XS, Q.IQ3_S], "attn_k": [Q.IQ4_NL, Q.IQ3_XXS], "attn_v": [Q.IQ2_S, Q.IQ4_XS],
            "attn_output": [Q.IQ2_XS, Q.IQ4_NL], "ffn_gate": [Q.IQ2_XXS, Q.IQ4_XS], "ffn_up": [Q.IQ1_S, Q.IQ4_XS],
            "ffn_down": [Q.IQ1_M, Q.IQ4_XS]}[kind][layer]


def finish(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def llama_permute(weights, heads):
    """convert_hf_to_gguf's LlamaModel.permute: interleave the two rotary halves of each head."""
    return weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def llama_unpermute(weights, heads):
    """The inverse of `llama_permute`."""
    return weights.reshape(heads, weights.shape[0] // heads // 2, 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def randomize(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if parameter.ndim >= 2:
                parameter.copy_(0.3 * noise)
            elif "norm" in name:
                parameter.copy_(1 + 0.2 * noise)
            else:
                parameter.copy_(0.1 * noise)


def load_tokenizer_json(name):
    with open(os.path.join(TOKENIZERS, name, "tokenizer.json"), encoding="utf-8") as file:
        return json.load(file)


def vocabulary(tokenizer_json):
    """Tokens by id (model vocabulary and added tokens) and the set of special added tokens."""
    by_id = {index: token for token, index in tokenizer_json["model"]["vocab"].items()}
    special = set()
    for added in tokenizer_json["added_tokens"]:
        by_id[added["id"]] = added["content"]
        if added["special"]:
            special.add(added["content"])
    assert sorted(by_id) == list(range(len(by_id))), "token ids must be dense"
    return [by_id[i] for i in range(len(by_id))], special


def add_sentencepiece_vocabulary(writer, name):
    """A `llama` (SentencePiece) vocabulary as llama.cpp writes it: tokens, scores, token types, no merges."""
    tokens, special = vocabulary(load_tokenizer_json(name))
    types = []
    for token in tokens:
        if token == "<unk>":
            types.append(TokenType.UNKNOWN)
        elif token in special:
            types.append(TokenType.CONTROL)
        elif len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            types.append(TokenType.BYTE)
        else:
            types.append(TokenType.NORMAL)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores([-float(i) for i in range(len(tokens))])
    writer.add_token_types(types)
    writer.add_bos_token_id(tokens.index("<s>"))
    writer.add_eos_token_id(tokens.index("</s>"))
    writer.add_unk_token_id(tokens.index("<unk>"))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    return len(tokens)


def add_byte_level_vocabulary(writer, name, pre, bos, eos, add_bos):
    """A `gpt2` (byte-level BPE) vocabulary as llama.cpp writes it: tokens, token types, merges."""
    tokenizer_json = load_tokenizer_json(name)
    tokens, special = vocabulary(tokenizer_json)
    alphabet = set(bytes_to_unicode().values())
    types = []
    for token in tokens:
        if token in special:
            types.append(TokenType.CONTROL)
        elif set(token) <= alphabet:
            types.append(TokenType.NORMAL)
        else:
            types.append(TokenType.USER_DEFINED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer_json["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index(bos))
    writer.add_eos_token_id(tokens.index(eos))
    writer.add_add_bos_token(add_bos)
    return len(tokens)


def add_decoder_shape(writer, config):
    """The decoder's sizes, in the order llama.cpp's converter writes them: context, widths, layers and heads."""
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)


def add_rope_scaling(writer, rope):
    """The rope scaling keys convert_hf_to_gguf's TextModel.set_gguf_parameters writes from a `rope_parameters` entry
    (the `full_attention` one of a model keyed by layer type): none for `default`; type and factor for `linear`; type,
    factor, original context and, when the entry has them, `attention_factor`, `beta_fast`, `beta_slow` for `yarn`."""
    if rope.get("rope_type") == "linear":
        writer.add_rope_scaling_type(RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(rope["factor"])
    elif rope.get("rope_type") == "yarn":
        writer.add_rope_scaling_type(RopeScalingType.YARN)
        writer.add_rope_scaling_factor(rope["factor"])
        writer.add_rope_scaling_orig_ctx_len(rope["original_max_position_embeddings"])
        if rope.get("attention_factor") is not None:
            writer.add_rope_scaling_yarn_attn_factor(rope["attention_factor"])
        if rope.get("beta_fast") is not None:
            writer.add_rope_scaling_yarn_beta_fast(rope["beta_fast"])
        if rope.get("beta_slow") is not None:
            writer.add_rope_scaling_yarn_beta_slow(rope["beta_slow"])


def add_placeholder_vocabulary(writer, size, bos, eos):
    """A placeholder SentencePiece (`llama`) vocabulary of `size` tokens: <unk> <s> </s> and byte pieces."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{byte:02X}>" for byte in range(size - 3)]
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types([TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * (len(tokens) - 3))
    writer.add_bos_token_id(bos)
    writer.add_eos_token_id(eos)
    return size


def write_model(file_name, architecture, model, config, tensor_types, add_vocabulary, permute, directory=OUT,
                key_length=False, extra=None):
    """The file convert_hf_to_gguf writes for a Llama-layout model (llama, qwen2, qwen3, smollm3): llama.cpp's names,
    q/k rows permuted with `permute`, matrices as `tensor_types(gguf name)`, vectors F32, no `output.weight` when the
    embeddings are tied, rope scaling as `add_rope_scaling` writes it; `attention.key_length` and `value_length` (the
    head size, which the converter writes for a config with `head_dim`) when `key_length`; `extra(writer)` adds an
    architecture's own keys. Returns the state dict of
    the values a reader recovers (q/k rows un-permuted)."""
    rng = np.random.default_rng(7)
    writer = GGUFWriter(os.path.join(directory, file_name), architecture)
    writer.add_custom_alignment(64)
    writer.add_name(f"tiny-{architecture}")
    vocabulary_size = add_vocabulary(writer)
    assert vocabulary_size == config.vocab_size
    add_decoder_shape(writer, config)
    writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"] if hasattr(config, "rope_parameters") and config.rope_parameters else config.rope_theta)
    add_rope_scaling(writer, getattr(config, "rope_parameters", None) or {})
    if key_length:
        writer.add_key_length(config.head_dim)
        writer.add_value_length(config.head_dim)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    if extra:
        extra(writer)

    names = {"embed_tokens": "token_embd", "norm": "output_norm", "lm_head": "output", "self_attn.q_proj": "attn_q",
             "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
             "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    stored = {}
    for hf_name, parameter in model.state_dict().items():
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        parts = hf_name.split(".")
        if parts[0] == "model" and parts[1] == "layers":
            layer, module, kind = parts[2], ".".join(parts[3:-1]), parts[-1]
            gguf_name, short = f"blk.{layer}.{names[module]}.{kind}", names[module]
        else:
            module, kind = ".".join(parts[1:-1]) if parts[0] == "model" else parts[0], parts[-1]
            gguf_name, short = f"{names[module]}.{kind}", names[module]
        values = parameter.float().numpy()
        if permute and short == "attn_q":
            values = llama_permute(values, heads)
        elif permute and short == "attn_k":
            values = llama_permute(values, kv_heads)
        qtype = Q.F32 if values.ndim == 1 else tensor_types(gguf_name)
        data, raw = encode(rng, values, qtype)
        writer.add_tensor(gguf_name, data, raw_dtype=raw)
        read_back = stored_values(data, raw).reshape(values.shape).astype(np.float32)
        if permute and short in ("attn_q", "attn_k"):
            read_back = llama_unpermute(read_back, heads if short == "attn_q" else kv_heads)
        stored[hf_name] = torch.from_numpy(np.ascontiguousarray(read_back))
    finish(writer)
    return stored


def llama_types(name):
    layer = int(name.split(".")[1]) if name.startswith("blk.") else None
    if layer is None:
        return {"token_embd.weight": Q.Q8_0, "output.weight": Q.Q4_0}[name]
    kind = name.split(".")[2]
    if kind == "ffn_down":
        return [Q.Q2_K, Q.Q3_K, Q.Q4_K][layer]
    return {"attn_q": Q.Q4_0, "attn_k": Q.Q4_1, "attn_v": Q.Q5_0, "attn_output": Q.Q5_1,
            "ffn_gate": Q.BF16 if layer % 2 else Q.Q8_0, "ffn_up": [Q.F32, Q.F16, Q.Q4_1][layer]}[kind]


def qwen2_types(name):
    layer = int(name.split(".")[1]) if name.startswith("blk.") else None
    if layer is None:
        return Q.Q8_0
    kind = name.split(".")[2]
    if kind == "ffn_down":
        return [Q.Q5_K, Q.Q6_K][layer]
    return {"attn_q": Q.Q8_0, "attn_k": Q.Q5_1, "attn_v": Q.Q4_0, "attn_output": Q.Q4_1,
            "ffn_gate": Q.Q5_0, "ffn_up": [Q.BF16, Q.Q8_0][layer]}[kind]


def token_ids(directory, file_name, vocabulary_size):
    """transformers' ids for TEXTS. A text for which transformers gives an id outside the file's vocabulary is left
    out: for a byte-level vocabulary without `<|endoftext|>` its GPT2Tokenizer adds that token as a new id."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory, gguf_file=file_name)
    kept = {"texts": [], "ids": [], "ids_without_special_tokens": [], "left_out": []}
    for text in TEXTS:
        ids, plain = tokenizer(text)["input_ids"], tokenizer(text, add_special_tokens=False)["input_ids"]
        if max(ids + plain, default=0) >= vocabulary_size:
            kept["left_out"].append(text)
            continue
        kept["texts"].append(text)
        kept["ids"].append(ids)
        kept["ids_without_special_tokens"].append(plain)
    return kept


def logits_reference(directory, file_name, vocabulary_size, seed, logits_out):
    """Token ids for reference.json; their logits go to `logits_out` (written to reference_logits.safetensors)."""
    model = transformers.AutoModelForCausalLM.from_pretrained(directory, gguf_file=file_name, dtype=torch.float32)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocabulary_size, size=(2, 6)).tolist()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(ids)).logits.float().numpy()
    assert logits.std(axis=-1).min() > 0.5, "logits too close to uniform"
    logits_out[file_name] = np.ascontiguousarray(logits)
    return {"input_ids": ids}


def make_models():
    reference = {}
    llama_vocabulary = len(vocabulary(load_tokenizer_json("llama2"))[0])
    config = transformers.LlamaConfig(
        vocab_size=llama_vocabulary, hidden_size=64, intermediate_size=256, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    randomize(model, 1)
    write_model("llama.gguf", "llama", model, config, llama_types,
                lambda writer: add_sentencepiece_vocabulary(writer, "llama2"), permute=True)

    qwen_vocabulary = len(vocabulary(load_tokenizer_json("qwen2"))[0])
    config = transformers.Qwen2Config(
        vocab_size=qwen_vocabulary, hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1000000.0,
        tie_word_embeddings=True)
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(config)
    randomize(model, 2)
    write_model("qwen2.gguf", "qwen2", model, config, qwen2_types,
                lambda writer: add_byte_level_vocabulary(writer, "qwen2", "qwen2", "<|endoftext|>", "<|im_end|>", False),
                permute=False)

    for name, architecture, add in [
        ("llama3-tokenizer.gguf", "llama",
         lambda w: add_byte_level_vocabulary(w, "llama3", "llama-bpe", "<|begin_of_text|>", "<|end_of_text|>", True)),
        ("gpt2-tokenizer.gguf", "gpt2",
         lambda w: add_byte_level_vocabulary(w, "gpt2", "gpt-2", "<|endoftext|>", "<|endoftext|>", False)),
    ]:
        writer = GGUFWriter(os.path.join(OUT, name), architecture)
        add(writer)
        finish(writer)

    logits = {}
    reference["llama.gguf"] = {"logits": logits_reference(OUT, "llama.gguf", llama_vocabulary, 3, logits),
                               "tokens": token_ids(OUT, "llama.gguf", llama_vocabulary)}
    reference["qwen2.gguf"] = {"logits": logits_reference(OUT, "qwen2.gguf", qwen_vocabulary, 4, logits),
                               "tokens": token_ids(OUT, "qwen2.gguf", qwen_vocabulary)}
    for name, vocabulary_name in [("llama3-tokenizer.gguf", "llama3"), ("gpt2-tokenizer.gguf", "gpt2")]:
        reference[name] = {"tokens": token_ids(OUT, name, len(vocabulary(load_tokenizer_json(vocabulary_name))[0]))}
    save_file(logits, os.path.join(OUT, "reference_logits.safetensors"))
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as file:
        json.dump(reference, file, ensure_ascii=False)


GEMMA_TEXTS = TEXTS + ["<start_of_turn>user\nhi there<end_of_turn>\n<start_of_turn>model\n<bos>  two  spaces<mask>"]


def add_gemma_vocabulary(writer):
    """A Gemma-style SentencePiece vocabulary as llama.cpp writes it: the llama2 fixture's pieces after Gemma's
    special tokens, runs of spaces stored as real spaces, random scores (Gemma's do not follow its merge order)."""
    pieces, _ = vocabulary(load_tokenizer_json("llama2"))
    pieces = [p for p in pieces if p not in ("<unk>", "<s>", "</s>", "<x>")]
    head = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
    spaces = [run for run in ["  ", "   ", "    "] if "\u2581" * len(run) not in pieces]
    tokens = head + pieces + spaces
    types = [TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.UNKNOWN] + [TokenType.CONTROL] * 3
    for token in pieces + spaces:
        byte = len(token) == 6 and token.startswith("<0x") and token.endswith(">")
        types.append(TokenType.BYTE if byte else TokenType.NORMAL)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(np.random.default_rng(11).uniform(-20, 0, len(tokens)).tolist())
    writer.add_token_types(types)
    writer.add_pad_token_id(0)
    writer.add_eos_token_id(1)
    writer.add_bos_token_id(2)
    writer.add_unk_token_id(3)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    return len(tokens)


GEMMA_NAMES = {
    "gemma": {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"},
    "gemma2": {"input_layernorm": "attn_norm", "post_attention_layernorm": "post_attention_norm",
               "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm"},
}
GEMMA_NAMES["gemma3"] = dict(GEMMA_NAMES["gemma2"], **{"self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm"})


def gemma_types(name):
    layer = int(name.split(".")[1]) if name.startswith("blk.") else None
    if layer is None:
        return Q.Q8_0
    kind = name.split(".")[2]
    return {"attn_q": Q.F16, "attn_k": Q.Q8_0, "attn_v": Q.BF16, "attn_output": Q.Q4_0, "ffn_gate": Q.Q5_1,
            "ffn_up": [Q.F32, Q.Q8_0][layer % 2], "ffn_down": Q.Q5_0}[kind]


def write_gemma(file_name, architecture, model, config, add_vocabulary=None, tensor_types=gemma_types, directory=OUT):
    """The file convert_hf_to_gguf writes for a Gemma model; returns the state dict of the values stored (norms
    minus 1, as transformers reads them back)."""
    rng = np.random.default_rng(7)
    writer = GGUFWriter(os.path.join(directory, file_name), architecture)
    writer.add_custom_alignment(64)
    writer.add_name(f"tiny-{architecture}")
    assert (add_vocabulary or add_gemma_vocabulary)(writer) == config.vocab_size
    add_decoder_shape(writer, config)
    writer.add_key_length(config.head_dim)
    writer.add_value_length(config.head_dim)
    writer.add_rope_dimension_count(config.head_dim)
    rope = config.rope_parameters
    writer.add_rope_freq_base((rope.get("full_attention") or rope)["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    if architecture != "gemma":
        writer.add_sliding_window(config.sliding_window)
    if architecture == "gemma2":
        writer.add_attn_logit_softcapping(config.attn_logit_softcapping)
        writer.add_final_logit_softcapping(config.final_logit_softcapping)
    names = dict(GEMMA_NAMES[architecture], **{
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down"})
    stored = {}
    for hf_name, parameter in model.state_dict().items():
        if hf_name == "lm_head.weight":
            continue
        parts = hf_name.split(".")
        if parts[1] == "layers":
            gguf_name = f"blk.{parts[2]}.{names['.'.join(parts[3:-1])]}.{parts[-1]}"
        else:
            gguf_name = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}[hf_name]
        values = parameter.float().numpy()
        if hf_name.endswith("norm.weight"):
            values = values + 1
        qtype = Q.F32 if values.ndim == 1 else tensor_types(gguf_name)
        data, raw = encode(rng, values, qtype)
        writer.add_tensor(gguf_name, data, raw_dtype=raw)
        read_back = stored_values(data, raw).reshape(values.shape).astype(np.float32)
        stored[hf_name] = torch.from_numpy(read_back - 1 if hf_name.endswith("norm.weight") else read_back)
    finish(writer)
    return stored


def make_gemma_models():
    vocabulary_size = add_gemma_vocabulary(GGUFWriter(os.devnull, "gemma"))
    shape = dict(vocab_size=vocabulary_size, hidden_size=32, intermediate_size=64, num_attention_heads=4, head_dim=16,
                 max_position_embeddings=64, rms_norm_eps=1e-6, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    configs = {
        "gemma": transformers.GemmaConfig(num_hidden_layers=2, num_key_value_heads=1, **shape),
        "gemma2": transformers.Gemma2Config(num_hidden_layers=2, num_key_value_heads=2, sliding_window=4, **shape),
        "gemma3": transformers.Gemma3TextConfig(num_hidden_layers=6, num_key_value_heads=2, sliding_window=4, **shape),
    }
    reference, logits = {}, {}
    models, stored = {}, {}
    for seed, (architecture, config) in enumerate(configs.items()):
        torch.manual_seed(0)
        models[architecture] = transformers.AutoModelForCausalLM.from_config(config).float().eval()
        randomize(models[architecture], 20 + seed)
        stored[architecture] = write_gemma(f"{architecture}.gguf", architecture, models[architecture], config)
    for seed, (architecture, model) in enumerate(models.items()):
        name = f"{architecture}.gguf"
        ids = np.random.default_rng(30 + seed).integers(0, vocabulary_size, size=(2, 9)).tolist()
        if architecture == "gemma":
            model.load_state_dict(stored[architecture], strict=False)
            model.tie_weights()
        else:
            model = transformers.AutoModelForCausalLM.from_pretrained(OUT, gguf_file=name, dtype=torch.float32)
        with torch.no_grad():
            values = model(input_ids=torch.tensor(ids)).logits.float().numpy()
        assert values.std(axis=-1).min() > 0.5, "logits too close to uniform"
        logits[name] = np.ascontiguousarray(values)
        # transformers refuses gemma GGUF files altogether; gemma.gguf holds gemma2.gguf's vocabulary, and
        # transformers builds the same tokenizer for gemma as for gemma2 (GGUF_SENTENCEPIECE_BUILDERS).
        tokenizer = transformers.AutoTokenizer.from_pretrained(OUT, gguf_file="gemma2.gguf" if architecture == "gemma" else name)
        texts = [text for text in GEMMA_TEXTS
                 if max(tokenizer(text)["input_ids"], default=0) < vocabulary_size]
        reference[name] = {"logits": {"input_ids": ids}, "tokens": {
            "texts": texts, "ids": [tokenizer(text)["input_ids"] for text in texts],
            "ids_without_special_tokens": [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]}}
    save_file(logits, os.path.join(OUT, "gemma_reference_logits.safetensors"))
    with open(os.path.join(OUT, "gemma_reference.json"), "w", encoding="utf-8") as file:
        json.dump(reference, file, ensure_ascii=False)

PHI2_OLMO_NAMES = {
    "phi2": {"model.embed_tokens": "token_embd", "model.final_layernorm": "output_norm", "lm_head": "output",
             "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.dense": "attn_output", "mlp.fc1": "ffn_up", "mlp.fc2": "ffn_down"},
    "olmo": {"model.embed_tokens": "token_embd", "lm_head": "output", "self_attn.q_proj": "attn_q",
             "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"},
}
PHI2_OLMO_TYPES = {
    "phi2": {"token_embd": Q.Q8_0, "output": Q.Q5_0, "attn_q": Q.F16, "attn_k": Q.Q8_0, "attn_v": Q.BF16,
             "attn_output": Q.Q4_0, "ffn_up": Q.Q5_1, "ffn_down": Q.Q4_K},
    "olmo": {"token_embd": Q.Q8_0, "output": Q.F16, "attn_q": Q.Q4_0, "attn_k": Q.Q8_0, "attn_v": Q.F16,
             "attn_output": Q.BF16, "ffn_gate": Q.Q5_0, "ffn_up": Q.Q4_1, "ffn_down": Q.Q5_K},
}


def write_phi2_or_olmo(file_name, architecture, model, config, fused_qkv=False):
    """The file convert_hf_to_gguf writes for a Phi (`Phi2Model`) or OLMo (`OlmoModel`) checkpoint: llama.cpp's
    tensor names and metadata (phi2: `attention.layer_norm_epsilon`, `rope.dimension_count` the rotated part of each
    head, feed_forward_length 4 * embedding_length, no rope base; olmo: LayerNorm epsilon 1e-5, `clamp_kqv`, q/k rows
    permuted as for llama); with `fused_qkv`, q, k and v (weights and biases) stored as one Q8_0 `attn_qkv` with their
    rows in that order, as conversions of phi-2's original checkpoint did. Returns the state dict of the values a reader
    recovers (q/k rows un-permuted)."""
    rng = np.random.default_rng(11)
    writer = GGUFWriter(os.path.join(OUT, file_name), architecture)
    writer.add_name(f"tiny-{architecture}")
    assert add_sentencepiece_vocabulary(writer, "llama2") == config.vocab_size
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    if architecture == "phi2":
        assert config.intermediate_size == 4 * config.hidden_size
        writer.add_feed_forward_length(4 * config.hidden_size)
        writer.add_layer_norm_eps(config.layer_norm_eps)
        writer.add_rope_dimension_count(int(config.rope_parameters["partial_rotary_factor"] * config.hidden_size) // heads)
    else:
        writer.add_feed_forward_length(config.intermediate_size)
        writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
        writer.add_layer_norm_eps(1e-5)
        writer.add_clamp_kqv(config.clip_qkv)
    names, types = PHI2_OLMO_NAMES[architecture], PHI2_OLMO_TYPES[architecture]
    entries, pending = [], {}  # entries: (gguf name, short name, values, [(hf name, rows)])
    for hf_name, parameter in model.state_dict().items():
        parts = hf_name.split(".")
        if parts[1] == "layers":
            short = names[".".join(parts[3:-1])]
            gguf_name = f"blk.{parts[2]}.{short}.{parts[-1]}"
        else:
            short = names[".".join(parts[:-1])]
            gguf_name = f"{short}.{parts[-1]}"
        values = parameter.float().numpy()
        if fused_qkv and short in ("attn_q", "attn_k", "attn_v"):
            group = pending.setdefault((parts[2], parts[-1]), [])
            group.append((hf_name, values))
            if len(group) == 3:
                entries.append((f"blk.{parts[2]}.attn_qkv.{parts[-1]}", "attn_qkv",
                                np.concatenate([v for _, v in group]), [(n, v.shape[0]) for n, v in group]))
            continue
        entries.append((gguf_name, short, values, [(hf_name, values.shape[0])]))
    stored = {}
    for gguf_name, short, values, sources in entries:
        permutation = {"attn_q": heads, "attn_k": kv_heads}.get(short) if architecture == "olmo" else None
        if permutation and values.ndim == 2:
            values = llama_permute(values, permutation)
        qtype = Q.F32 if values.ndim == 1 else Q.Q8_0 if short == "attn_qkv" else types[short]
        data, raw = encode(rng, values, qtype)
        writer.add_tensor(gguf_name, data, raw_dtype=raw)
        read_back = stored_values(data, raw).reshape(values.shape).astype(np.float32)
        if permutation and values.ndim == 2:
            read_back = read_back.reshape(permutation, read_back.shape[0] // permutation // 2, 2, -1) \
                .swapaxes(1, 2).reshape(read_back.shape)
        start = 0
        for hf_name, rows in sources:
            stored[hf_name] = torch.from_numpy(np.ascontiguousarray(read_back[start:start + rows]))
            start += rows
    finish(writer)
    return stored


def make_phi2_olmo_models():
    """phi2.gguf, olmo.gguf and phi2-fused-qkv.gguf with the logits of the transformers models they were written from, holding the values
    the files store (transformers' GGUF loader reads neither architecture)."""
    size = len(vocabulary(load_tokenizer_json("llama2"))[0])
    configs = {
        "phi2": transformers.PhiConfig(
            vocab_size=size, hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=64, partial_rotary_factor=0.5, layer_norm_eps=1e-5, hidden_act="gelu_new",
            tie_word_embeddings=False),
        "olmo": transformers.OlmoConfig(
            vocab_size=size, hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, rope_theta=10000.0, clip_qkv=2.0,
            tie_word_embeddings=False),
    }
    reference, logits = {}, {}
    cases = [("phi2.gguf", "phi2", False), ("olmo.gguf", "olmo", False), ("phi2-fused-qkv.gguf", "phi2", True)]
    for seed, (name, architecture, fused_qkv) in enumerate(cases):
        config = configs[architecture]
        torch.manual_seed(0)
        model = transformers.AutoModelForCausalLM.from_config(config).float().eval()
        randomize(model, 40 + seed)
        model.load_state_dict(write_phi2_or_olmo(name, architecture, model, config, fused_qkv))
        ids = np.random.default_rng(50 + seed).integers(0, size, size=(2, 7)).tolist()
        with torch.no_grad():
            values = model(input_ids=torch.tensor(ids)).logits.float().numpy()
        assert values.std(axis=-1).min() > 0.5, "logits too close to uniform"
        logits[name] = np.ascontiguousarray(values)
        reference[name] = {"input_ids": ids}
    save_file(logits, os.path.join(OUT, "phi2_olmo_reference_logits.safetensors"))
    with open(os.path.join(OUT, "phi2_olmo_reference.json"), "w", encoding="utf-8") as file:
        json.dump(reference, file)


def make_smollm3_model():
    """smollm3.gguf and smollm3_reference.json (see the module docstring)."""
    size = len(vocabulary(load_tokenizer_json("llama2"))[0])
    config = transformers.SmolLM3Config(
        vocab_size=size, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, no_rope_layer_interval=4,
        rope_parameters={"rope_type": "default", "rope_theta": 500.0}, tie_word_embeddings=True, pad_token_id=0,
        bos_token_id=1, eos_token_id=2)
    assert config.no_rope_layers == [1, 1, 1, 0]
    torch.manual_seed(0)
    model = transformers.SmolLM3ForCausalLM(config).float().eval()
    randomize(model, 60)
    write_model("smollm3.gguf", "smollm3", model, config, lambda name: Q.F32,
                lambda writer: add_sentencepiece_vocabulary(writer, "llama2"), permute=True)
    ids = np.random.default_rng(61).integers(0, size, size=(2, 7)).tolist()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(ids)).logits.float().numpy()
    assert logits.std(axis=-1).min() > 0.5, "logits too close to uniform"
    with open(os.path.join(OUT, "smollm3_reference.json"), "w", encoding="utf-8") as file:
        json.dump({"input_ids": ids, "logits": logits.round(6).tolist()}, file, separators=(",", ":"))


PHI3_NAMES = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output",
              "input_layernorm": "attn_norm", "self_attn.qkv_proj": "attn_qkv", "self_attn.o_proj": "attn_output",
              "post_attention_layernorm": "ffn_norm", "mlp.gate_up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def write_phi3(file_name, model, config, tensor_types, directory=OUT,
               add_vocabulary=lambda writer: add_sentencepiece_vocabulary(writer, "llama2")):
    """The file convert_hf_to_gguf writes for a Phi-3 checkpoint (`Phi3MiniModel`): llama.cpp's names with q/k/v
    fused in `attn_qkv` and gate/up in `ffn_up` (rows as in Hugging Face's `qkv_proj` and `gate_up_proj`, nothing
    permuted), `rope.dimension_count` = int(partial_rotary_factor * hidden_size) // heads,
    `rope.scaling.original_context_length`, `attention.sliding_window` (0 when absent), and for LongRoPE the
    `rope_scaling.attn_factor` and the `rope_factors_long` / `rope_factors_short` tensors. Matrices are stored as
    `tensor_types(gguf name)`, norms and rope factors as F32; no `output.weight` when the embeddings are tied.
    Returns the state dict of the values a reader recovers."""
    rng = np.random.default_rng(12)
    writer = GGUFWriter(os.path.join(directory, file_name), "phi3")
    writer.add_name("tiny-phi3")
    assert add_vocabulary(writer) == config.vocab_size
    rope = config.rope_parameters
    original = config.original_max_position_embeddings
    writer.add_context_length(config.max_position_embeddings)
    writer.add_rope_scaling_orig_ctx_len(original)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_dimension_count(int(rope["partial_rotary_factor"] * config.hidden_size) // config.num_attention_heads)
    writer.add_rope_freq_base(rope["rope_theta"])
    writer.add_sliding_window(config.sliding_window or 0)
    if rope["rope_type"] == "longrope":
        scale = config.max_position_embeddings / original
        writer.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(original)) if scale > 1 else 1.0)
        writer.add_tensor("rope_factors_long.weight", np.array(rope["long_factor"], dtype=np.float32))
        writer.add_tensor("rope_factors_short.weight", np.array(rope["short_factor"], dtype=np.float32))
    stored = {}
    for hf_name, parameter in model.state_dict().items():
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        parts = hf_name.split(".")
        if parts[1] == "layers":
            gguf_name = f"blk.{parts[2]}.{PHI3_NAMES['.'.join(parts[3:-1])]}.{parts[-1]}"
        else:
            gguf_name = f"{PHI3_NAMES['.'.join(parts[:-1])]}.{parts[-1]}"
        values = parameter.float().numpy()
        data, raw = encode(rng, values, Q.F32 if values.ndim == 1 else tensor_types(gguf_name))
        writer.add_tensor(gguf_name, data, raw_dtype=raw)
        stored[hf_name] = torch.from_numpy(np.ascontiguousarray(stored_values(data, raw).reshape(values.shape).astype(np.float32)))
    finish(writer)
    return stored


def make_phi3_models():
    """phi3.gguf (F32), phi3-f16.gguf (F16) and phi3-q8_0.gguf (Q8_0 matrices): one tiny random Phi-3 (grouped-query
    heads, untied output), with the logits of transformers loading each file (`from_pretrained(dir, gguf_file=...)`).
    phi3-longrope.gguf: a Phi-4-mini-like Phi-3 (partial rotary 0.5, LongRoPE with original context 16, tied
    embeddings, Q8_0 matrices); transformers' GGUF loader reads neither `rope.dimension_count` nor the rope
    factors, so its logits are those of the transformers model it was written from, holding the file's values, on a
    short pass (short factors) and one longer than the original context (long factors)."""
    size = len(vocabulary(load_tokenizer_json("llama2"))[0])
    common = dict(vocab_size=size, hidden_size=32, intermediate_size=64, num_hidden_layers=2, max_position_embeddings=64,
                  rms_norm_eps=1e-5, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    config = transformers.Phi3Config(num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
                                      tie_word_embeddings=False, **common)
    torch.manual_seed(0)
    model = transformers.Phi3ForCausalLM(config).float().eval()
    randomize(model, 70)
    reference, logits = {}, {}
    for seed, (name, matrix_type) in enumerate([("phi3.gguf", Q.F32), ("phi3-f16.gguf", Q.F16), ("phi3-q8_0.gguf", Q.Q8_0)]):
        write_phi3(name, model, config, lambda _: matrix_type)
        # pad_token_id: Phi3Config defaults to 32000, outside the tiny vocabulary; it does not touch the logits.
        loaded = transformers.AutoModelForCausalLM.from_pretrained(OUT, gguf_file=name, dtype=torch.float32,
                                                                   pad_token_id=0).eval()
        ids = np.random.default_rng(71 + seed).integers(0, size, size=(2, 7)).tolist()
        with torch.no_grad():
            values = loaded(input_ids=torch.tensor(ids)).logits.float().numpy()
        assert values.std(axis=-1).min() > 0.5, "logits too close to uniform"
        if matrix_type == Q.F32:  # the file holds the model it was written from
            with torch.no_grad():
                source = model(input_ids=torch.tensor(ids)).logits.float().numpy()
            assert np.abs(source - values).max() < 1e-4, "transformers reads phi3.gguf as another model"
        logits[f"{name}/0"] = np.ascontiguousarray(values)
        reference[name] = [{"input_ids": ids}]

    rng = np.random.default_rng(75)
    long_config = transformers.Phi3Config(
        num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True, original_max_position_embeddings=16,
        rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.5,
                         "short_factor": rng.uniform(1, 2, 4).tolist(), "long_factor": rng.uniform(2, 8, 4).tolist()},
        **common)
    torch.manual_seed(0)
    model = transformers.Phi3ForCausalLM(long_config).float().eval()
    randomize(model, 76)
    name = "phi3-longrope.gguf"
    model.load_state_dict(write_phi3(name, model, long_config, lambda _: Q.Q8_0), strict=False)
    model.tie_weights()
    reference[name] = []
    for index, length in enumerate([7, 24]):
        ids = np.random.default_rng(77 + index).integers(0, size, size=(1, length)).tolist()
        with torch.no_grad():
            values = model(input_ids=torch.tensor(ids)).logits.float().numpy()
        assert values.std(axis=-1).min() > 0.5, "logits too close to uniform"
        logits[f"{name}/{index}"] = np.ascontiguousarray(values)
        reference[name].append({"input_ids": ids})
    save_file(logits, os.path.join(OUT, "phi3_reference_logits.safetensors"))
    with open(os.path.join(OUT, "phi3_reference.json"), "w", encoding="utf-8") as file:
        json.dump(reference, file)


GPT2_NAMES = {"transformer.wte": "token_embd", "transformer.wpe": "position_embd", "transformer.ln_f": "output_norm",
              "lm_head": "output", "ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
              "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
GPT2_TYPES = {"token_embd": Q.F16, "position_embd": Q.F32, "output": Q.Q8_0, "attn_qkv": Q.Q8_0, "attn_output": Q.F16,
              "ffn_up": Q.Q8_0, "ffn_down": Q.F32}


def write_gpt2(file_name, model, config, separate_output, tensor_types=lambda name: GPT2_TYPES[name.split(".")[-2]],
               directory=OUT, add_vocabulary=lambda writer: add_byte_level_vocabulary(
                   writer, "gpt2", "gpt-2", "<|endoftext|>", "<|endoftext|>", False)):
    """The file convert_hf_to_gguf writes for a GPT-2 checkpoint (`GPT2Model`): llama.cpp's names, the `Conv1D`
    weights transposed to `[out, in]` (c_attn stays fused as `attn_qkv`, with its bias), `position_embd`,
    `attention.layer_norm_epsilon`, feed_forward_length n_inner (default 4 * embedding_length); with `separate_output` an
    `output.weight` (the converter writes a copy of the embedding; here a Q8_0 one), else none (tied). Matrices as
    `tensor_types(gguf name)` (default: by GPT2_TYPES), vectors F32."""
    rng = np.random.default_rng(14)
    writer = GGUFWriter(os.path.join(directory, file_name), "gpt2")
    writer.add_name("tiny-gpt2")
    assert add_vocabulary(writer) == config.vocab_size
    writer.add_block_count(config.n_layer)
    writer.add_context_length(config.n_ctx)
    writer.add_embedding_length(config.n_embd)
    writer.add_feed_forward_length(config.n_inner or 4 * config.n_embd)
    writer.add_head_count(config.n_head)
    writer.add_layer_norm_eps(config.layer_norm_epsilon)
    for hf_name, parameter in model.state_dict().items():
        if hf_name.endswith((".attn.bias", ".attn.masked_bias")) or (hf_name == "lm_head.weight" and not separate_output):
            continue
        parts = hf_name.split(".")
        if parts[1] == "h":
            short = GPT2_NAMES[".".join(parts[3:-1])]
            gguf_name = f"blk.{parts[2]}.{short}.{parts[-1]}"
        else:
            short = GPT2_NAMES[".".join(parts[:-1])]
            gguf_name = f"{short}.{parts[-1]}"
        values = parameter.float().numpy()
        if short in ("attn_qkv", "attn_output", "ffn_up", "ffn_down") and values.ndim == 2:
            values = values.T
        data, raw = encode(rng, np.ascontiguousarray(values), Q.F32 if values.ndim == 1 else tensor_types(gguf_name))
        writer.add_tensor(gguf_name, data, raw_dtype=raw)
    finish(writer)


def make_gpt2_models():
    """gpt2.gguf (separate Q8_0 output.weight, mixed F32/F16/Q8_0 matrices) and gpt2-tied.gguf (no output.weight):
    one tiny random GPT-2 with the byte-level gpt2 vocabulary, with the logits of transformers loading each file
    (`from_pretrained(dir, gguf_file=...)`) in gpt2_reference.json / gpt2_reference_logits.safetensors."""
    size = len(vocabulary(load_tokenizer_json("gpt2"))[0])
    config = transformers.GPT2Config(vocab_size=size, n_embd=32, n_layer=2, n_head=4, n_positions=32, n_ctx=32,
                                     layer_norm_epsilon=1e-5, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).float().eval()
    randomize(model, 80)
    generator = torch.Generator().manual_seed(80)
    with torch.no_grad():  # LayerNorm gains near 1 (randomize knows norms by the word "norm", GPT-2's are ln_*)
        for name, parameter in model.named_parameters():
            if ".ln_" in name and name.endswith(".weight"):
                parameter.copy_(1 + 0.2 * torch.randn(parameter.shape, generator=generator))
    reference, logits = {}, {}
    for seed, (name, separate_output) in enumerate([("gpt2.gguf", True), ("gpt2-tied.gguf", False)]):
        write_gpt2(name, model, config, separate_output)
        # transformers reads `context_length` as n_ctx only, leaving n_positions (the rows of wpe) at 1024.
        loaded = transformers.AutoModelForCausalLM.from_pretrained(OUT, gguf_file=name, dtype=torch.float32,
                                                                   n_positions=config.n_positions).eval()
        ids = np.random.default_rng(81 + seed).integers(0, size, size=(2, 9)).tolist()
        with torch.no_grad():
            values = loaded(input_ids=torch.tensor(ids)).logits.float().numpy()
        assert values.std(axis=-1).min() > 0.5, "logits too close to uniform"
        logits[name] = np.ascontiguousarray(values)
        reference[name] = {"input_ids": ids}
    save_file(logits, os.path.join(OUT, "gpt2_reference_logits.safetensors"))
    with open(os.path.join(OUT, "gpt2_reference.json"), "w", encoding="utf-8") as file:
        json.dump(reference, file)


OLMO2_NAMES = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output",
               "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
               "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
               "post_attention_layernorm": "post_attention_norm", "post_feedforward_layernorm": "post_ffw_norm",
               "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def write_olmo2(file_name, config, weights, tensor_types, directory=OUT):
    """The file convert_hf_to_gguf writes for an `olmo2` checkpoint (`Olmo2Model`: llama.cpp's names,
    post_attention_norm / post_ffw_norm, attn_q_norm / attn_k_norm over the whole projection, nothing permuted) from
    its config.json fields `config` and tensors `weights` (Hugging Face names), matrices as `tensor_types(gguf name)`,
    vectors F32. Its vocabulary is a placeholder of the configuration's size (a SentencePiece `llama` one: <unk> <s>
    </s> and byte pieces). Returns the state dict of the values a reader recovers."""
    rng = np.random.default_rng(15)
    writer = GGUFWriter(os.path.join(directory, file_name), "olmo2")
    writer.add_name("tiny-olmo2")
    add_placeholder_vocabulary(writer, config["vocab_size"], config["bos_token_id"], config["eos_token_id"])
    writer.add_vocab_size(config["vocab_size"])
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    rope = config["rope_parameters"]
    writer.add_rope_freq_base(rope["rope_theta"] if "rope_theta" in rope else rope["full_attention"]["rope_theta"])
    add_rope_scaling(writer, rope.get("full_attention", rope))
    if "sliding_attention" in rope:
        writer.add_rope_freq_base_swa(rope["sliding_attention"]["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    if config.get("sliding_window") is not None:
        # OLMo-3, as Olmo2Model.set_gguf_parameters writes it: the window and which layers slide.
        writer.add_sliding_window(config["sliding_window"])
        writer.add_sliding_window_pattern([kind == "sliding_attention" for kind in config["layer_types"]])
    stored = {}
    for hf_name, values in weights.items():
        if hf_name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue
        parts = hf_name.split(".")
        if parts[1] == "layers":
            gguf_name = f"blk.{parts[2]}.{OLMO2_NAMES['.'.join(parts[3:-1])]}.{parts[-1]}"
        else:
            gguf_name = f"{OLMO2_NAMES['.'.join(parts[:-1])]}.{parts[-1]}"
        values = values.astype(np.float32)
        data, raw = encode(rng, values, Q.F32 if values.ndim == 1 else tensor_types(gguf_name))
        writer.add_tensor(gguf_name, data, raw_dtype=raw)
        stored[hf_name] = torch.from_numpy(np.ascontiguousarray(stored_values(data, raw).reshape(values.shape).astype(np.float32)))
    finish(writer)
    return stored


def make_olmo2_model():
    """olmo2.gguf: the Hugging Face fixture Tests/LanguageModelsTests/Fixtures/models/olmo2 written by `write_olmo2`,
    every tensor F32, so that its logits are that fixture's reference.json (transformers' GGUF loader does not read
    `olmo2`; the fixture's WordLevel tokenizer has no GGUF form)."""
    source = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures", "models", "olmo2")
    with open(os.path.join(source, "config.json"), encoding="utf-8") as file:
        config = json.load(file)
    write_olmo2("olmo2.gguf", config, load_file(os.path.join(source, "model.safetensors")), lambda name: Q.F32)


def make_olmo3_model():
    """olmo3.gguf: a tiny random OLMo-3 (4 layers: 3 sliding-window layers of window 4, then a full-attention one;
    rotary base 500000 on both, no rope scaling) written by `write_olmo2` as convert_hf_to_gguf writes OLMo-3 (`olmo2`
    with `attention.sliding_window` and the per-layer `attention.sliding_window_pattern`), F32; olmo3_reference.json
    holds the logits of the transformers `Olmo3ForCausalLM` it was written from on 2 x 12 tokens (transformers' GGUF
    loader does not read `olmo2`)."""
    config = transformers.Olmo3Config(
        vocab_size=256, hidden_size=32, intermediate_size=48, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, sliding_window=4, bos_token_id=1,
        eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    assert config.layer_types == ["sliding_attention"] * 3 + ["full_attention"]
    assert all(p["rope_theta"] == 500000.0 and p["rope_type"] == "default" for p in config.rope_parameters.values())
    torch.manual_seed(0)
    model = transformers.Olmo3ForCausalLM(config).eval()
    randomize(model, 53)
    write_olmo2("olmo3.gguf", config.to_dict(), {name: value.numpy() for name, value in model.state_dict().items()},
                lambda name: Q.F32)
    ids = np.random.default_rng(59).integers(0, config.vocab_size, size=(2, 12)).tolist()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(ids)).logits.float().numpy()
    assert logits.std(axis=-1).min() > 0.5, "logits too close to uniform"
    with open(os.path.join(OUT, "olmo3_reference.json"), "w", encoding="utf-8") as file:
        json.dump({"input_ids": ids, "logits": logits.tolist()}, file)


YARN_SHAPE = dict(vocab_size=256, hidden_size=64, intermediate_size=96, num_attention_heads=2, num_key_value_heads=1,
                  max_position_embeddings=128, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2, pad_token_id=0)


def yarn_logits(model, ids):
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(ids)).logits.float().numpy()
    assert logits.std(axis=-1).min() > 0.5, "logits too close to uniform"
    return logits


def make_yarn_models():
    """llama-yarn.gguf, qwen3-yarn.gguf, smollm3-yarn.gguf, olmo3-yarn.gguf: tiny random models with YaRN rotary scaling (head size 32,
    rotary base 10000, original context 32, so that the ramp blends pairs 1 and 2 between the original and the scaled
    frequencies), written as convert_hf_to_gguf writes them (`add_rope_scaling`), F32, placeholder byte vocabularies:

    - llama: `rope_parameters` {yarn, factor 4, original 32}: the converter writes type, factor and original context;
    - qwen3: {yarn, factor 3, original 32, beta_fast 8, beta_slow 2, attention_factor 1.3}: it writes
      `yarn_beta_fast`, `yarn_beta_slow`, `yarn_attn_factor` too, which transformers applies and llama.cpp ignores for
      `qwen3` (running 32, 1 and 0.1 ln 3 + 1);
    - smollm3: {yarn, factor 2, original 32}, the 4th layer without rotary (NoPE, as llama.cpp places it);
    - olmo3: OLMo-3's layout (`rope_theta` 10000 and `rope_scaling` {yarn, factor 4, original 32, attention_factor
      0.1 ln 4 + 1, beta_fast 32, beta_slow 1}, as OLMo-3 7B's config.json has them): transformers scales the
      full-attention layer only, the 3 sliding-window layers (window 4) keep base 500000 unscaled, written as
      `rope.freq_base_swa`;
    - mistral3: Ministral 3 ({yarn, factor 4, original 16, mscale = mscale_all_dim = 1, llama_4_scaling_beta 0.5}) as
      convert_hf_to_gguf's Ministral3Model writes it: q/k permuted as for llama, `rope.scaling.yarn_log_multiplier`
      (mscale_all_dim) and `attention.temperature_scale` (β), the 40 positions crossing two blocks of 16.

    yarn_reference.json holds each file's 2 x 40 token ids (positions past the original context) and
    yarn_reference_logits.safetensors the logits of the transformers model it was written from. transformers' GGUF
    loader reads `rope.scaling.*` for gpt-oss only, takes a `qwen3` file's head size to be 128 whatever
    `attention.key_length` says and reads no `olmo2`, so it cannot be the reference: loading llama-yarn.gguf it runs
    unscaled rotary. The script prints how far those logits are, how far the qwen3 model's are with llama.cpp's
    32 / 1 / default attention factor and how far the olmo3 model's are with YaRN on its sliding-window layers too. `python3 scripts/make_gguf_fixtures.py yarn` rewrites only these."""
    reference, logits = {}, {}
    add_vocabulary = lambda writer: add_placeholder_vocabulary(writer, YARN_SHAPE["vocab_size"], 1, 2)
    models = []
    llama = transformers.LlamaConfig(
        num_hidden_layers=2, tie_word_embeddings=False, **YARN_SHAPE,
        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 32})
    qwen3 = transformers.Qwen3Config(
        num_hidden_layers=2, head_dim=32, tie_word_embeddings=True, **YARN_SHAPE,
        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 3.0, "original_max_position_embeddings": 32,
                         "beta_fast": 8.0, "beta_slow": 2.0, "attention_factor": 1.3})
    for name, architecture, config, model_class, seed in [
        ("llama-yarn.gguf", "llama", llama, transformers.LlamaForCausalLM, 71),
        ("qwen3-yarn.gguf", "qwen3", qwen3, transformers.Qwen3ForCausalLM, 73),
    ]:
        torch.manual_seed(0)
        model = model_class(config).eval()
        randomize(model, seed)
        stored = write_model(name, architecture, model, config, lambda gguf_name: Q.F32, add_vocabulary,
                             permute=architecture == "llama", key_length=architecture == "qwen3")
        model.load_state_dict(stored, strict=False)
        models.append((name, model))

    olmo3 = transformers.Olmo3Config(
        num_hidden_layers=4, sliding_window=4, tie_word_embeddings=False, rope_theta=10000.0, **YARN_SHAPE,
        rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32,
                      "attention_factor": 0.1 * math.log(4.0) + 1, "beta_fast": 32.0, "beta_slow": 1.0})
    assert olmo3.layer_types == ["sliding_attention"] * 3 + ["full_attention"]
    assert olmo3.rope_parameters["sliding_attention"] == {"rope_type": "default", "rope_theta": 500000.0}
    torch.manual_seed(0)
    model = transformers.Olmo3ForCausalLM(olmo3).eval()
    randomize(model, 75)
    write_olmo2("olmo3-yarn.gguf", olmo3.to_dict(), {n: v.numpy() for n, v in model.state_dict().items()}, lambda n: Q.F32)
    models.append(("olmo3-yarn.gguf", model))

    smollm3 = transformers.SmolLM3Config(
        num_hidden_layers=4, no_rope_layer_interval=4, tie_word_embeddings=True, **YARN_SHAPE,
        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 2.0, "original_max_position_embeddings": 32})
    assert smollm3.no_rope_layers == [1, 1, 1, 0]
    torch.manual_seed(0)
    model = transformers.SmolLM3ForCausalLM(smollm3).eval()
    randomize(model, 76)
    model.load_state_dict(write_model("smollm3-yarn.gguf", "smollm3", model, smollm3, lambda gguf_name: Q.F32,
                                      add_vocabulary, permute=True), strict=False)
    models.append(("smollm3-yarn.gguf", model))

    ministral3 = transformers.Ministral3Config(
        num_hidden_layers=2, head_dim=32, tie_word_embeddings=False, **YARN_SHAPE,
        rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 16,
                         "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0,
                         "llama_4_scaling_beta": 0.5})
    torch.manual_seed(0)
    model = transformers.Ministral3ForCausalLM(ministral3).eval()
    randomize(model, 78)
    model.load_state_dict(write_model("mistral3-yarn.gguf", "mistral3", model, ministral3, lambda gguf_name: Q.F32,
                                      add_vocabulary, permute=True, key_length=True,
                                      extra=lambda writer: (writer.add_rope_scaling_yarn_log_mul(1.0),
                                                            writer.add_attn_temperature_scale(0.5))), strict=False)
    models.append(("mistral3-yarn.gguf", model))

    for index, (name, model) in enumerate(models):
        ids = np.random.default_rng(77 + index).integers(3, YARN_SHAPE["vocab_size"], size=(2, 40)).tolist()
        logits[name] = np.ascontiguousarray(yarn_logits(model, ids))
        reference[name] = {"input_ids": ids}
        if name == "llama-yarn.gguf":
            loaded = transformers.AutoModelForCausalLM.from_pretrained(OUT, gguf_file=name, dtype=torch.float32).eval()
            print(f"{name}: transformers' GGUF loader (no YaRN) is off by max |Δ logit| "
                  f"{np.abs(yarn_logits(loaded, ids) - logits[name]).max():.3f}")
    plain = transformers.Qwen3Config(**{**qwen3.to_dict(), "rope_parameters": {
        "rope_type": "yarn", "rope_theta": 10000.0, "factor": 3.0, "original_max_position_embeddings": 32}})
    llama_cpp = transformers.Qwen3ForCausalLM(plain).eval()
    llama_cpp.load_state_dict(models[1][1].state_dict())
    ids = reference["qwen3-yarn.gguf"]["input_ids"]
    print(f"qwen3-yarn.gguf: with llama.cpp's beta_fast 32, beta_slow 1 and attention factor 0.1 ln 3 + 1, max |Δ logit| "
          f"{np.abs(yarn_logits(llama_cpp, ids) - logits['qwen3-yarn.gguf']).max():.3f}")
    everywhere = transformers.Olmo3Config(**{**olmo3.to_dict(), "rope_parameters": {
        "full_attention": olmo3.rope_parameters["full_attention"],
        "sliding_attention": {**olmo3.rope_parameters["full_attention"], "rope_theta": 500000.0}}})
    scaled_sliding = transformers.Olmo3ForCausalLM(everywhere).eval()
    scaled_sliding.load_state_dict(models[2][1].state_dict())
    ids = reference["olmo3-yarn.gguf"]["input_ids"]
    print(f"olmo3-yarn.gguf: with YaRN on the sliding-window layers too, max |Δ logit| "
          f"{np.abs(yarn_logits(scaled_sliding, ids) - logits['olmo3-yarn.gguf']).max():.3f}")
    save_file(logits, os.path.join(OUT, "yarn_reference_logits.safetensors"))
    with open(os.path.join(OUT, "yarn_reference.json"), "w", encoding="utf-8") as file:
        json.dump(reference, file)


def add_tiny_sentencepiece(writer):
    tokens = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab", "<0x41>", "<0xC3>", "<0xA9>", "<x>"]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.NORMAL] * 5 + [TokenType.BYTE] * 3 + [TokenType.USER_DEFINED]
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([-float(i) for i in range(len(tokens))])
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    return len(tokens)


def add_tiny_byte_level(writer):
    tokens = ["a", "b", "\u0120", "ab", "\u0120a", "\u0120ab", "<|endoftext|>", "<|im_start|>"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([TokenType.NORMAL] * 6 + [TokenType.CONTROL] * 2)
    writer.add_token_merges(["a b", "\u0120 a", "\u0120a b"])
    writer.add_eos_token_id(6)
    writer.add_add_bos_token(False)
    return len(tokens)


def write_every_type_seed():
    """Fuzz/Corpus/fuzz-gguf/every-type.gguf: a metadata value of every type and a one-row tensor of every tensor type.
    `python3 scripts/make_gguf_fixtures.py every-type` rewrites only this seed."""
    rng = np.random.default_rng(8)
    writer = GGUFWriter(os.path.join(SEEDS, "every-type.gguf"), "llama")
    for index, (key, value, kind) in enumerate([
            ("u8", 1, "uint8"), ("i8", -1, "int8"), ("u16", 2, "uint16"), ("i16", -2, "int16"), ("u32", 3, "uint32"),
            ("i32", -3, "int32"), ("f32", 0.5, "float32"), ("b", True, "bool"), ("s", "é", "string"),
            ("u64", 4, "uint64"), ("i64", -4, "int64"), ("f64", 0.25, "float64")]):
        getattr(writer, f"add_{kind}")(f"test.{key}", value)
    writer.add_array("test.nested", [[1, 2], [3]])
    writer.add_array("test.strings", ["a", "b"])
    for qtype in [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K,
                  Q.Q6_K] + I_QUANTS:
        columns = max(32, GGML_QUANT_SIZES[qtype][0])
        data, raw = encode(rng, rng.standard_normal((1, columns)).astype(np.float32), qtype)
        writer.add_tensor(qtype.name, data, raw_dtype=raw)
    finish(writer)


def make_fuzz_seeds():
    shutil.rmtree(SEEDS, ignore_errors=True)
    os.makedirs(SEEDS)
    shape = dict(hidden_size=32, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                 num_key_value_heads=1, max_position_embeddings=64, tie_word_embeddings=True)
    tiny = [Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]
    types = lambda name: tiny[sum(map(ord, name)) % len(tiny)]
    config = transformers.LlamaConfig(vocab_size=12, **shape)
    model = transformers.LlamaForCausalLM(config)
    randomize(model, 5)
    write_model("tiny-llama.gguf", "llama", model, config, types, add_tiny_sentencepiece, permute=True, directory=SEEDS)
    config = transformers.Qwen2Config(vocab_size=8, **shape)
    model = transformers.Qwen2ForCausalLM(config)
    randomize(model, 6)
    write_model("tiny-qwen2.gguf", "qwen2", model, config, types, add_tiny_byte_level, permute=False, directory=SEEDS)
    config = transformers.Gemma2Config(vocab_size=12, hidden_size=32, intermediate_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=4,
                                       max_position_embeddings=64)
    model = transformers.Gemma2ForCausalLM(config)
    randomize(model, 9)
    write_gemma("tiny-gemma2.gguf", "gemma2", model, config, add_tiny_sentencepiece, lambda name: Q.Q4_0, directory=SEEDS)
    config = transformers.SmolLM3Config(vocab_size=12, pad_token_id=0, bos_token_id=1, eos_token_id=2, **shape)
    model = transformers.SmolLM3ForCausalLM(config)
    randomize(model, 16)
    write_model("tiny-smollm3.gguf", "smollm3", model, config, types, add_tiny_sentencepiece, permute=True, directory=SEEDS)
    config = transformers.Phi3Config(vocab_size=12, pad_token_id=0, **shape)
    model = transformers.Phi3ForCausalLM(config)
    randomize(model, 17)
    write_phi3("tiny-phi3.gguf", model, config, types, directory=SEEDS, add_vocabulary=add_tiny_sentencepiece)
    config = transformers.Olmo2Config(vocab_size=12, pad_token_id=0, bos_token_id=1, eos_token_id=2, **shape)
    model = transformers.Olmo2ForCausalLM(config)
    randomize(model, 18)
    write_olmo2("tiny-olmo2.gguf", config.to_dict(), {name: value.numpy() for name, value in model.state_dict().items()},
                types, directory=SEEDS)
    config = transformers.Olmo3Config(
        vocab_size=12, pad_token_id=0, bos_token_id=1, eos_token_id=2, sliding_window=4, rope_theta=10000.0,
        rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16, "beta_fast": 16.0,
                      "beta_slow": 2.0, "attention_factor": 1.1}, **shape)
    model = transformers.Olmo3ForCausalLM(config)
    randomize(model, 20)
    write_olmo2("tiny-olmo3-yarn.gguf", config.to_dict(), {name: value.numpy() for name, value in model.state_dict().items()},
                types, directory=SEEDS)
    config = transformers.GPT2Config(vocab_size=8, n_embd=32, n_inner=32, n_layer=1, n_head=2, n_positions=16,
                                     n_ctx=16, bos_token_id=6, eos_token_id=6)
    model = transformers.GPT2LMHeadModel(config)
    randomize(model, 19)
    write_gpt2("tiny-gpt2.gguf", model, config, False, lambda name: Q.Q4_0, directory=SEEDS,
               add_vocabulary=add_tiny_byte_level)

    write_every_type_seed()

    with open(os.path.join(SEEDS, "tiny-llama.gguf"), "rb") as file:
        llama = file.read()
    with open(os.path.join(SEEDS, "truncated.gguf"), "wb") as file:
        file.write(llama[: len(llama) // 2])
    for name, offset, value in [("lying-tensor-count.gguf", 8, 1 << 40), ("lying-metadata-count.gguf", 16, 1 << 40)]:
        with open(os.path.join(SEEDS, name), "wb") as file:
            file.write(llama[:offset] + struct.pack("<Q", value) + llama[offset + 8:])
    from make_gguf_moe_fixtures import write_fuzz_seeds
    write_fuzz_seeds(SEEDS, add_tiny_sentencepiece)
    for name in os.listdir(SEEDS):
        assert os.path.getsize(os.path.join(SEEDS, name)) <= 8192, f"seed {name} is larger than the fuzzer's -max_len"


def main():
    if sys.argv[1:] == ["gemma"]:
        make_gemma_models()
        return
    if sys.argv[1:] == ["phi2-olmo"]:
        make_phi2_olmo_models()
        return
    if sys.argv[1:] == ["smollm3"]:
        make_smollm3_model()
        return
    if sys.argv[1:] == ["phi3"]:
        make_phi3_models()
        return
    if sys.argv[1:] == ["gpt2"]:
        make_gpt2_models()
        return
    if sys.argv[1:] == ["fuzz-seeds"]:
        make_fuzz_seeds()
        return
    if sys.argv[1:] == ["olmo2"]:
        make_olmo2_model()
        return
    if sys.argv[1:] == ["olmo3"]:
        make_olmo3_model()
        return
    if sys.argv[1:] == ["yarn"]:
        make_yarn_models()
        return
    if sys.argv[1:] == ["iquants"]:
        make_iquants()
        return
    if sys.argv[1:] == ["every-type"]:
        write_every_type_seed()
        return
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    make_fuzz_seeds()
    make_quants()
    make_models()
    make_gemma_models()
    make_phi2_olmo_models()
    make_smollm3_model()
    make_phi3_models()
    make_gpt2_models()
    make_olmo2_model()
    make_olmo3_model()
    make_yarn_models()
    make_iquants()


if __name__ == "__main__":
    main()
