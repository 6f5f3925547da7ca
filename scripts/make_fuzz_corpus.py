"""Write the seed corpora of the fuzz targets under Fuzz/Corpus/<target>/.

Regenerate with:

    python3 scripts/make_fuzz_corpus.py

Nothing is downloaded. Each target gets a few small valid inputs and a few slightly broken ones, which
libFuzzer (scripts/fuzz.sh) mutates and the in-suite smoke run (Tests/RobustnessTests) splices:

- fuzz-safetensors: files written by the `safetensors` package (F32, F16, BF16, F64, I8, U32, BOOL, an
  empty tensor, metadata), then truncated, oversized, overlapping and misdeclared variants.
- fuzz-tokenizer-json: the tokenizer.json fixtures of Tests/LanguageModelsTests/Fixtures/tokenizers cut
  down to their first vocabulary entries (and the merges among them; the first pieces of Unigram
  vocabularies), except those with a full SentencePiece charsmap (too large), checked to load with the
  `tokenizers` package, plus broken variants; `tokenizer.json` NUL `tokenizer_config.json` when the
  fixture has a config.
- fuzz-tokenizer-encode: one byte choosing a fixture tokenizer (sorted directory order) followed by text.
- fuzz-task-file, fuzz-circuit-file: task and circuit files in every accepted layout, and broken ones
  (the task target reads each input both as JSON and as JSONL).
"""

import json
import os
import shutil
import struct

import numpy as np
import torch
from safetensors.numpy import save as save_numpy
from safetensors.torch import save as save_torch
from tokenizers import Tokenizer

ROOT = os.path.join(os.path.dirname(__file__), "..")
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")
TOKENIZERS = os.path.join(ROOT, "Tests", "LanguageModelsTests", "Fixtures", "tokenizers")
KEPT_VOCABULARY = 90


def write(target, name, content):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as file:
        file.write(content if isinstance(content, bytes) else content.encode("utf-8"))


def safetensors_bytes(header, data=b"", declared_size=None):
    json_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    size = len(json_bytes) if declared_size is None else declared_size
    return struct.pack("<Q", size) + json_bytes + data


