"""Builds tiny Hugging Face FP8 checkpoints (`quantization_config.quant_method: "fp8"`) and their reference logits.

The official FP8 releases (Qwen3-*-FP8, Ministral 3, DeepSeek-V3) store each quantized Linear as `weight`
(`F8_E4M3`, torch.float8_e4m3fn) and `weight_scale_inv` (one scale per `weight_block_size` block, or one per
weight when the block size is null), with W = float(weight) * weight_scale_inv; `modules_to_not_convert`, the
embeddings and the norms stay in the model's dtype (bfloat16 here). These fixtures are written the same way by hand:
per block, scale = max|W| / 448 and weight = (W / scale).to(float8_e4m3fn), as transformers' own `Fp8Quantize` does.

Regenerate (from the repository root; needs torch, transformers >= 5.25, safetensors, numpy):

    python3 scripts/make_fp8_fixtures.py

For each model below it
  1. makes a tiny random transformers model (std 0.3 weights, norms around 1; make_fixtures.randomize; a mixture's
     fused experts split into the hub's per-expert `mlp.experts.E.{gate,up,down}_proj`), or for
     ministral3_fp8 takes the mistral3_ministral3 fixture of make_family_fixtures.py (the Mistral 3 wrapper around a
     Ministral 3 text model, in the hub's `language_model.model.*` layout), and writes it as an FP8 checkpoint (the
     official Ministral 3 releases' settings there: one scale per weight, the static scheme, the vision tower,
     projector and lm_head unconverted);
  2. loads that checkpoint with transformers on the CPU (`from_pretrained(dtype=float32)`: without a GPU transformers
     dequantizes every weight that has a `weight_scale_inv` with its `Fp8Dequantize`, in float32, and drops
     `activation_scale`), checks that its weights equal torch's own float8 -> float32 conversion times the scales
     (so the reference did read the scales), and records its logits (eager attention) on a batch and on a
     left-padded batch (position ids counted from the first real token) in reference.json.

Writes Tests/LanguageModelsTests/Fixtures/models/<name>/: config.json, model.safetensors, reference.json and the tiny
GPT-2 tokenizer of Fixtures/tokenizers/gpt2 (for `interp`).
"""

import json
import os
import re
import shutil
import sys
import tempfile

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import batch_references, randomize, random_prompts  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/LanguageModelsTests/Fixtures/models")
TOKENIZER = os.path.join(ROOT, "Tests/LanguageModelsTests/Fixtures/tokenizers/gpt2")
VOCAB, SEQUENCE, PAD = 256, 9, 3
E4M3_MAX = 448.0

MODELS = [
    # Blocks of 32x32 over 64-wide projections: several row and column blocks per weight, F32 scales, the lm_head
    # and one down_proj left unquantized.
    dict(name="llama_fp8", model_type="llama", seed=81, block=[32, 32], scale_dtype=torch.float32, scheme="dynamic",
         skip=["lm_head", "model.layers.1.mlp.down_proj"],
         options=dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      tie_word_embeddings=False)),
    # One BF16 scale per weight (weight_block_size null), the static activation scheme with its activation_scale
    # tensors (unused without a GPU), tied embeddings.
    dict(name="qwen3_fp8", model_type="qwen3", seed=82, block=None, scale_dtype=torch.bfloat16, scheme="static",
         skip=["lm_head"],
         options=dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=64,
                      tie_word_embeddings=True)),
    # A Qwen3 mixture in the hub's per-expert layout (mlp.experts.E.{gate,up,down}_proj, as Qwen3-30B-A3B-FP8 ships
    # it), every expert FP8 with 32x32 blocks, the routers unconverted.
    dict(name="qwen3_moe_fp8", model_type="qwen3_moe", seed=84, block=[32, 32], scale_dtype=torch.float32,
         scheme="dynamic", skip=["lm_head"],
         options=dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=64, moe_intermediate_size=32, num_experts=4,
                      num_experts_per_tok=2, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      head_dim=16, max_position_embeddings=64, tie_word_embeddings=False)),
    # The Mistral 3 wrapper around Ministral 3, quantized as the official releases are.
    dict(name="ministral3_fp8", fixture="mistral3_ministral3", seed=83, block=None, scale_dtype=torch.bfloat16,
         scheme="static", skip=["model.vision_tower", "model.multi_modal_projector", "lm_head"]),
]


