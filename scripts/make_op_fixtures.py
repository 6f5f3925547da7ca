"""Reference fixtures for the Tensors module's operations, computed with PyTorch (and transformers for RoPE,
RMSNorm and GPT-2's GELU).

Regenerate (from the repository root):

    python3 scripts/make_op_fixtures.py

This writes Tests/TensorsTests/Fixtures/ops.json. Each case names a Swift operation (`op`) with its
parameters, float inputs, expected outputs, one fixed upstream gradient per output, and the expected
gradient of sum(output * upstream) over all outputs with respect to every float input (torch autograd).
Non-finite numbers are written as the strings "inf", "-inf" and "nan".
"""

import json
import math
import pathlib

import torch
import torch.nn.functional as F
from transformers import GPTNeoXConfig, LlamaConfig
from transformers.activations import NewGELUActivation
from transformers.models.gpt_neox.modeling_gpt_neox import GPTNeoXRotaryEmbedding
from transformers.models.gpt_neox.modeling_gpt_neox import apply_rotary_pos_emb as neox_apply_rotary
from transformers.models.llama.modeling_llama import LlamaRMSNorm, LlamaRotaryEmbedding
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb as llama_apply_rotary

torch.manual_seed(0)
OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/TensorsTests/Fixtures/ops.json"
cases = []


def encode(t):
    def number(v):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return round(v, 9)

    t = t.detach().to(torch.float32)
    return {"shape": list(t.shape), "data": [number(v) for v in t.reshape(-1).tolist()]}


def randn(*shape):
    return torch.randn(shape, dtype=torch.float32)


def uniform(low, high, *shape):
    return torch.rand(shape, dtype=torch.float32) * (high - low) + low


def case(name, op, inputs, fn, params=None, differentiable=True):
    """Records fn(*inputs) (a tensor or a tuple of tensors) and, if differentiable, its input gradients."""
    leaves = [x.clone().requires_grad_(differentiable) for x in inputs]
    outputs = fn(*leaves)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    entry = {"name": name, "op": op, "params": params or {}, "inputs": [encode(x) for x in inputs],
             "outputs": [encode(y) for y in outputs]}
    if differentiable:
        upstreams = [randn(*y.shape) for y in outputs]
        loss = sum((y * u).sum() for y, u in zip(outputs, upstreams))
        grads = torch.autograd.grad(loss, leaves, allow_unused=True)
        entry["upstreams"] = [encode(u) for u in upstreams]
        entry["grads"] = [encode(g if g is not None else torch.zeros_like(x)) for g, x in zip(grads, leaves)]
    cases.append(entry)


# MARK: Core elementwise arithmetic (broadcasting)

case("add_broadcast", "add", [randn(2, 3, 4), randn(3, 1)], lambda a, b: a + b)
case("sub_broadcast", "sub", [randn(4), randn(2, 3, 4)], lambda a, b: a - b)
case("mul_broadcast", "mul", [randn(2, 1, 4), randn(3, 1)], lambda a, b: a * b)
case("div_broadcast", "div", [randn(2, 3), uniform(0.5, 2, 3)], lambda a, b: a / b)
case("neg", "neg", [randn(2, 3)], lambda a: -a)
case("add_scalar", "addScalar", [randn(2, 3)], lambda a: a + 1.5, {"value": 1.5})
case("mul_scalar", "mulScalar", [randn(2, 3)], lambda a: a * -2.5, {"value": -2.5})
case("rsub_scalar", "rsubScalar", [randn(2, 3)], lambda a: 3.0 - a, {"value": 3.0})
case("exp", "exp", [randn(2, 5)], torch.exp)
case("log", "log", [uniform(0.2, 3, 2, 5)], torch.log)
case("tanh", "tanh", [randn(2, 5)], torch.tanh)
case("sqrt", "sqrt", [uniform(0.2, 3, 2, 5)], torch.sqrt)
case("squared", "squared", [randn(2, 5)], torch.square)
case("pow_3", "pow", [uniform(0.2, 2, 2, 5)], lambda a: a ** 3, {"exponent": 3.0})
case("pow_half", "pow", [uniform(0.2, 2, 2, 5)], lambda a: a ** 0.5, {"exponent": 0.5})
abs_input = torch.tensor([[-1.5, -0.3, 0.4, 2.0], [0.7, -2.2, 1.1, -0.9]])
case("abs", "abs", [abs_input], torch.abs)
case("clamp", "clamp", [abs_input], lambda a: a.clamp(-1.0, 1.0), {"min": -1.0, "max": 1.0})
replace_mask = [[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]]
case("replacing_with_infinity", "replacing", [randn(2, 4), torch.tensor(-math.inf)],
     lambda a, b: torch.where(torch.tensor(replace_mask).bool(), b, a), {"mask": replace_mask})

