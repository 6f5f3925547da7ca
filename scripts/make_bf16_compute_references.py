"""Writes the references of the `--compute bf16` tests.

Run (from the repository root; needs torch, transformers, gguf, safetensors and numpy; downloads nothing):

    python3 scripts/make_bf16_compute_references.py            # every fixture below
    python3 scripts/make_bf16_compute_references.py phi_tied_bf16 olmo_gqa_bf16   # only these rounded-operand ones

Fixtures under Tests/LanguageModelsTests/Fixtures:

- models/{llama_bf16,phi3_bf16}/bf16_compute.json: transformers loading the checkpoint with dtype torch.bfloat16
  (every op computed in bfloat16, as PyTorch runs a bfloat16 model on the CPU), on the `batch` input ids of the
  fixture's reference.json.
- models/{qwen2_fp16,gpt_neox_fp16,phi_tied_bf16,olmo_gqa_bf16}/bf16_compute.json: float16 and bfloat16
  checkpoints with bfloat16 compute modeled explicitly: transformers in float32 (the 16-bit weights widened
  exactly), every nn.Linear computing `F.linear(x.bfloat16().float(), W.bfloat16().float()) + bias` (input and
  weight rounded to bfloat16, nearest ties to even; products and sums in float32), everything else float32. This is
  what `--compute bf16` defines for float16 weights, and for the bfloat16 Phi and OLMo checkpoints it checks the
  same arithmetic exactly (transformers in bfloat16, as for llama_bf16, rounds every op, not only the products).
- gguf/llama_half.gguf: a tiny random Llama written by scripts/make_gguf_fixtures.py's `write_model` (llama.cpp
  names, q/k permuted) with F16 and BF16 matrices and one Q8_0 down projection; gguf/llama_half_bf16_compute.json:
  input ids, transformers' float32 logits of the file (`from_pretrained(dir, gguf_file=...)`, dequantized by
  gguf-py), and the logits with each nn.Linear whose GGUF tensor is F16 or BF16 computed on bfloat16-rounded
  input and weight as above (the Q8_0 one stays float32, as its fused kernel computes).

Each bf16_compute.json holds {"description", "input_ids", "logits", "torch_version"} (llama_half's also
"float32_logits").
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from gguf import GGMLQuantizationType as Q
from gguf import GGUFReader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures")
MODELS = os.path.join(FIXTURES, "models")
GGUF = os.path.join(FIXTURES, "gguf")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_gguf_fixtures as gguf_fixtures  # noqa: E402


def rounded(values):
    return values.to(torch.bfloat16).float()


def round_linears(model, selected=lambda name: True):
    """Makes each selected nn.Linear compute on bfloat16-rounded input and weight (float32 arithmetic)."""
    count = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and selected(name):
            module.forward = lambda x, m=module: F.linear(rounded(x), rounded(m.weight), m.bias)
            count += 1
    assert count > 0
    return count


def logits_json(description, ids, logits, **extra):
    as_list = lambda values: [[[round(float(x), 6) for x in row] for row in sequence] for sequence in values]
    result = {"description": description, "input_ids": ids, "logits": as_list(logits), "torch_version": torch.__version__}
    result.update({key: as_list(value) for key, value in extra.items()})
    return result


def write_model_reference(name, round_operands):
    """bf16_compute.json of the checkpoint fixture `name`: transformers in bfloat16, or (`round_operands`) in float32
    with every nn.Linear computing on bfloat16-rounded input and weight."""
    directory = os.path.join(MODELS, name)
    with open(os.path.join(directory, "reference.json")) as handle:
        ids = json.load(handle)["batch"]["input_ids"]
    model = transformers.AutoModelForCausalLM.from_pretrained(
        directory, dtype=torch.float32 if round_operands else torch.bfloat16)
    model.eval()
    count = round_linears(model) if round_operands else 0
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits.float()
    if round_operands:
        description = (f"transformers {transformers.__version__} logits of the 16-bit checkpoint {name} in float32, its "
                       f"{count} nn.Linear computing on bfloat16-rounded input and weight")
    else:
        description = (f"transformers {transformers.__version__} logits of {name} computed in bfloat16 "
                       "(dtype=torch.bfloat16, CPU)")
    with open(os.path.join(directory, "bf16_compute.json"), "w") as handle:
        json.dump(logits_json(description, ids, logits), handle)
    print(name, f"{count} linears rounded;" if round_operands else "", "logits", tuple(logits.shape),
          "max |logit|", float(logits.abs().max()))


def llama_half_types(name):
    layer = int(name.split(".")[1]) if name.startswith("blk.") else None
    if layer is None:
        return {"token_embd.weight": Q.F16, "output.weight": Q.BF16}[name]
    kind = name.split(".")[2]
    if kind == "ffn_down" and layer == 1:
        return Q.Q8_0
    return {"attn_q": Q.F16, "attn_k": Q.BF16, "attn_v": Q.F16, "attn_output": Q.BF16, "ffn_gate": Q.F16,
            "ffn_up": Q.BF16, "ffn_down": Q.F16}[kind]


def write_llama_half():
    file_name = "llama_half.gguf"
    vocabulary_size = len(gguf_fixtures.vocabulary(gguf_fixtures.load_tokenizer_json("llama2"))[0])
    config = transformers.LlamaConfig(
        vocab_size=vocabulary_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    gguf_fixtures.randomize(model, 5)
    gguf_fixtures.write_model(file_name, "llama", model, config, llama_half_types,
                              lambda writer: gguf_fixtures.add_sentencepiece_vocabulary(writer, "llama2"), permute=True,
                              directory=GGUF)
    types = {tensor.name: tensor.tensor_type for tensor in GGUFReader(os.path.join(GGUF, file_name)).tensors}

    def half(module_name):
        gguf_name = gguf_fixtures_name(module_name)
        return types[gguf_name] in (Q.F16, Q.BF16)

    ids = np.random.default_rng(6).integers(0, vocabulary_size, size=(2, 5)).tolist()
    loaded = transformers.AutoModelForCausalLM.from_pretrained(GGUF, gguf_file=file_name, dtype=torch.float32)
    loaded.eval()
    with torch.no_grad():
        float32_logits = loaded(torch.tensor(ids)).logits
        count = round_linears(loaded, half)
        logits = loaded(torch.tensor(ids)).logits
    description = (f"transformers {transformers.__version__} logits of {file_name} (loaded with gguf_file, float32); "
                   f"'logits': its {count} nn.Linear with F16 or BF16 weights computing on bfloat16-rounded input and "
                   "weight, 'float32_logits': all in float32")
    with open(os.path.join(GGUF, "llama_half_bf16_compute.json"), "w") as handle:
        json.dump(logits_json(description, ids, logits, float32_logits=float32_logits), handle)
    print(file_name, count, "linears rounded; logits", tuple(logits.shape), "max |logit|", float(logits.abs().max()),
          "max |bf16 - fp32|", float((logits - float32_logits).abs().max()))


def gguf_fixtures_name(module_name):
    """The llama.cpp tensor name of a transformers Linear module of a Llama."""
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    if module_name == "lm_head":
        return "output.weight"
    parts = module_name.split(".")
    assert parts[:2] == ["model", "layers"], module_name
    return f"blk.{parts[2]}.{names['.'.join(parts[3:])]}.weight"


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.set_num_threads(1)
    if len(sys.argv) > 1:
        for fixture in sys.argv[1:]:
            write_model_reference(fixture, round_operands=True)
        sys.exit(0)
    for fixture in ["llama_bf16", "phi3_bf16"]:
        write_model_reference(fixture, round_operands=False)
    for fixture in ["qwen2_fp16", "gpt_neox_fp16", "phi_tied_bf16", "olmo_gqa_bf16"]:
        write_model_reference(fixture, round_operands=True)
    write_llama_half()