def make_safetensors():
    target = "fuzz-safetensors"
    rng = np.random.default_rng(0)
    valid = save_numpy({"a": rng.standard_normal((2, 3)).astype(np.float32),
                        "b": np.arange(3, dtype=np.float32)}, metadata={"format": "pt"})
    write(target, "valid-f32", valid)
    write(target, "valid-mixed", save_torch({
        "half": torch.tensor([[1.0, -2.0], [0.5, 65504.0]], dtype=torch.float16),
        "brain": torch.tensor([1.0, -3.5, 1e30], dtype=torch.bfloat16),
        "double": torch.tensor([1e-300, 2.0], dtype=torch.float64),
        "bytes": torch.tensor([-1, 2, 127], dtype=torch.int8),
        "packed": torch.tensor([1, 2 ** 31], dtype=torch.int64).to(torch.uint32),
        "flags": torch.tensor([True, False]),
        "empty": torch.zeros((0, 3), dtype=torch.float32),
    }))
    write(target, "empty-header", save_numpy({}))
    write(target, "truncated-data", valid[:-4])
    write(target, "header-too-long", struct.pack("<Q", 1 << 20) + valid[8:])
    write(target, "overlap", safetensors_bytes({
        "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)))
    write(target, "bad-fields", safetensors_bytes({
        "__metadata__": {"format": 1},
        "x": {"dtype": "F8", "shape": [-1, 2], "data_offsets": [0]}}, bytes(4)))
    write(target, "not-json", struct.pack("<Q", 5) + b"{\"a\":")


def shrink(tokenizer):
    """The tokenizer with only its first vocabulary entries and the merges among them."""
    model = tokenizer["model"]
    if model["type"] == "Unigram":
        # A list of [piece, score]; ids are positions, so the unknown piece must stay among the kept ones.
        model["vocab"] = model["vocab"][:max(KEPT_VOCABULARY, model.get("unk_id") or 0) + 1]
        return tokenizer
    model["vocab"] = {token: i for token, i in model["vocab"].items() if i < KEPT_VOCABULARY}
    if model.get("unk_token") not in (None, *model["vocab"]):
        model["vocab"][model["unk_token"]] = len(model["vocab"])
    if "merges" in model:
        def parts(merge):
            return merge.split(" ") if isinstance(merge, str) else merge
        model["merges"] = [m for m in model["merges"]
                           if all(p in model["vocab"] for p in parts(m)) and "".join(parts(m)) in model["vocab"]]
    return tokenizer


def make_tokenizer_json():
    target = "fuzz-tokenizer-json"
    for name in sorted(os.listdir(TOKENIZERS)):
        with open(os.path.join(TOKENIZERS, name, "tokenizer.json")) as file:
            tokenizer = shrink(json.load(file))
        text = json.dumps(tokenizer, ensure_ascii=False, separators=(",", ":"))
        if len(text) > 100_000:
            continue  # a full SentencePiece charsmap: too large to mutate usefully; small charsmaps are seeded
        Tokenizer.from_str(text).encode("Hello world")  # the seed must be valid for the reference library
        config_path = os.path.join(TOKENIZERS, name, "tokenizer_config.json")
        if os.path.exists(config_path):
            with open(config_path) as file:
                text += "\0" + file.read()
        write(target, name, text)
    write(target, "truncated", text[: len(text) // 2])
    write(target, "unknown-model", '{"model":{"type":"Bigram","vocab":[["a",0.0]]}}')
    write(target, "unigram-bad-unk", '{"model":{"type":"Unigram","unk_id":3,"vocab":[["a",-1.0],["b",-2]]}}')
    write(target, "precompiled-truncated",
          '{"normalizer":{"type":"Precompiled","precompiled_charsmap":"CAAAAAEAAAA="},"model":{"type":"WordPiece",'
          '"vocab":{"[UNK]":0,"a":1}}}')
    write(target, "merge-outside-vocab", '{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}}')
    write(target, "wrong-types", '{"added_tokens":[{"id":"0","content":5}],"model":{"type":"WordLevel","vocab":[]}}')


def make_tokenizer_encode():
    target = "fuzz-tokenizer-encode"
    texts = ["Hello world", "  leading spaces\tand\ttabs\n\n", "Ünïcödé café 日本語 🤖👍🏽", "<s> </s><|endoftext|>",
             "1234567890 3.14", "non\u00a0breaking\u3000space", "\u0301combining", "control\u0000char"]
    for index, name in enumerate(sorted(os.listdir(TOKENIZERS))):
        write(target, name, bytes([index]) + texts[index % len(texts)].encode("utf-8"))
    write(target, "invalid-utf8", bytes([0]) + b"caf\xc3 \xff\xfe world")


def make_task_file():
    target = "fuzz-task-file"
    example = {"clean": "When Mary and John went, John gave a drink to",
               "corrupted": "When Mary and John went, Anne gave a drink to",
               "answer": " Mary", "wrong": " John", "positions": {"IO": 1, "S": 3}}
    write(target, "array.json", json.dumps([example, {**example, "answer": [42], "clean": [1, 2, 3]}]))
    write(target, "object.json", json.dumps({"task": "ioi", "description": "indirect object", "positionUnit": "words",
                                             "examples": [example]}, indent=2))
    write(target, "lines.jsonl", "\n".join(json.dumps(e) for e in [example, {**example, "positions": None}]) + "\n")
    write(target, "missing-field.json", json.dumps([{"clean": "a", "corrupted": "b", "answer": "c"}]))
    write(target, "wrong-type.jsonl", json.dumps(example) + "\n" + '{"clean": 1, "positions": {"IO": -1}}\n')
    write(target, "empty.json", "[]")


def graph_edges(layers, heads, kv_heads, mlps):
    """Every edge name of a circuit graph, as documented in Sources/Circuits/ComputationGraph.swift."""
    kv = "kv" if kv_heads != heads else "h"
    senders, edges = ["input"], []
    for layer in range(layers):
        inputs = [f"a{layer}.h{h}<q>" for h in range(heads)] + \
                 [f"a{layer}.{kv}{g}<{part}>" for part in "kv" for g in range(kv_heads)]
        edges += [f"{sender}->{receiver}" for receiver in inputs for sender in senders]
        senders += [f"a{layer}.h{h}" for h in range(heads)]
        if mlps:
            edges += [f"{sender}->m{layer}" for sender in senders]
            senders.append(f"m{layer}")
    return senders, edges + [f"{sender}->logits" for sender in senders]


def circuit_json(layers, heads, kv_heads, mlps, keep=lambda index: True):
    senders, edges = graph_edges(layers, heads, kv_heads, mlps)
    scores = np.random.default_rng(layers * 100 + heads).standard_normal(len(edges)).round(3)
    return json.dumps({
        "graph": {"n_layers": layers, "n_heads": heads, "n_kv_heads": kv_heads, "mlps": mlps},
        "nodes": {name: {"in_graph": True} for name in senders + ["logits"]},
        "edges": {name: {"score": float(score), "in_graph": bool(score > 0.5)}
                  for index, (name, score) in enumerate(zip(edges, scores)) if keep(index)},
        "metadata": {"model": "tiny", "method": "eap"}}, sort_keys=True)


def eap_ig_json(layers, heads):
    """The layout of EAP-IG's Graph.to_json (an MIB importance file): cfg instead of graph, no metadata."""
    senders, edges = graph_edges(layers, heads, heads, True)
    scores = np.random.default_rng(layers * 10 + heads).standard_normal(len(edges)).round(3)
    return json.dumps({
        "cfg": {"n_layers": layers, "n_heads": heads, "parallel_attn_mlp": False, "d_model": 8},
        "nodes": {name: {"in_graph": False} for name in senders + ["logits"]},
        "edges": {name: {"score": float(score), "in_graph": False} for name, score in zip(edges, scores)}})


def make_circuit_file():
    target = "fuzz-circuit-file"
    write(target, "mlp.json", circuit_json(1, 1, 1, True))
    write(target, "grouped-query.json", circuit_json(2, 2, 1, False))
    write(target, "missing-edges.json", circuit_json(1, 2, 2, True, keep=lambda index: index % 3 != 0))
    write(target, "huge-shape.json", circuit_json(1, 1, 1, True).replace('"n_layers": 1', '"n_layers": 1000000'))
    write(target, "unknown-edge.json", circuit_json(1, 1, 1, False).replace("a0.h0->logits", "a3.h0->logits"))
    write(target, "bad-shape.json", circuit_json(1, 2, 2, True).replace('"n_kv_heads": 2', '"n_kv_heads": 0'))
    write(target, "missing-graph.json", '{"nodes": {}, "edges": {}, "metadata": {}}')
    write(target, "eap-ig.json", eap_ig_json(2, 2))


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    make_safetensors()
    make_tokenizer_json()
    make_tokenizer_encode()
    make_task_file()
    make_circuit_file()


if __name__ == "__main__":
    main()