# MARK: Core reductions

case("sum_axis", "sumAxis", [randn(2, 3, 4)], lambda a: a.sum(1), {"axis": 1, "keep": 0})
case("sum_axis_keep", "sumAxis", [randn(2, 3, 4)], lambda a: a.sum(-1, keepdim=True), {"axis": -1, "keep": 1})
case("sum_all", "sumAll", [randn(3, 4)], lambda a: a.sum())
case("mean_axis", "meanAxis", [randn(2, 3, 4)], lambda a: a.mean(0), {"axis": 0, "keep": 0})
case("mean_all", "meanAll", [randn(3, 4)], lambda a: a.mean())
case("variance_axis", "varianceAxis", [randn(2, 5)], lambda a: a.var(1, unbiased=False), {"axis": 1, "keep": 0})
case("max_axis", "maxAxis", [randn(3, 4, 2)], lambda a: a.amax(1), {"axis": 1, "keep": 0})
case("min_axis_keep", "minAxis", [randn(3, 4)], lambda a: a.amin(1, keepdim=True), {"axis": 1, "keep": 1})

# MARK: Core shape operations

case("reshape", "reshape", [randn(2, 3, 4)], lambda a: a.reshape(4, 6), {"shape": [4, -1]})
case("permute", "permute", [randn(2, 3, 4)], lambda a: a.permute(2, 0, 1), {"order": [2, 0, 1]})
case("transpose", "transpose", [randn(2, 3, 4)], lambda a: a.transpose(0, 2), {"a": 0, "b": 2})
case("slice", "slice", [randn(2, 5, 3)], lambda a: a[:, 1:4], {"axis": 1, "start": 1, "end": 4})
case("select", "select", [randn(2, 5, 3)], lambda a: a[:, -2], {"axis": 1, "index": -2})
case("index_select", "indexSelect", [randn(3, 4)], lambda a: a[:, [3, 0, 3, 1]], {"axis": 1, "indices": [3, 0, 3, 1]})
case("concatenate", "concatenate", [randn(2, 3), randn(2, 1), randn(2, 2)], lambda *p: torch.cat(p, 1), {"axis": 1})
case("stack", "stack", [randn(2, 3), randn(2, 3)], lambda *p: torch.stack(p, 1), {"axis": 1})
case("broadcast_to", "broadcastTo", [randn(3, 1)], lambda a: a.expand(2, 3, 4), {"shape": [2, 3, 4]})
case("matmul", "matmul", [randn(2, 3, 4), randn(4, 5)], torch.matmul, {"transposeSelf": 0, "transposeOther": 0})
case("matmul_transposed", "matmul", [randn(2, 1, 4, 3), randn(3, 5, 4)],
     lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2), {"transposeSelf": 1, "transposeOther": 1})

# MARK: Softmax

case("softmax_last", "softmax", [randn(3, 7) * 3], lambda a: a.softmax(-1), {"axis": -1})
case("softmax_axis1", "softmax", [randn(2, 4, 3)], lambda a: a.softmax(1), {"axis": 1})
case("softmax_long_rows", "softmax", [randn(2, 37) * 4], lambda a: a.softmax(-1), {"axis": -1})
case("log_softmax_last", "logSoftmax", [randn(3, 11) * 3], lambda a: a.log_softmax(-1), {"axis": -1})
case("log_softmax_axis0", "logSoftmax", [randn(4, 3)], lambda a: a.log_softmax(0), {"axis": 0})

masked = randn(3, 5)
masked[0, [1, 3]] = -math.inf
masked[1, :] = -math.inf


