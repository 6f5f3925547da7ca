"""Checks the bf16-resident forward pass of a large bfloat16 checkpoint against the Float32 path and transformers.

Run (from the repository root; needs numpy, torch and transformers; downloads nothing):

    python3 scripts/check_bf16_logits.py [--model /tmp/interp-bench/llama-1b-shape-bf16] [--no-build]

When --model does not exist it is written by scripts/make_bench_model.py (Llama-3.2-1B shape, bfloat16, 2.5 GB).
Then:
  1. a Float32 copy of the checkpoint (the same values, widened; 5 GB) is written next to it, streaming;
  2. `interp run --json --logits` gives the last-position logits of the first clean prompt of task.json from
     the bfloat16 checkpoint (weights kept 16-bit, mapped) and from the Float32 copy (the Float32 path);
  3. transformers computes the same logits in float32 from the bfloat16 checkpoint.
Prints max |Δ| of each pair relative to the logit scale (max |logit|) against the goals (1e-4 for the two interp
paths, 2e-3 for transformers), the peak RSS of the bfloat16 run, and removes the Float32 copy.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def widen_checkpoint(source, destination):
    """Writes a float32 copy of a bfloat16 safetensors checkpoint (every BF16 tensor widened exactly)."""
    os.makedirs(destination, exist_ok=True)
    for name in os.listdir(source):
        path = os.path.join(source, name)
        if not name.endswith(".safetensors"):
            if name == "config.json":
                with open(path) as f:
                    config = json.load(f)
                config["torch_dtype"] = "float32"
                with open(os.path.join(destination, name), "w") as f:
                    json.dump(config, f, indent=2)
            elif name != "model.safetensors.index.json":
                shutil.copy(path, os.path.join(destination, name))
            continue
        with open(path, "rb") as f:
            header_size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(header_size))
        data_start = 8 + header_size
        mapped = np.memmap(path, dtype=np.uint8, mode="r")
        names = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
        new_header, offset = {"__metadata__": header.get("__metadata__", {})}, 0
        for tensor in names:
            entry = header[tensor]
            size = int(np.prod(entry["shape"], dtype=np.int64)) * 4
            new_header[tensor] = {"dtype": "F32", "shape": entry["shape"], "data_offsets": [offset, offset + size]}
            offset += size
        encoded = json.dumps(new_header, separators=(",", ":")).encode()
        encoded += b" " * (-len(encoded) % 8)
        with open(os.path.join(destination, name), "wb") as out:
            out.write(len(encoded).to_bytes(8, "little"))
            out.write(encoded)
            for tensor in names:
                entry = header[tensor]
                assert entry["dtype"] == "BF16", f"{path}: {tensor} is {entry['dtype']}, expected BF16"
                start, end = (data_start + o for o in entry["data_offsets"])
                for block in range(start, end, 1 << 26):
                    bits = mapped[block:min(end, block + (1 << 26))].view(np.uint16).astype(np.uint32) << 16
                    out.write(bits.tobytes())
    index = os.path.join(source, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            shard_index = json.load(f)
        shard_index["metadata"]["total_size"] *= 2
        with open(os.path.join(destination, "model.safetensors.index.json"), "w") as f:
            json.dump(shard_index, f, indent=2)


def interp_logits(binary, model, prompt):
    command = ["/usr/bin/time", "-v", binary, "run", "--model", model, "--prompt", prompt, "--json", "--logits"]
    print("  $ " + " ".join(command[2:]), file=sys.stderr)
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    peak = next((line.split(":")[1].strip() for line in done.stderr.splitlines() if "Maximum resident" in line), "?")
    wall = next((line.split("):")[1].strip() for line in done.stderr.splitlines() if "Elapsed (wall" in line), "?")
    result = json.loads(done.stdout)
    return result["tokens"], np.array(result["logits"], dtype=np.float64), int(peak), wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="/tmp/interp-bench/llama-1b-shape-bf16")
    parser.add_argument("--no-build", action="store_true", help="use the existing .build/release/interp")
    args = parser.parse_args()
    binary = os.path.join(ROOT, ".build", "release", "interp")
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "interp"], cwd=ROOT, check=True)
    if not os.path.exists(args.model):
        output = os.path.dirname(args.model.rstrip("/"))
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_bench_model.py"), "--output", output,
                        "--models", "llama-1b-shape", "--dtype", "bfloat16"], check=True)
    widened = args.model.rstrip("/") + "-widened-f32"
    with open(os.path.join(args.model, "task.json")) as f:
        task = json.load(f)
    prompt = (task["examples"] if isinstance(task, dict) else task)[0]["clean"]
    try:
        print(f"writing the float32 copy {widened}", file=sys.stderr)
        widen_checkpoint(args.model, widened)
        ids, ours, peak, wall = interp_logits(binary, args.model, prompt)
        ids_f32, float_path, _, _ = interp_logits(binary, widened, prompt)
        assert ids == ids_f32
    finally:
        shutil.rmtree(widened, ignore_errors=True)

    import torch
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(2)
    with torch.no_grad():
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
        theirs = model(torch.tensor([ids])).logits[0, -1].double().numpy()
    scale = np.abs(theirs).max()
    bf16_vs_f32 = np.abs(ours - float_path).max()
    bf16_vs_transformers = np.abs(ours - theirs).max()
    print(f"{args.model}: {len(ids)} tokens, logit scale (max |logit|) {scale:.4f}")
    print(f"  bf16-resident vs Float32 path: max |Δ| {bf16_vs_f32:.3e} = {bf16_vs_f32 / scale:.2e} x scale (goal <= 1e-4)")
    print(f"  bf16-resident vs transformers fp32: max |Δ| {bf16_vs_transformers:.3e} = "
          f"{bf16_vs_transformers / scale:.2e} x scale (goal <= 2e-3)")
    on_disk = sum(os.path.getsize(os.path.join(args.model, n)) for n in os.listdir(args.model) if n.endswith(".safetensors"))
    print(f"  interp run (bf16): peak RSS {peak / 1e6:.2f} GB = {peak * 1024 / on_disk:.2f}x the {on_disk / 1e9:.2f} GB "
          f"on disk, wall {wall}")


if __name__ == "__main__":
    main()
