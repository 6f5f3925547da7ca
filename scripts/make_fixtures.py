"""Builds the tiny checkpoint fixtures of the LanguageModels tests.

Regenerate (from the repository root; needs torch, transformers, safetensors, numpy; downloads nothing):

    python3 scripts/make_fixtures.py

Writes Tests/LanguageModelsTests/Fixtures/models/<name>/ for each model below: config.json, the weights
(model.safetensors, or shards with model.safetensors.index.json) and reference.json, plus
Fixtures/models/quantized_matrices/ (one small matrix per MLX bit width). Every model is built from a
config with random weights (std 0.3, norms around 1), so its logits are far from uniform.

reference.json holds, from transformers in fp32 eval mode with attn_implementation="eager":
  - "config": the values transformers itself derives from config.json (heads, head_dim, rope inverse
    frequencies, sliding windows, ...), to check config decoding against;
  - "tensors": per stored tensor its dtype, shape, float64 sum and abs-sum and first/last elements (as the
    values the file holds, converted to float32 by torch);
  - "batch": input_ids [2, T] with logits [2, T, V], hidden_states ([n_layers + 1] x [2, T, d_model]:
    index 0 is the embedding output, index l < n_layers the output of block l - 1, the last one the final
    norm's output, as transformers returns them) and block_outputs ([n_layers] x [2, T, d_model]: each
    block's output, i.e. resid_post, by forward hooks);
  - "padded": the same with the second prompt shorter and left-padded (pad id 0): input_ids,
    attention_mask, the position_ids passed explicitly (count from the first real token) and logits; the
    logits at real positions equal those of the unpadded prompt (checked here).
For the MLX models (quantized here in numpy, affine per group: scale = (max - min) / (2^bits - 1),
bias = min, q = round((w - bias) / scale), stored in mlx-lm's layout), logits come from transformers loaded
with the weights dequantized in numpy (scale * q + bias), and dequantized.safetensors holds two dequantized
matrices for direct comparison.
"""

import copy
import json
import os
import shutil

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file
from safetensors.torch import save_file as save_torch_file
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "LanguageModelsTests", "Fixtures", "models")
VOCAB = 320
SEQUENCE = 9
SHORT = 6


def rounded(array, digits=8):
    """Nested lists of float32 values with `digits` significant digits (9 round-trip exactly)."""
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"), otypes=[object])(np.asarray(array, dtype=np.float32)).tolist()


def randomize(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if parameter.ndim >= 2:
                parameter.copy_(0.3 * noise)
            elif "norm" in name or "ln_" in name:
                parameter.copy_(1 + 0.2 * noise) if name.endswith("weight") else parameter.copy_(0.1 * noise)
            else:
                parameter.copy_(0.1 * noise)


def prompts(seed):
    rng = np.random.default_rng(seed)
    first = rng.integers(1, VOCAB, SEQUENCE).tolist()
    second = rng.integers(1, VOCAB, SEQUENCE).tolist()
    short = rng.integers(1, VOCAB, SHORT).tolist()
    return [first, second], short


def random_prompts(seed, vocabulary, length):
    """Two prompts of `length` token ids drawn from 1 ..< `vocabulary`."""
    return np.random.default_rng(seed).integers(1, vocabulary, (2, length)).tolist()


def masked_logits(model, ids, mask=None):
    """transformers' logits of `ids`; with an attention `mask` (left padding), positions counted from the first real token."""
    with torch.no_grad():
        ids = torch.tensor(ids)
        if mask is None:
            return model(ids).logits
        mask = torch.tensor(mask)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return model(ids, attention_mask=mask, position_ids=positions).logits


def batch_references(model, ids, pad):
    """A reference.json's "batch" (the two prompts `ids`) and "padded" (the second left-padded by `pad`) entries."""
    length = len(ids[0])
    padded_ids = [ids[0], [0] * pad + ids[1][:length - pad]]
    mask = [[1] * length, [0] * pad + [1] * (length - pad)]
    return {"batch": {"input_ids": ids, "logits": masked_logits(model, ids).tolist()},
            "padded": {"input_ids": padded_ids, "attention_mask": mask, "logits": masked_logits(model, padded_ids, mask).tolist()}}


def blocks(model):
    return model.transformer.h if hasattr(model, "transformer") else model.model.layers


def run(model, input_ids, attention_mask=None, position_ids=None):
    """(logits, hidden_states as transformers returns them, each block's output)."""
    block_outputs = []
    hooks = [
        block.register_forward_hook(lambda module, inputs, output: block_outputs.append(output[0] if isinstance(output, tuple) else output))
        for block in blocks(model)
    ]
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(input_ids),
            attention_mask=None if attention_mask is None else torch.tensor(attention_mask),
            position_ids=None if position_ids is None else torch.tensor(position_ids),
            output_hidden_states=True,
        )
    for hook in hooks:
        hook.remove()
    return out.logits.float().numpy(), [h.float().numpy() for h in out.hidden_states], [b.float().numpy() for b in block_outputs]