def quantize(weight, block, scale_dtype):
    """FP8 codes and scales of a [rows, columns] weight: one scale per block (the whole weight when block is None)."""
    rows, columns = weight.shape
    block_rows, block_columns = block or (rows, columns)
    tiles = weight.reshape(rows // block_rows, block_rows, columns // block_columns, block_columns)
    scales = (tiles.abs().amax(dim=(1, 3)) / E4M3_MAX).to(scale_dtype)
    codes = (tiles / scales.float()[:, None, :, None]).reshape(rows, columns).to(torch.float8_e4m3fn)
    return codes, scales if block else scales.reshape(())


def dequantize(codes, scales, block):
    rows, columns = codes.shape
    block_rows, block_columns = block or (rows, columns)
    grid = scales.float().reshape(rows // block_rows, columns // block_columns)
    return codes.float() * grid.repeat_interleave(block_rows, 0).repeat_interleave(block_columns, 1)


def random_model(spec):
    """A tiny random model of the spec's type: its config.json, its float32 tensors, its Linear modules to convert,
    the class to load it with and the map from checkpoint names to the loaded model's."""
    config = transformers.AutoConfig.for_model(spec["model_type"], **spec["options"])
    torch.manual_seed(spec["seed"])
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
    randomize(model, spec["seed"])
    linears = {name for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear) and name not in spec["skip"]}
    state = {name: value for name, value in model.state_dict().items()
             if not (config.tie_word_embeddings and name == "lm_head.weight")}
    for name in [n for n in state if n.endswith(".mlp.experts.gate_up_proj")]:   # transformers 5's fused experts
        experts = name.removesuffix("gate_up_proj")
        gate_up, down = state.pop(name), state.pop(experts + "down_proj")
        width = down.shape[-1]
        for e in range(gate_up.shape[0]):
            for part, value in [("gate_proj", gate_up[e, :width]), ("up_proj", gate_up[e, width:]), ("down_proj", down[e])]:
                state[f"{experts}{e}.{part}.weight"] = value
                linears.add(f"{experts}{e}.{part}")
    return config.to_dict(), state, linears, transformers.AutoModelForCausalLM, lambda name: name


def fused_experts(state):
    """The per-expert weights of `state` fused back into transformers 5's `mlp.experts.gate_up_proj` / `down_proj`."""
    for name in [n for n in state if n.endswith(".mlp.experts.0.gate_proj.weight")]:
        experts = name.removesuffix("0.gate_proj.weight")
        count = sum(1 for n in state if n.startswith(experts) and n.endswith(".gate_proj.weight"))
        parts = {part: [state.pop(f"{experts}{e}.{part}.weight") for e in range(count)]
                 for part in ("gate_proj", "up_proj", "down_proj")}
        state[experts + "gate_up_proj"] = torch.stack([torch.cat([g, u]) for g, u in zip(parts["gate_proj"], parts["up_proj"])])
        state[experts + "down_proj"] = torch.stack(parts["down_proj"])
    return state


def wrapper_fixture(spec):
    """The Mistral 3 fixture `spec["fixture"]` (hub layout), with its language model's projections to convert."""
    directory = os.path.join(OUT, spec["fixture"])
    config = json.load(open(os.path.join(directory, "config.json")))
    state = load_file(os.path.join(directory, "model.safetensors"))
    linears = {name.removesuffix(".weight") for name in state
               if re.fullmatch(r"language_model\.model\.layers\.\d+\.(self_attn|mlp)\.\w+_proj\.weight", name)}

    def loaded_name(name):
        if name.startswith("language_model.model."):
            return "model.language_model." + name.removeprefix("language_model.model.")
        return name.removeprefix("language_model.") if name.startswith("language_model.") else "model." + name
    return config, state, linears, transformers.Mistral3ForConditionalGeneration, loaded_name


def make(spec):
    config_dict, state, linears, loader, loaded_name = (wrapper_fixture if "fixture" in spec else random_model)(spec)
    tensors, expected = {}, {}
    for name, value in state.items():
        module = name.removesuffix(".weight")
        if module in linears and name.endswith(".weight"):
            codes, scales = quantize(value, spec["block"], spec["scale_dtype"])
            tensors[name], tensors[module + ".weight_scale_inv"] = codes, scales
            if spec["scheme"] == "static":
                tensors[module + ".activation_scale"] = torch.tensor(0.05)
            expected[loaded_name(name)] = dequantize(codes, scales, spec["block"])
        else:
            tensors[name] = value.to(torch.bfloat16)
            expected[loaded_name(name)] = tensors[name].float()
    directory = tempfile.mkdtemp(prefix=f"fp8-{spec['name']}-")
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(directory, "model.safetensors"),
              metadata={"format": "pt"})
    config_dict["quantization_config"] = {"quant_method": "fp8", "activation_scheme": spec["scheme"],
                                          "weight_block_size": spec["block"], "modules_to_not_convert": spec["skip"]}
    config_dict["torch_dtype"] = "bfloat16"
    json.dump(config_dict, open(os.path.join(directory, "config.json"), "w"), indent=2)

    loaded = loader.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
    state = loaded.state_dict()
    for name, value in fused_experts(expected).items():
        assert torch.equal(state[name], value), f"{spec['name']}: transformers read {name} differently"
    assert all(p.dtype == torch.float32 for p in loaded.parameters())

    reference = {
        "description": f"{spec.get('model_type', spec.get('fixture'))} FP8 checkpoint (block size {spec['block']}, {len(linears)} FP8 Linear "
                       "modules), logits of transformers dequantizing it on the CPU in float32",
        "fp8_modules": sorted(linears),
        **batch_references(loaded, random_prompts(spec["seed"], VOCAB, SEQUENCE), PAD),
    }
    target = os.path.join(OUT, spec["name"])
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    for file in ["config.json", "model.safetensors"]:
        shutil.copyfile(os.path.join(directory, file), os.path.join(target, file))
    json.dump(reference, open(os.path.join(target, "reference.json"), "w"))
    for name in os.listdir(TOKENIZER):
        if name.startswith("tokenizer"):
            shutil.copyfile(os.path.join(TOKENIZER, name), os.path.join(target, name))
    shutil.rmtree(directory)
    print(f"{spec['name']}: {len(linears)} FP8 modules, logit scale {np.abs(reference['batch']['logits']).max():.2f}")


def main():
    for spec in MODELS:
        make(spec)


if __name__ == "__main__":
    main()
