"""numpy (OpenBLAS) float32 GEMM GFLOP/s for the shapes of `interp bench`, for a side-by-side figure.

Run: python3 scripts/bench_gemm_numpy.py [--repetitions 10]
Shapes are M x K x N (M = tokens, K x N = a projection); "(B^T)" multiplies by a weight stored [N, K]
as torch.nn.Linear does. Threads: whatever OpenBLAS uses by default (set OPENBLAS_NUM_THREADS to change).
"""
import argparse
import statistics
import time

import numpy as np

SHAPES = [
    (768, 768, 768, False), (16, 768, 3072, False), (128, 768, 3072, False), (2048, 2048, 2048, False),
    (16, 768, 3072, True), (128, 768, 3072, True), (1024, 768, 3072, False),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    print(f"numpy {np.__version__}")
    for m, k, n, transpose_b in SHAPES:
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k) if transpose_b else (k, n)).astype(np.float32)
        c = np.empty((m, n), dtype=np.float32)
        right = b.T if transpose_b else b
        np.matmul(a, right, out=c)
        times = []
        for _ in range(args.repetitions):
            start = time.perf_counter()
            np.matmul(a, right, out=c)
            times.append(time.perf_counter() - start)
        flops = 2.0 * m * k * n
        label = f"GEMM {m}x{k}x{n}" + (" (B^T)" if transpose_b else "")
        print(f"{label:30s} best {flops / min(times) / 1e9:6.1f} GFLOP/s   "
              f"median {flops / statistics.median(times) / 1e9:6.1f} GFLOP/s   (best {min(times) * 1e3:8.3f} ms)")


if __name__ == "__main__":
    main()
