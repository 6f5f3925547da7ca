"""Times the interpretability workloads of `interp bench` in PyTorch/transformers and TransformerLens on the
same checkpoint, runs `interp bench` on it, and prints the figures side by side.

Run (from the repository root; downloads nothing):

    python3 scripts/make_bench_model.py --output /tmp/interp-bench     # float32 and bfloat16 checkpoints
    python3 scripts/bench_peers.py --forward /tmp/interp-bench/gpt2-small /tmp/interp-bench/gpt2-small-bf16 \
        /tmp/interp-bench/smollm2-135m-shape /tmp/interp-bench/smollm2-135m-shape-bf16 [--rounds 5] [--no-build] \
        [--compute float32 bf16] [--baseline-binary OLD_INTERP]

    python3 scripts/bench_peers.py --gemm /tmp/interp-bench/gpt2-small /tmp/interp-bench/gpt2-small-bf16 \
        /tmp/interp-bench/smollm2-135m-shape /tmp/interp-bench/smollm2-135m-shape-bf16 [--threads 1] [--rounds 5] \
        [--compute float32 bf16] [--baseline-binary OLD_INTERP] [--no-build] [--cpu-time]

    (--gemm: only the products at each model's own shapes, the per-shape ratio interp / torch.matmul for every
    checkpoint (bf16 checkpoints: torch in bf16; interp once per --compute setting), PyTorch and interp
    interleaved round by round, each figure the median of 5 runs within a round, then the median over rounds;
    --threads sets both sides' thread count (default 2). On a loaded machine PyTorch's spinning OpenMP threads
    starve, so use --threads 1 there, with --cpu-time to time both sides in process CPU time.)

    (--forward: forward passes 1x16, 10x15, 8x128 and the products at each model's own shapes, PyTorch and interp
    interleaved round by round on the same checkpoints, PyTorch in the checkpoint's dtype with 2 threads; medians
    over the rounds and their ratios; --compute times interp once per setting of its --compute option in every
    round, a column each; --baseline-binary times a second interp executable, for example a build of the commit
    before a change, the same way in the same rounds, its columns labelled "base". Needs only torch and
    transformers.)

    python3 scripts/make_bench_model.py                      # once: random-weight checkpoints in /tmp/interp-bench
    /work/.venv-tl/bin/python scripts/bench_peers.py [--model /tmp/interp-bench/gpt2-small]
        [--memory-model /tmp/interp-bench/llama-1b-shape] [--rounds 2] [--no-build] [--json out.json]

Needs torch, transformers and TransformerLens 3.x with HookedTransformer (when the running interpreter has no
TransformerLens, the script re-runs itself with /work/.venv-tl/bin/python). torch uses 2 threads; gradients
are disabled for every peer workload. Workloads, with token ids built by the same formulas as
Sources/InterpCLI/BenchInputs.swift:
  - transformers GPT2LMHeadModel forward, all logits, batch 1x16 and 8x128;
  - TransformerLens run_with_cache (default hooks) of 1x15 tokens vs a plain forward of the same tokens;
  - TransformerLens get_act_patch_resid_pre (12 layers x 15 positions) and get_act_patch_attn_head_out_all_pos
    (12 x 12) for one 15-token prompt pair with a logit-difference metric, given the clean cache (TL's own
    timing excludes the clean run; interp's includes caching both runs).
The HookedTransformer is built from the checkpoint's weights without weight processing and its logits are
checked against transformers'. Forward passes are timed in `--rounds` alternating rounds of both tools
(the machine is shared; best and median are taken over all rounds). Each figure: one warm-up, then up to 5
runs or 20 s of runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TL_PYTHON = "/work/.venv-tl/bin/python"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ensure_transformer_lens():
    try:
        from transformer_lens import HookedTransformer  # noqa: F401
    except ImportError:
        if os.path.exists(TL_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(TL_PYTHON):
            os.execv(TL_PYTHON, [TL_PYTHON] + sys.argv)
        raise


def timed(body, repetitions=5, budget=20.0, warm_up_limit=2.0):
    """Seconds of each timed run: one warm-up (kept when longer than warm_up_limit), then up to
    `repetitions` runs or `budget` seconds of runs."""
    start = time.perf_counter()
    body()
    first = time.perf_counter() - start
    samples = [first] if first >= warm_up_limit else []
    while len(samples) < repetitions and (not samples or sum(samples) < budget):
        start = time.perf_counter()
        body()
        samples.append(time.perf_counter() - start)
    return samples


def tokens(batch, length, vocab):
    return [[(131 * b + 17 * j + 11) % vocab for j in range(length)] for b in range(batch)]


def prompt_pair(length, vocab):
    clean = [(1000 + 37 * j) % vocab for j in range(length)]
    corrupted = [(t + 1) % vocab if j in (3, 9) else t for j, t in enumerate(clean)]
    return clean, corrupted, 5000 % vocab, 6000 % vocab


def hooked_transformer(hf_model):
    """A HookedTransformer with the GPT-2 checkpoint's weights, unprocessed (so it computes what transformers does)."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig
    from transformer_lens.pretrained.weight_conversions.gpt2 import convert_gpt2_weights

    c = hf_model.config
    cfg = HookedTransformerConfig(
        n_layers=c.n_layer, d_model=c.n_embd, n_ctx=c.n_positions, d_head=c.n_embd // c.n_head, n_heads=c.n_head,
        d_mlp=4 * c.n_embd, d_vocab=c.vocab_size, act_fn="gelu_new", normalization_type="LN",
        positional_embedding_type="standard", eps=c.layer_norm_epsilon, original_architecture="GPT2LMHeadModel",
        default_prepend_bos=False, device="cpu")
    model = HookedTransformer(cfg)
    model.load_and_process_state_dict(convert_gpt2_weights(hf_model, cfg), fold_ln=False, center_writing_weights=False,
                                      center_unembed=False, fold_value_biases=False)
    return model.eval()