def softmax_with_masked_rows(x):
    """torch gives NaN for an all -inf row; the expected convention is zeros and no gradient."""
    dead = torch.isinf(x).all(-1, keepdim=True)
    return torch.where(dead, torch.zeros_like(x), torch.where(dead, torch.zeros_like(x), x).softmax(-1))


case("softmax_masked_rows", "softmax", [masked], softmax_with_masked_rows, {"axis": -1})

# MARK: Normalization


def layer_norm_with_scale(x, weight=None, bias=None, eps=1e-5):
    scale = torch.rsqrt(x.var(-1, unbiased=False, keepdim=True) + eps)
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps), scale


case("layer_norm", "layerNorm", [randn(2, 3, 13) * 2 + 1, randn(13), randn(13)],
     lambda x, w, b: layer_norm_with_scale(x, w, b), {"epsilon": 1e-5})
case("layer_norm_normalized", "layerNorm", [randn(4, 16) * 3 - 2], lambda x: layer_norm_with_scale(x), {"epsilon": 1e-5})


def rms_norm_reference(x, weight=None, eps=1e-6):
    """LlamaRMSNorm's formula with the weight as an autograd leaf; checked against the module below."""
    scale = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    out = x * scale
    return (out * weight if weight is not None else out), scale


def assert_matches_llama_rms_norm(x, weight, eps):
    norm = LlamaRMSNorm(x.shape[-1], eps=eps)
    with torch.no_grad():
        norm.weight.copy_(weight)
        assert torch.allclose(norm(x), rms_norm_reference(x, weight, eps)[0], atol=1e-6)


rms_x, rms_w = randn(2, 3, 12) * 2, randn(12)
assert_matches_llama_rms_norm(rms_x, rms_w, 1e-6)
case("rms_norm", "rmsNorm", [rms_x, rms_w], lambda x, w: rms_norm_reference(x, w), {"epsilon": 1e-6})
case("rms_norm_normalized", "rmsNorm", [randn(3, 9)], lambda x: rms_norm_reference(x, eps=1e-5), {"epsilon": 1e-5})

# MARK: Activations

act_input = torch.cat([randn(2, 9) * 3, torch.tensor([[-8.0, -4.0, 0.3, 4.0, 8.0, -0.01, 0.02, 12.0, -12.0]])])
case("gelu", "gelu", [act_input], F.gelu, {"approximate": "none"})
case("gelu_tanh", "gelu", [act_input], NewGELUActivation(), {"approximate": "tanh"})
case("silu", "silu", [act_input], F.silu)
case("sigmoid", "sigmoid", [act_input], torch.sigmoid)
case("relu", "relu", [act_input], F.relu)

# MARK: Rotary embeddings


def llama_rotary(rope_parameters, head_dim, positions):
    config = LlamaConfig(hidden_size=head_dim * 2, num_attention_heads=2, head_dim=head_dim, rope_parameters=rope_parameters)
    return LlamaRotaryEmbedding(config), llama_apply_rotary


def neox_rotary(rope_parameters, head_dim, positions):
    config = GPTNeoXConfig(hidden_size=head_dim * 2, num_attention_heads=2, rope_parameters=rope_parameters)
    return GPTNeoXRotaryEmbedding(config), neox_apply_rotary


def rotary_case(name, build, rope_parameters, params, head_dim, positions):
    rotary, apply = build(rope_parameters, head_dim, positions)
    position_ids = torch.tensor(positions)
    x = randn(len(positions), len(positions[0]), 3, head_dim)
    cases.append({"name": name + "_inv_freq", "op": "rotaryInverseFrequencies", "params": params, "inputs": [],
                  "outputs": [encode(rotary.inv_freq)]})

    def rotate(q):
        cos, sin = rotary(q, position_ids)
        return apply(q, q, cos, sin, unsqueeze_dim=2)[0]

    case(name, "rotary", [x], rotate, {**params, "positions": positions})


left_padded = [[1, 1, 0, 1, 2], [0, 1, 2, 3, 4]]
far = [[3, 17, 40, 100, 250]]
rotary_case("rotary_default", llama_rotary, {"rope_type": "default", "rope_theta": 10000.0},
            {"headDim": 8, "rotaryDim": 8, "base": 10000.0, "scaling": "none"}, 8, left_padded)
