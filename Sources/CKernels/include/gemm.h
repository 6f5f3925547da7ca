#pragma once
// Single-precision GEMM: C[M x N] = alpha * op(A) * op(B) + beta * C, row-major operands.
//
// The work is blocked (MC/KC/NC), A and B are packed into cache-friendly panels, and a register-blocked
// SIMD micro-kernel computes MR x NR tiles of C. The micro-kernel is chosen at run time from the CPU's
// features (AVX-512, AVX2+FMA) with a portable C fallback, so no special compiler flags are needed.
//
// Every element of C is computed by the same sequence of operations whatever the tiling or the way the
// work is split between threads, so results are bit-identical for a given code path.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The micro-kernel family used for a GEMM.
typedef enum {
    /// The fastest path the CPU supports.
    CK_GEMM_PATH_AUTOMATIC = 0,
    /// Plain C, auto-vectorized for the baseline instruction set.
    CK_GEMM_PATH_PORTABLE = 1,
    /// x86-64 AVX2 + FMA.
    CK_GEMM_PATH_AVX2 = 2,
    /// x86-64 AVX-512F.
    CK_GEMM_PATH_AVX512 = 3,
} ck_gemm_path;

/// The element type of B. 16-bit B is widened to Float32 exactly as it is packed (or, for few rows of A,
/// as it is read), so a product with 16-bit B equals the product with B converted to Float32 beforehand,
/// bit for bit, while B stays 16-bit in memory (half the bytes read).
typedef enum {
    /// `b` points at Float32 elements.
    CK_ELEMENT_F32 = 0,
    /// `b16` points at bfloat16 elements (the top half of a Float32).
    CK_ELEMENT_BF16 = 1,
    /// `b16` points at IEEE binary16 elements.
    CK_ELEMENT_F16 = 2,
} ck_element_type;

/// The arithmetic of a product with 16-bit B (ignored for Float32 B, which always computes in Float32).
typedef enum {
    /// A stays Float32, B is widened exactly, Float32 multiply-adds: the product of the widened B.
    CK_COMPUTE_F32 = 0,
    /// op(A) is rounded to bfloat16 (nearest, ties to even) as it is packed and each product of a bfloat16 pair
    /// is accumulated in Float32 (bfloat16 products are exact in Float32): the Float32 product of the rounded
    /// A and B, up to summation order. Uses AVX512-BF16 `vdpbf16ps` when the CPU and OS support it (and
    /// `INTERP_BF16_WIDENED` is not set), the widened Float32 kernels otherwise. float16 B is rounded to bfloat16
    /// (nearest, ties to even) as it is read or packed (lossy: 10 stored mantissa bits become 7).
    CK_COMPUTE_BF16 = 1,
    /// As `CK_COMPUTE_BF16`, always through the widened Float32 kernels (the fallback, forced for tests).
    CK_COMPUTE_BF16_WIDENED = 2,
} ck_compute_type;

/// One GEMM problem (A and C are Float32; B is Float32, bfloat16 or float16). `op(A)` is M x K and `op(B)` is K x N; with `transpose_a` A is stored K x M
/// (row stride `lda`), with `transpose_b` B is stored N x K (row stride `ldb`). C is M x N, row stride `ldc`.
/// When `beta` is 0, C is not read (it may hold garbage or NaN).
typedef struct {
    int transpose_a;
    int transpose_b;
    long m, n, k;
    float alpha;
    const float *a;
    long lda;
    const float *b;
    long ldb;
    float beta;
    float *c;
    long ldc;
    /// The requested path; an unsupported path falls back to the best supported one.
    ck_gemm_path path;
    /// The element type of B: `CK_ELEMENT_F32` reads `b`, the 16-bit types read `b16` (`b` is then unused).
    ck_element_type b_type;
    /// B's 16-bit elements (little-endian, as stored in checkpoints) when `b_type` is not `CK_ELEMENT_F32`.
    const uint16_t *b16;
    /// The arithmetic when `b_type` is `CK_ELEMENT_BF16` or `CK_ELEMENT_F16`.
    ck_compute_type compute;
    /// N Float32 values added to every row of C after the product, or NULL: element (i, j) of C becomes
    /// `(alpha * op(A)·op(B) + beta * C)[i][j] + bias[j]`, the sum rounded as it is finished and then the bias added
    /// (one rounding each, never fused), so the result equals adding the bias to the product afterwards, bit for bit.
    const float *bias;
} ck_sgemm_args;

/// Whether `CK_COMPUTE_BF16` runs the AVX512-BF16 kernels here: the CPU has AVX512-BF16 and AVX512-BW (cpuid),
/// the OS saves zmm state (xgetbv), and the environment variable `INTERP_BF16_WIDENED` is unset or "0".
int ck_bf16_dot_available(void);

/// The cache block sizes of the AVX512-BF16 blocked kernel on this CPU (KC in elements, a multiple of 32).
void ck_bf16_blocking(long *mc, long *kc, long *nc);

/// The path that `path` resolves to on this CPU (`CK_GEMM_PATH_AUTOMATIC` resolves to the fastest).
ck_gemm_path ck_gemm_resolve_path(ck_gemm_path path);

/// Whether this CPU can run `path`.
int ck_gemm_path_supported(ck_gemm_path path);

/// A short name for a path ("avx512", "avx2", "portable", "automatic").
const char *ck_gemm_path_name(ck_gemm_path path);

/// The cache block sizes `path` uses on this CPU (MC fitted to its L2 cache at first use).
void ck_gemm_blocking(ck_gemm_path path, long *mc, long *kc, long *nc);

/// Computes the whole product on the calling thread.
void ck_sgemm(const ck_sgemm_args *args);

/// The most rows of A a Float32 product with B stored transposed may have to take the row-dot-product kernel
/// (fewer memory passes, another summation order). Every other choice of ck_sgemm gives each element of C the
/// same operations whatever the row count, so two such products of m and m' rows agree element for element
/// when m and m' are on the same side of this bound.
long ck_sgemm_row_dot_max_rows(void);

/// Computes part `part` of `parts` of the product: C is split into a static grid of `parts` rectangles
/// aligned to the micro-kernel's tile, so calling every part (on any threads, in any order) computes the
/// whole product with the same result as `ck_sgemm`.
void ck_sgemm_part(const ck_sgemm_args *args, long part, long parts);

/// Computes the rectangle rows [row_begin, row_end) x columns [col_begin, col_end) of C.
void ck_sgemm_block(const ck_sgemm_args *args, long row_begin, long row_end, long col_begin, long col_end);

#ifdef __cplusplus
}
#endif