def figure(samples):
    return {"best": min(samples), "median": statistics.median(samples), "runs": len(samples)}


def torch_forward(hf_model, vocab):
    import torch
    results = {}
    for batch, length in [(1, 16), (8, 128)]:
        ids = torch.tensor(tokens(batch, length, vocab))
        results[f"forward {batch}x{length}"] = timed(lambda: hf_model(ids))
    return results


def transformer_lens_workloads(tl_model, hf_model, vocab):
    import torch
    from transformer_lens import patching

    ids = torch.tensor(tokens(1, 15, vocab))
    difference = (tl_model(ids) - hf_model(ids).logits).abs().max().item()
    assert difference < 1e-3, f"HookedTransformer logits differ from transformers' by {difference}"
    results = {
        "plain forward 1x15": timed(lambda: tl_model(ids)),
        "run_with_cache 1x15": timed(lambda: tl_model.run_with_cache(ids)),
    }
    clean, corrupted, answer, wrong = prompt_pair(15, vocab)
    clean_ids, corrupted_ids = torch.tensor([clean]), torch.tensor([corrupted])
    _, clean_cache = tl_model.run_with_cache(clean_ids)

    def metric(logits):
        return logits[0, -1, answer] - logits[0, -1, wrong]

    for name, sweep in [("resid_pre sweep", patching.get_act_patch_resid_pre),
                        ("head_out all-pos sweep", patching.get_act_patch_attn_head_out_all_pos)]:
        start = time.perf_counter()
        sweep(tl_model, corrupted_ids, clean_cache, metric)
        results[name] = [time.perf_counter() - start]
        print(f"  TL {name}: {results[name][0]:.1f} s", file=sys.stderr)
    return results


def interp_bench(binary, model, suites, extra=()):
    command = [binary, "bench", "--suite", suites, "--model", model, "--json", *extra]
    print("  $ " + " ".join(command), file=sys.stderr)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {m["name"]: m for m in json.loads(output)["measurements"]}


def merge(runs):
    """All samples of a figure over several rounds."""
    merged = {}
    for run in runs:
        for name, samples in run.items():
            merged.setdefault(name, []).extend(samples)
    return merged


FORWARD_SHAPES = [(1, 16), (10, 15), (8, 128)]
GEMM_ROWS = [16, 150, 1024]


def torch_model(directory):
    import torch
    from transformers import AutoModelForCausalLM
    with open(os.path.join(directory, "config.json")) as f:
        dtype = getattr(torch, json.load(f).get("torch_dtype", "float32"))
    return AutoModelForCausalLM.from_pretrained(directory, torch_dtype=dtype).eval(), dtype