rotary_case("rotary_partial", neox_rotary, {"rope_type": "default", "rope_theta": 100.0, "partial_rotary_factor": 0.5},
            {"headDim": 8, "rotaryDim": 4, "base": 100.0, "scaling": "none"}, 8, left_padded)
rotary_case("rotary_linear", llama_rotary, {"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0},
            {"headDim": 8, "rotaryDim": 8, "base": 10000.0, "scaling": "linear", "factor": 2.0}, 8, far)
# Original context 64 puts the four wavelengths (6.3, 63, 628, 6283) in all three llama3 bands.
rotary_case("rotary_llama3", llama_rotary,
            {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
             "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
            {"headDim": 8, "rotaryDim": 8, "base": 10000.0, "scaling": "llama3", "factor": 8.0,
             "lowFrequencyFactor": 1.0, "highFrequencyFactor": 4.0, "originalMaxPositionEmbeddings": 64}, 8, far)

# MARK: Attention


def allowed_keys(query_count, key_count, padding):
    """Boolean [batch, 1, q, k]: causal with queries as the last positions, padding keys hidden."""
    causal = torch.ones(query_count, key_count).tril(key_count - query_count).bool()
    return causal[None, None] & padding[:, None, None, :].bool()


def attention_reference(q, k, v, allowed):
    repeat = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(repeat, 1), v.repeat_interleave(repeat, 1)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    dead = ~allowed.any(-1, keepdim=True)
    scores = scores.masked_fill(~allowed | dead, -math.inf).masked_fill(dead, 0.0)
    pattern = torch.where(dead, torch.zeros_like(scores), scores.softmax(-1))
    return pattern @ v, pattern


padding = torch.tensor([[0.0, 0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
qkv = [randn(2, 4, 5, 8), randn(2, 2, 5, 8), randn(2, 2, 5, 8)]
case("attention_gqa_padded", "attention", qkv,
     lambda q, k, v: attention_reference(q, k, v, allowed_keys(5, 5, padding)),
     {"paddingMask": padding.tolist(), "causal": 1})
tail_q = [randn(1, 2, 2, 4), randn(1, 2, 6, 4), randn(1, 2, 6, 4)]
ones = torch.ones(1, 6)
with torch.no_grad():
    sdpa = F.scaled_dot_product_attention(*tail_q, attn_mask=allowed_keys(2, 6, ones))
    assert torch.allclose(sdpa, attention_reference(*tail_q, allowed_keys(2, 6, ones))[0], atol=1e-6)
case("attention_causal_offset", "attention", tail_q,
     lambda q, k, v: attention_reference(q, k, v, allowed_keys(2, 6, ones)), {"causal": 1})
case("attention_not_causal", "attention", [randn(1, 2, 3, 4), randn(1, 1, 4, 4), randn(1, 1, 4, 4)],
     lambda q, k, v: attention_reference(q, k, v, torch.ones(1, 1, 3, 4).bool()), {"causal": 0})


def additive(allowed):
    return torch.zeros(allowed.shape).masked_fill(~allowed, -math.inf)


cases.append({"name": "attention_mask_padded", "op": "attentionMask", "inputs": [],
              "params": {"queryCount": 3, "keyCount": 5, "paddingMask": padding.tolist(), "causal": 1},
              "outputs": [encode(additive(allowed_keys(3, 5, padding)))]})

# MARK: Losses and embedding

ce_targets = [3, 0, 6, 6]
case("cross_entropy", "crossEntropy", [randn(4, 7) * 2], lambda x: F.cross_entropy(x, torch.tensor(ce_targets)),
     {"targets": ce_targets})
ids = [[4, 1, 4], [0, 2, 1]]
case("embedding", "embedding", [randn(5, 3)], lambda t: F.embedding(torch.tensor(ids), t), {"ids": ids})

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({"cases": cases}, separators=(",", ":")) + "\n")
print(f"wrote {len(cases)} cases to {OUT} ({OUT.stat().st_size} bytes)")