def references(model, seed):
    batch, short = prompts(seed)
    logits, hidden, block_outputs = run(model, batch)
    assert np.allclose(hidden[1], block_outputs[0]), "hidden_states[1] is not block 0's output"
    pad = SEQUENCE - SHORT
    padded_ids = [batch[0], [0] * pad + short]
    mask = [[1] * SEQUENCE, [0] * pad + [1] * SHORT]
    positions = [list(range(SEQUENCE)), [0] * pad + list(range(SHORT))]
    padded_logits, _, _ = run(model, padded_ids, mask, positions)
    alone, _, _ = run(model, [short])
    assert np.allclose(padded_logits[1, pad:], alone[0], atol=1e-4), "left padding changed the real positions' logits"
    assert np.allclose(padded_logits[0], logits[0], atol=1e-4)
    assert logits.std(axis=-1).min() > 0.5, "logits too close to uniform"
    return {
        "batch": {
            "input_ids": batch,
            "logits": rounded(logits),
            "hidden_states": [rounded(h) for h in hidden],
            "block_outputs": [rounded(b) for b in block_outputs],
        },
        "padded": {
            "input_ids": padded_ids,
            "attention_mask": mask,
            "position_ids": positions,
            "logits": rounded(padded_logits),
        },
    }


def tensor_summaries(directory):
    summaries = {}
    for file in sorted(f for f in os.listdir(directory) if f.endswith(".safetensors")):
        with safe_open(os.path.join(directory, file), "pt") as handle:
            for name in handle.keys():
                tensor = handle.get_tensor(name)
                dtype = str(tensor.dtype).replace("torch.", "")
                entry = {"file": file, "dtype": dtype, "shape": list(tensor.shape)}
                if tensor.is_floating_point():
                    values = tensor.float().numpy().astype(np.float64).ravel()
                    entry.update(
                        sum=float(values.sum()),
                        abs_sum=float(np.abs(values).sum()),
                        first=rounded(values[:4], 9),
                        last=rounded(values[-4:], 9),
                    )
                summaries[name] = entry
    return summaries


def derived_config(model):
    """What transformers itself derives from the config (independent of our decoding)."""
    config = model.config
    summary = {"model_type": config.model_type, "vocab_size": config.vocab_size}
    if config.model_type == "gpt2":
        summary.update(
            d_model=config.n_embd,
            n_layers=config.n_layer,
            n_heads=config.n_head,
            d_mlp=model.transformer.h[0].mlp.c_fc.nf,
            max_positions=config.n_positions,
            norm_eps=config.layer_norm_epsilon,
            activation=config.activation_function,
            tied=model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(),
        )
        return summary
    attention = model.model.layers[0].self_attn
    summary.update(
        d_model=config.hidden_size,
        n_layers=config.num_hidden_layers,
        n_heads=config.num_attention_heads,
        n_kv_heads=config.num_key_value_heads,
        d_head=attention.head_dim,
        d_mlp=model.model.layers[0].mlp.up_proj.out_features,
        max_positions=config.max_position_embeddings,
        norm_eps=config.rms_norm_eps,
        activation=config.hidden_act,
        tied=model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(),
        qkv_bias=attention.q_proj.bias is not None,
        output_bias=attention.o_proj.bias is not None,
        mlp_bias=model.model.layers[0].mlp.up_proj.bias is not None,
        qk_norm=hasattr(attention, "q_norm"),
        attention_scale=attention.scaling,
        inverse_frequencies=rounded(model.model.rotary_emb.inv_freq.numpy(), 9),
        sliding_windows=[
            config.sliding_window if config.model_type == "mistral" else getattr(layer.self_attn, "sliding_window", None)
            for layer in model.model.layers
        ],
    )
    return summary