def model_products(model):
    """(name, weight [out, in]) for each distinct projection shape of block 0 and the unembedding, as
    GEMMBench.run(model:) picks them."""
    import torch
    found = []

    def add(name, weight):
        if weight is not None and all(w.shape != weight.shape for _, w in found):
            found.append((name, weight.detach()))
    layer = model.transformer.h[0] if hasattr(model, "transformer") else model.model.layers[0]
    if hasattr(model, "transformer"):
        qkv = layer.attn.c_attn.weight.t()
        d = qkv.shape[1]
        add("q", qkv[:d])
        add("o", layer.attn.c_proj.weight.t())
        add("mlp in", layer.mlp.c_fc.weight.t())
        add("mlp out", layer.mlp.c_proj.weight.t())
    else:
        add("q", layer.self_attn.q_proj.weight)
        add("k", layer.self_attn.k_proj.weight)
        add("o", layer.self_attn.o_proj.weight)
        if hasattr(layer.mlp, "experts"):  # a mixture (transformers stacks the experts): expert 0 and the router
            gate_up = layer.mlp.experts.gate_up_proj[0]
            add("expert in", gate_up[gate_up.shape[0] // 2:])
            add("expert out", layer.mlp.experts.down_proj[0])
            add("router", layer.mlp.gate.weight)
        else:
            add("mlp in", layer.mlp.up_proj.weight)
            add("mlp out", layer.mlp.down_proj.weight)
    add("unembed", model.get_output_embeddings().weight)
    return [(name, torch.Tensor.contiguous(w)) for name, w in found]


def torch_gemm_round(dtype, products, first, cpu_time=False):
    """The median of 5 timed runs of every product (after a warm-up in the first round)."""
    import torch
    results = {}
    for rows in GEMM_ROWS:
        for name, weight in products:
            x = torch.rand(rows, weight.shape[1], dtype=dtype) * 2 - 1
            if first:
                torch.matmul(x, weight.t())
            times = []
            clock = time.process_time if cpu_time else time.perf_counter
            for _ in range(5):
                start = clock()
                torch.matmul(x, weight.t())
                times.append(clock() - start)
            results[f"GEMM {rows}x{weight.shape[1]}x{weight.shape[0]} ({name})"] = statistics.median(times)
    return results


def interp_runs(args, binary):
    """(executable, --compute setting, column label) for every interp configuration a comparison times."""
    runs = [(binary, compute, f"interp {compute}" if compute != "float32" else "interp") for compute in args.compute]
    if args.baseline_binary:
        runs += [(args.baseline_binary, compute, f"base {compute}" if compute != "float32" else "base")
                 for compute in args.compute]
    return runs


def computes_on(compute, dtype):
    """Whether interp's `--compute` setting applies to a checkpoint of this dtype (bf16 compute needs 16-bit weights;
    interp refuses it on a float32 checkpoint)."""
    import torch
    return compute == "float32" or dtype != torch.float32


def gemm_comparison(args):
    """`--gemm`: per-shape products only, PyTorch and interp interleaved round by round."""
    import torch
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    binary = args.binary or os.path.join(ROOT, ".build", "release", "interp")
    if not args.no_build and not args.binary:
        subprocess.run(["swift", "build", "-c", "release", "--product", "interp"], cwd=ROOT, check=True)
    models = {}
    for directory in args.gemm:
        model, dtype = torch_model(directory)
        models[directory] = (model, dtype, model_products(model))
    runs = interp_runs(args, binary)
    samples = {directory: {"torch": {}, **{mode: {} for _, _, mode in runs}} for directory in args.gemm}
    loads = []
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for directory in args.gemm:
            print(f"round {r + 1}/{args.rounds}: {directory}: PyTorch, then interp", file=sys.stderr)
            _, dtype, products = models[directory]
            for name, seconds in torch_gemm_round(dtype, products, r == 0, args.cpu_time).items():
                samples[directory]["torch"].setdefault(name, []).append(seconds)
            for executable, compute, mode in runs:
                if not computes_on(compute, dtype):
                    continue
                ours = interp_bench(executable, directory, "gemm",
                                    ["--repetitions", "5", "--compute", compute, "--threads", str(args.threads)]
                                    + (["--cpu-time"] if args.cpu_time else []))
                for name, m in ours.items():
                    key = name.split(",")[0] + ")" if "," in name else name
                    samples[directory][mode].setdefault(key, []).append(m["median"])
        print_forward_table(args, models, samples, loads, torch.__version__, args.gemm, args.threads)


def torch_round(model, dtype, products, first):
    """One timed run of every forward shape and product (after a warm-up in the first round)."""
    import torch
    vocab = model.config.vocab_size
    results = {}
    for batch, length in FORWARD_SHAPES:
        ids = torch.tensor(tokens(batch, length, vocab))
        if first:
            model(ids)
        start = time.perf_counter()
        model(ids)
        results[f"forward {batch}x{length}"] = time.perf_counter() - start
    for rows in GEMM_ROWS:
        for name, weight in products:
            x = torch.rand(rows, weight.shape[1], dtype=dtype) * 2 - 1
            if first:
                torch.matmul(x, weight.t())
            start = time.perf_counter()
            torch.matmul(x, weight.t())
            results[f"GEMM {rows}x{weight.shape[1]}x{weight.shape[0]} ({name})"] = time.perf_counter() - start
    return results


def forward_comparison(args):
    import torch
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    binary = args.binary or os.path.join(ROOT, ".build", "release", "interp")
    if not args.no_build and not args.binary:
        subprocess.run(["swift", "build", "-c", "release", "--product", "interp"], cwd=ROOT, check=True)
    loads = []
    models = {}
    for directory in args.forward:
        model, dtype = torch_model(directory)
        models[directory] = (model, dtype, model_products(model))
    runs = interp_runs(args, binary)
    samples = {directory: {"torch": {}, **{mode: {} for _, _, mode in runs}} for directory in args.forward}
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for directory in args.forward:
            print(f"round {r + 1}/{args.rounds}: {directory}: PyTorch, then interp", file=sys.stderr)
            model, dtype, products = models[directory]
            for name, seconds in torch_round(model, dtype, products, r == 0).items():
                samples[directory]["torch"].setdefault(name, []).append(seconds)
            for executable, compute, mode in runs:
                if not computes_on(compute, dtype):
                    continue
                ours = interp_bench(executable, directory, "forward,gemm", ["--repetitions", "1", "--compute", compute])
                for name, m in ours.items():
                    # "GEMM 16x768x3072 (q, bf16)" -> "GEMM 16x768x3072 (q)"
                    key = name.split(",")[0] + ")" if name.startswith("GEMM") and "," in name else name
                    samples[directory][mode].setdefault(key, []).append(m["median"])
        print_forward_table(args, models, samples, loads, torch.__version__)


CPU_FLAGS_OF_INTEREST = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                         "amx_tile", "amx_bf16", "amx_int8"]


def cpu_description():
    """The CPU the figures were taken on: model name, family/model, logical CPUs and which GEMM-relevant flags it has
    (from /proc/cpuinfo; "unknown" elsewhere)."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return "unknown CPU"
    flags = set(fields.get("flags", "").split())
    present = [flag for flag in CPU_FLAGS_OF_INTEREST if flag in flags]
    absent = [flag for flag in CPU_FLAGS_OF_INTEREST if flag not in flags]
    return (f"{fields.get('model name', 'unknown CPU')} (family {fields.get('cpu family', '?')}, model "
            f"{fields.get('model', '?')}), {os.cpu_count()} logical CPUs; has {' '.join(present) or 'none of'}"
            f"{'; lacks ' + ' '.join(absent) if absent else ''}")


def print_forward_table(args, models, samples, loads, torch_version, directories=None, threads=2):
    """The medians so far (printed after every round, so that an interrupted run still reports) and the JSON."""
    rounds = len(loads)
    cpu = cpu_description()
    print(f"\nPyTorch {torch_version} ({threads} threads, the checkpoint's dtype) and interp, interleaved, medians of "
          f"{rounds} rounds; load average at the rounds' starts: {', '.join(f'{x:.1f}' for x in loads)}\nCPU: {cpu}",
          flush=True)
    for directory in directories or args.forward:
        print(f"\n{directory} ({models[directory][1]})")
        modes = [mode for mode in samples[directory] if mode != "torch" and samples[directory][mode]]
        print(f"{'workload':40} {'PyTorch':>10}" + "".join(f" {mode:>20} {'/PyTorch':>8}" for mode in modes))
        theirs = samples[directory]["torch"]
        for name in theirs:
            if any(name not in samples[directory][mode] for mode in modes):
                continue
            t = statistics.median(theirs[name])
            line = f"{name:40} {t * 1e3:>8.2f}ms"
            for mode in modes:
                o = statistics.median(samples[directory][mode][name])
                line += f" {o * 1e3:>18.2f}ms {o / t:>7.2f}x"
            print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu, "load": loads, "samples": samples}, f, indent=2)


def main():
    if "--forward" not in sys.argv and "--gemm" not in sys.argv:
        ensure_transformer_lens()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forward", nargs="+", help="checkpoint directories: only the forward and GEMM comparison")
    parser.add_argument("--gemm", nargs="+", help="checkpoint directories: only the per-shape GEMM comparison")
    parser.add_argument("--threads", type=int, default=2, help="with --gemm: threads of PyTorch and interp")
    parser.add_argument("--cpu-time", action="store_true",
                        help="with --gemm: time both sides in process CPU time (use with --threads 1 on a loaded machine)")
    parser.add_argument("--binary", help="with --forward: the interp executable to time (default: build and use .build/release/interp)")
    parser.add_argument("--model", default="/tmp/interp-bench/gpt2-small", help="a GPT-2 checkpoint directory")
    parser.add_argument("--memory-model", default="/tmp/interp-bench/llama-1b-shape",
                        help="checkpoint for the memory suite ('' to skip)")
    parser.add_argument("--baseline-binary", help="with --forward: another interp executable timed in the same rounds")
    parser.add_argument("--compute", nargs="+", default=["float32"],
                        help="with --forward: interp's --compute settings, each timed in every round (e.g. float32 bf16)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the forward timings (use 5 with --forward)")
    parser.add_argument("--no-build", action="store_true", help="use the existing .build/release/interp")
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args()
    if args.gemm:
        gemm_comparison(args)
        return
    if args.forward:
        forward_comparison(args)
        return

    import torch
    from transformers import GPT2LMHeadModel
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    binary = os.path.join(ROOT, ".build", "release", "interp")
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "interp"], cwd=ROOT, check=True)

    hf_model = GPT2LMHeadModel.from_pretrained(args.model).eval()
    vocab = hf_model.config.vocab_size
    torch_rounds, interp_rounds = [], []
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}: PyTorch forward, interp forward", file=sys.stderr)
        torch_rounds.append(torch_forward(hf_model, vocab))
        interp_rounds.append(interp_bench(binary, args.model, "forward"))
    print("TransformerLens workloads", file=sys.stderr)
    tl = transformer_lens_workloads(hooked_transformer(hf_model), hf_model, vocab)
    print("interp suites", file=sys.stderr)
    ours = interp_bench(binary, args.model, "cache,patching,attribution,eap,acdc")
    if args.memory_model:
        ours.update(interp_bench(binary, args.memory_model, "memory"))

    torch_forward_samples = merge(torch_rounds)
    interp_forward = {}
    for run in interp_rounds:
        for name, m in run.items():
            entry = interp_forward.setdefault(name, {"best": m["best"], "medians": []})
            entry["best"] = min(entry["best"], m["best"])
            entry["medians"].append(m["median"])
    rows = []
    for name in ["forward 1x16", "forward 8x128"]:
        peer = figure(torch_forward_samples[name])
        mine = interp_forward[name]
        rows.append((name, "PyTorch", peer["median"], peer["best"], statistics.median(mine["medians"]), mine["best"]))
    tl_plain, tl_cache = figure(tl["plain forward 1x15"]), figure(tl["run_with_cache 1x15"])
    cache_ours = ours["run_with_cache standard hooks 1x15"]
    rows.append(("run_with_cache 1x15 / forward", "TL ratio", tl_cache["median"] / tl_plain["median"], None,
                 cache_ours["ratio"], None))
    for tl_name, our_name in [("resid_pre sweep", "resid_pre sweep 12x15"),
                              ("head_out all-pos sweep", "head_out all-pos sweep 12x12")]:
        rows.append((tl_name, "TL", tl[tl_name][0], None, ours[our_name]["median"], ours[our_name]["best"]))

    print(f"\nSide by side on {args.model} (torch {torch.__version__}, 2 threads; times in seconds)")
    print(f"CPU: {cpu_description()}")
    print(f"{'workload':34} {'peer':9} {'peer median':>12} {'peer best':>10} {'interp median':>14} {'interp best':>12} {'speed-up':>9}")
    for name, peer, peer_median, peer_best, our_median, our_best in rows:
        ratio = peer_median / our_median if our_median else float("nan")
        fmt = lambda v: f"{v:.4f}" if v is not None else "-"
        print(f"{name:34} {peer:9} {fmt(peer_median):>12} {fmt(peer_best):>10} {fmt(our_median):>14} {fmt(our_best):>12} "
              f"{ratio:>8.2f}x")
    print(f"  (TL plain forward 1x15 {tl_plain['median'] * 1e3:.1f} ms, run_with_cache {tl_cache['median'] * 1e3:.1f} ms; "
          "for run_with_cache the columns are ratios to a plain forward, lower is better)")
    print("\ninterp figures with their goals")
    for m in ours.values():
        value = f"{m['median']:.4f} {m['unit']}"
        ratio = f"{m['ratio']:.3f}x {m['reference']}" if m.get("ratio") is not None else ""
        print(f"  {m['suite']:11} {m['name']:62} {value:>14}  {ratio:48} goal {m.get('goal') or '-':24} {m.get('detail') or ''}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": {k: figure(v) for k, v in torch_forward_samples.items()},
                       "transformer_lens": {k: figure(v) for k, v in tl.items()},
                       "interp_forward": interp_forward, "interp": ours}, f, indent=2)


if __name__ == "__main__":
    main()
