#pragma once
// Fused dequantize-and-dot products of few activation rows with a quantized weight matrix (MLX affine and FP codes,
// GGUF Q8_0 ... Q6_K and the i-quants IQ1_S ... IQ4_XS): y[i, r] = sum_c x[i, c] * W[r, c]. Each weight row is
// decoded once per call (into a buffer of a few rows that stays in cache) and multiplied with every activation row
// while it is hot, so the packed matrix is read once and never held in Float32.
//
// The decoders perform the same Float32 operations in the same order as the Swift ones (GGUFBlockDecoding,
// QuantizedMatrix) and as gguf-py's (the i-quants, iquant_decoders.h, which the Swift side calls), so the decoded
// weights are identical; the dot products use AVX-512 or AVX2+FMA chosen at
// run time from the CPU (cpuid), or portable C, which differ only in summation order.

#include "gemm.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// How a quantized matrix stores its rows.
typedef enum {
    /// MLX affine codes: a little-endian bit stream of `bits`-bit codes per row, `W = scale * q + bias` with one
    /// scale and bias (Float32) per `group_size` columns of a row.
    CK_QUANT_MLX_AFFINE = 0,
    /// MLX mxfp4 and nvfp4: 4-bit FP4 E2M1 codes, two per byte (the low nibble first), `W = scale * value(q)` with
    /// one Float32 scale per `group_size` columns of a row (widened from the checkpoint's E8M0 or E4M3 scales).
    CK_QUANT_MLX_E2M1 = 1000,
    /// MLX mxfp8: one FP8 E4M3 code per byte, `W = scale * value(q)` as for `CK_QUANT_MLX_E2M1`.
    CK_QUANT_MLX_E4M3 = 1001,
    CK_QUANT_Q4_0 = 2,
    CK_QUANT_Q4_1 = 3,
    CK_QUANT_Q5_0 = 6,
    CK_QUANT_Q5_1 = 7,
    CK_QUANT_Q8_0 = 8,
    CK_QUANT_Q2_K = 10,
    CK_QUANT_Q3_K = 11,
    CK_QUANT_Q4_K = 12,
    CK_QUANT_Q5_K = 13,
    CK_QUANT_Q6_K = 14,
    CK_QUANT_IQ2_XXS = 16,
    CK_QUANT_IQ2_XS = 17,
    CK_QUANT_IQ3_XXS = 18,
    CK_QUANT_IQ1_S = 19,
    CK_QUANT_IQ4_NL = 20,
    CK_QUANT_IQ3_S = 21,
    CK_QUANT_IQ2_S = 22,
    CK_QUANT_IQ4_XS = 23,
    CK_QUANT_IQ1_M = 29,
} ck_quant_format;

/// A `rows x columns` quantized matrix. GGUF formats (ids as ggml's `ggml_type`) store each row as
/// `columns / block_size` consecutive ggml blocks; `columns` must be a whole number of blocks (of groups for MLX).
typedef struct {
    ck_quant_format format;
    long rows, columns;
    /// Row `r` starts at `packed + r * row_bytes`.
    const uint8_t *packed;
    long row_bytes;
    /// MLX only: bits per code (1 to 8; 4 and 8 for the FP codes), columns per group, and `rows * columns /
    /// group_size` scales and (affine only) biases, row-major.
    int bits;
    long group_size;
    const float *scales;
    const float *biases;
} ck_quant_matrix;

/// y[i * ldy + r] = sum_c x[i * ldx + c] * W[r, c] for i < n and row_begin <= r < row_end, on the calling thread
/// (callers split the rows between threads). `path` picks the dot-product kernel (an unsupported one falls back to
/// the best supported); the environment variable `INTERP_QUANT_PORTABLE` (set and not "0") forces the portable
/// kernel whatever `path` asks.
void ck_quant_dot(const ck_quant_matrix *w, const float *x, long n, long ldx, float *y, long ldy, long row_begin,
                  long row_end, ck_gemm_path path);

/// Writes rows [row_begin, row_end) of W, dequantized, to `out` (row stride `columns`).
void ck_quant_dequantize_rows(const ck_quant_matrix *w, long row_begin, long row_end, float *out);

/// The value of an FP8 E4M3 code (OCP's E4M3, as `float8_e4m3fn`: bias 7, subnormals, no infinities, NaN for
/// 0x7F and 0xFF): MLX's mxfp8 codes and nvfp4 scales.
float ck_fp8_e4m3_value(uint8_t code);

/// The value of an FP4 E2M1 code (the low 4 bits: ±0, 0.5, 1, 1.5, 2, 3, 4, 6): MLX's mxfp4 and nvfp4 codes.
float ck_fp4_e2m1_value(uint8_t code);

/// The largest number of activation rows for which the fused product is used rather than dequantizing blocks of
/// rows for the Float32 GEMM, for depth `columns`: the activation rows (4 bytes per column) must fit in half of
/// this CPU's share of L2 (`ck_cpu_caches_detected`), since they are re-read for every tile of weight rows, and
/// they are at most the rows for which a Float32 product with a transposed B takes the row-dot-product kernel
/// (`ck_sgemm_row_dot_max_rows`): the fused kernel is that kernel's quantized counterpart, and beyond it the packed
/// GEMM outruns dot products while decoding a block of weight rows is shared by all the rows. At least 4.
/// (Zen 5, 150 rows at depth 576 and 1536, MLX 4-bit and Q4_K: the SmolLM2-135M-shape forward at 10x15 took 8-12%
/// less CPU time dequantizing blocks than with the fused kernel, which the earlier bound of 256 rows had chosen.)
long ck_quant_dot_max_rows(long columns);

/// The kernel `path` resolves to for fused products ("avx512", "avx2" or "portable"), `INTERP_QUANT_PORTABLE`
/// included.
ck_gemm_path ck_quant_dot_resolve_path(ck_gemm_path path);

#ifdef __cplusplus
}
#endif