def write_reference(directory, model, seed, description, extra=None):
    reference = {"description": description, "config": derived_config(model), "tensors": tensor_summaries(directory)}
    reference.update(references(model, seed))
    reference.update(extra or {})
    with open(os.path.join(directory, "reference.json"), "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))


def fresh(name):
    directory = os.path.join(ROOT, name)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    return directory


def build(model_class, config, seed):
    model = model_class._from_config(config, attn_implementation="eager").float().eval()
    randomize(model, seed)
    return model


def save(model, name, description, seed, dtype=None, **save_options):
    directory = fresh(name)
    if dtype is not None:
        # Round the weights to the storage dtype, save them, and compute the references with a fresh fp32
        # model holding the rounded values (exactly what a loader converting to Float32 sees; its rotary
        # frequencies stay fp32).
        rounded = copy.deepcopy(model).to(dtype)
        rounded.save_pretrained(directory, **save_options)
        model = type(model)._from_config(model.config, attn_implementation="eager", dtype=torch.float32).eval()
        model.load_state_dict({key: value.float() for key, value in rounded.state_dict().items()})
    else:
        model.save_pretrained(directory, **save_options)
    os.remove(os.path.join(directory, "generation_config.json"))
    write_reference(directory, model, seed, description)
    return model


def rewrite_config(name, edit):
    path = os.path.join(ROOT, name, "config.json")
    with open(path) as handle:
        config = json.load(handle)
    edit(config)
    with open(path, "w") as handle:
        json.dump(config, handle, indent=2, sort_keys=True)


# --- MLX affine quantization (mx.quantize's documented definition) -------------------------------------


def pack_codes(codes, bits):
    """Packs each row of integer codes as a little-endian bit stream into uint32 words (mlx's layout)."""
    rows, columns = codes.shape
    bit_planes = (codes[:, :, None].astype(np.uint64) >> np.arange(bits, dtype=np.uint64)) & 1
    stream = np.packbits(bit_planes.reshape(rows, columns * bits).astype(np.uint8), axis=1, bitorder="little")
    return np.ascontiguousarray(stream).view("<u4").reshape(rows, columns * bits // 32)


def mlx_unpack(packed, bits, columns):
    """Unpacks with mlx's own per-byte formulas (mlx/backend/cpu/quantized.cpp), to cross-check pack_codes."""
    data = np.ascontiguousarray(packed).view(np.uint8)
    rows = []
    for row in data:
        values = []
        if bits in (2, 4, 8):
            for byte in row:
                for p in range(8 // bits):
                    values.append((int(byte) >> (p * bits)) & ((1 << bits) - 1))
        elif bits == 3:
            for i in range(0, len(row), 3):
                w = [int(b) for b in row[i:i + 3]]
                values += [w[0] & 0x7, (w[0] & 0x38) >> 3, ((w[0] & 0xC0) >> 6) + ((w[1] & 0x1) << 2),
                           (w[1] & 0xE) >> 1, (w[1] & 0x70) >> 4, ((w[1] & 0x80) >> 7) + ((w[2] & 0x3) << 1),
                           (w[2] & 0x1C) >> 2, (w[2] & 0xE0) >> 5]
        elif bits == 5:
            for i in range(0, len(row), 5):
                w = [int(b) for b in row[i:i + 5]]
                values += [w[0] & 0x1F, ((w[0] & 0xE0) >> 5) + ((w[1] & 0x3) << 3), (w[1] & 0x7C) >> 2,
                           ((w[1] & 0x80) >> 7) + ((w[2] & 0xF) << 1), ((w[2] & 0xF0) >> 4) + ((w[3] & 0x1) << 4),
                           (w[3] & 0x3E) >> 1, ((w[3] & 0xC0) >> 6) + ((w[4] & 0x7) << 2), (w[4] & 0xF8) >> 3]
        elif bits == 6:
            for i in range(0, len(row), 3):
                w = [int(b) for b in row[i:i + 3]]
                values += [w[0] & 0x3F, ((w[0] >> 6) & 0x03) + ((w[1] & 0x0F) << 2),
                           ((w[1] >> 4) & 0x0F) + ((w[2] & 0x03) << 4), (w[2] >> 2) & 0x3F]
        rows.append(values[:columns])
    return np.array(rows)


def quantize(weight, group_size, bits, to_storage=None):
    """mx.quantize's affine rule per group of `group_size` along the last axis.

    `to_storage` rounds float32 values to the dtype scales and biases are stored in (identity when None);
    the codes are computed from the rounded scales and biases, as a loader will see them. Returns
    (packed uint32, scales, biases as stored float32 values, dequantized float32 = scale * q + bias).
    """
    to_storage = to_storage or (lambda values: values)
    rows, columns = weight.shape
    groups = weight.reshape(rows, columns // group_size, group_size).astype(np.float32)
    low, high = groups.min(axis=2), groups.max(axis=2)
    levels = (1 << bits) - 1
    scales = to_storage((high - low) / levels).astype(np.float32)
    biases = to_storage(low).astype(np.float32)
    scale32, bias32 = scales[..., None], biases[..., None]
    codes = np.clip(np.rint((groups - bias32) / np.where(scale32 == 0, 1, scale32)), 0, levels).astype(np.int64)
    dequantized = (scale32 * codes.astype(np.float32) + bias32).reshape(rows, columns).astype(np.float32)
    codes = codes.reshape(rows, columns)
    packed = pack_codes(codes, bits)
    assert np.array_equal(mlx_unpack(packed, bits, columns), codes), f"packing differs from mlx at {bits} bits"
    return packed, scales, biases, dequantized


def storage_codec(storage):
    """(round float32 to the storage dtype and back, encode float32 as the torch tensor to save)."""
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}[storage]

    def encode(values):
        return torch.from_numpy(np.asarray(values, dtype=np.float32)).to(dtype)

    return (lambda values: encode(values).float().numpy()), encode


def save_mlx(name, description, config, seed, group_size, bits, storage, overrides):
    """A tied llama quantized the way mlx-lm stores it; references from the numpy-dequantized weights."""
    model = build(LlamaForCausalLM, config, seed)
    round_to_storage, encode = storage_codec(storage)
    stored, dequantized_state = {}, {}
    for key, parameter in model.state_dict().items():
        if key == "lm_head.weight":
            continue
        values = parameter.numpy()
        if values.ndim == 2:
            module = key[: -len(".weight")]
            setting = overrides.get(module, {"group_size": group_size, "bits": bits})
            packed, scales, biases, dequantized = quantize(values, setting["group_size"], setting["bits"], round_to_storage)
            stored[key] = torch.from_numpy(packed)
            stored[module + ".scales"], stored[module + ".biases"] = encode(scales), encode(biases)
            dequantized_state[key] = dequantized
        else:
            stored[key] = encode(values)
            dequantized_state[key] = round_to_storage(values)

    directory = fresh(name)
    path = os.path.join(directory, "model.safetensors")
    save_torch_file(stored, path, metadata={"format": "mlx"})
    config_dict = config.to_dict()
    for key in ("transformers_version", "_attn_implementation_autoset", "output_attentions", "return_dict"):
        config_dict.pop(key, None)
    config_dict["dtype"] = storage
    quantization = {"group_size": group_size, "bits": bits, **overrides}
    config_dict["quantization"] = quantization
    config_dict["quantization_config"] = quantization
    with open(os.path.join(directory, "config.json"), "w") as handle:
        json.dump(config_dict, handle, indent=2, sort_keys=True)

    reference_model = build(LlamaForCausalLM, config, seed)
    reference_model.load_state_dict({k: torch.from_numpy(v) for k, v in dequantized_state.items()}, strict=False)
    reference_model.tie_weights()
    assert torch.equal(reference_model.lm_head.weight, reference_model.model.embed_tokens.weight)
    save_file(
        {k + ".weight": dequantized_state[k + ".weight"] for k in ("model.embed_tokens", "model.layers.0.self_attn.k_proj")},
        os.path.join(directory, "dequantized.safetensors"),
    )
    write_reference(directory, reference_model, seed, description, {"quantization": quantization})


def save_quantized_matrices():
    """One [8, 64] matrix per bit width (group size 32), with its numpy dequantization and a product."""
    directory = fresh("quantized_matrices")
    rng = np.random.default_rng(7)
    tensors, reference = {}, {}
    x = rng.normal(0, 1, (3, 64)).astype(np.float32)
    for bits in (2, 3, 4, 5, 6, 8):
        weight = rng.normal(0, 0.5, (8, 64)).astype(np.float32)
        packed, scales, biases, dequantized = quantize(weight, 32, bits)
        tensors[f"b{bits}.weight"] = packed
        tensors[f"b{bits}.scales"] = scales
        tensors[f"b{bits}.biases"] = biases
        tensors[f"b{bits}.dequantized"] = dequantized
        reference[f"b{bits}"] = {"x_times_w_transposed": rounded(x.astype(np.float64) @ dequantized.astype(np.float64).T)}
    save_file(tensors, os.path.join(directory, "matrices.safetensors"))
    with open(os.path.join(directory, "reference.json"), "w") as handle:
        json.dump({"x": rounded(x, 9), "group_size": 32, "products": reference}, handle, separators=(",", ":"))


def main():
    torch.set_grad_enabled(False)
    small = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                 bos_token_id=1, eos_token_id=2)

    gpt2 = build(GPT2LMHeadModel, GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                             bos_token_id=1, eos_token_id=2), 1)
    save(gpt2, "gpt2", "GPT-2, tied embeddings, gelu_new", 101)

    llama3_rope = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    llama = build(LlamaForCausalLM, LlamaConfig(**small, num_key_value_heads=2, max_position_embeddings=256,
                                                tie_word_embeddings=True, rope_parameters=llama3_rope), 2)
    save(llama, "llama_gqa", "Llama, 2 KV heads for 4 query heads, llama3 rope scaling, tied embeddings", 102)
    save(llama, "llama_bf16", "llama_gqa stored in bfloat16", 102, dtype=torch.bfloat16)

    untied = build(LlamaForCausalLM, LlamaConfig(**small, max_position_embeddings=128, tie_word_embeddings=False,
                                                 attention_bias=True, mlp_bias=True,
                                                 rope_parameters={"rope_type": "linear", "rope_theta": 500.0, "factor": 2.0}), 3)
    save(untied, "llama_untied", "Llama, untied, attention and MLP biases, linear rope scaling; config.json in the older "
         "layout (rope_theta + rope_scaling, torch_dtype)", 103)

    def older_layout(config):
        parameters = config.pop("rope_parameters")
        config["rope_theta"] = parameters.pop("rope_theta")
        config["rope_scaling"] = {"type": parameters["rope_type"], "factor": parameters["factor"]}
        config["torch_dtype"] = config.pop("dtype")

    rewrite_config("llama_untied", older_layout)
    save(untied, "llama_sharded", "llama_untied saved in shards of at most 20 KB", 103, max_shard_size="20KB")

    mistral = build(MistralForCausalLM, MistralConfig(**small, num_key_value_heads=2, sliding_window=4096,
                                                      max_position_embeddings=4096, tie_word_embeddings=False), 4)
    save(mistral, "mistral", "Mistral, 2 KV heads, sliding window 4096 (longer than the prompts)", 104)

    qwen2 = build(Qwen2ForCausalLM, Qwen2Config(**small, num_key_value_heads=2, max_position_embeddings=512,
                                                tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}), 5)
    save(qwen2, "qwen2", "Qwen2, q/k/v biases, tied embeddings", 105)
    save(qwen2, "qwen2_fp16", "qwen2 stored in float16", 105, dtype=torch.float16)

    qwen3 = build(Qwen3ForCausalLM, Qwen3Config(**small, num_key_value_heads=2, head_dim=16, max_position_embeddings=512,
                                                tie_word_embeddings=False), 6)
    save(qwen3, "qwen3", "Qwen3, q/k norms, head_dim 16 with hidden_size 32 and 4 heads, 2 KV heads", 106)

    quantizable = dict(small, hidden_size=64, intermediate_size=128)
    mlx_config = LlamaConfig(**quantizable, num_key_value_heads=2, max_position_embeddings=256, tie_word_embeddings=True)
    save_mlx("llama_mlx_q4", "Llama quantized by MLX rules at 4 bits, group size 32, float16 scales/biases/norms, tied "
             "quantized embeddings; layer 1's down_proj overridden to 8 bits, group 64", mlx_config, 7, 32, 4, "float16",
             {"model.layers.1.mlp.down_proj": {"group_size": 64, "bits": 8}})
    save_mlx("llama_mlx_q8", "Llama quantized by MLX rules at 8 bits, group size 64, bfloat16 scales/biases/norms, tied "
             "quantized embeddings", mlx_config, 8, 64, 8, "bfloat16", {})
    save_quantized_matrices()


if __name__ == "__main__":
    main()
