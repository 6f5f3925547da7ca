// Blocked, packed single-precision GEMM with run-time selected SIMD micro-kernels (see gemm.h).
//
// Loop nest (BLIS order) for one rectangle of C:
//   for jc in N step NC:            B panel (KC x NC) lives in L3
//     for pc in K step KC:          pack B (or read it in place, see `reads_b_in_place`)
//       for ic in M step MC:        pack A block (MC x KC), lives in L2
//         for jr in NC step NR:     B micro-panel (KC x NR) stays in L1
//           for ir in MC step MR:   micro-kernel: MR x NR tile of C in registers
// Every element of C is accumulated in the same order (k ascending within KC blocks, blocks in order),
// whatever the rectangle, so splitting C between threads never changes the result.
//
// B may be bfloat16 or float16 (`b_type`): it is widened to Float32 exactly where it is packed or read, so
// the arithmetic, and hence every result, is that of the Float32 product with the widened B.

#include "cpu_caches.h"
#include "gemm.h"
#include "gemm_internal.h"
#include "halfprecision.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#endif

/// Computes an MR x NR tile: C[0..<mr, 0..<nr] = alpha * A·B + beta * C over `kc` steps, then adds `bias[j]` to
/// column j when `bias` is not NULL (the last depth block of a product with a bias).
/// `a` is a packed micro-panel (element (i, p) at a[p * MR + i]); element (p, j) of B is at
/// b[p * b_stride + j]. Only the first `nr` columns of B are read, so B may be unpadded.
typedef void (*microkernel)(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                            long mr, long nr, float alpha, float beta, const float *bias);

/// Packs an NR-column micro-panel of op(B) from B stored transposed, widened to Float32:
/// dst[p * nr + j] = B[offset + j * ldb + p] for p < kc, j < nr (all NR columns present).
typedef void (*pack_transposed_panel)(const ck_sgemm_args *g, long offset, long kc, long nr, float *dst);

/// Packs rows [0, mc) x depth [0, kc) of A (not transposed, Float32) into micro-panels of MR rows, zero-padded:
/// dst[p * MR + i] = a[i * lda + p] within each panel.
typedef void (*pack_rows_panels)(const float *a, long lda, long mc, long kc, float *dst);

/// A micro-kernel with its tile and cache-block sizes.
typedef struct {
    long mr, nr;
    /// MC is 0 in the static configs: `fitted_to_caches` sets it from this CPU's L2.
    long mc, kc, nc;
    /// Handles full MR x NR tiles.
    microkernel full;
    /// Handles partial tiles (fewer rows or columns).
    microkernel edge;
    /// A narrower tile (same MR and blocking) for products whose columns pad less to it (`for_columns`): its
    /// width, 0 if none, and its kernels.
    long narrow_nr;
    microkernel narrow_full, narrow_edge;
    /// Packs a transposed B micro-panel faster than the generic loop, or NULL.
    pack_transposed_panel pack_transposed;
    /// Packs a block of A (not transposed) faster than the generic loop, or NULL.
    pack_rows_panels pack_rows;
    /// Computes a whole (narrowed) product with B stored transposed by dot products of rows, or NULL.
    void (*dot_transposed)(const ck_sgemm_args *g);
} kernel_config;

/// Rectangles of C with at most this many rows read B in place instead of packing it: packing costs as
/// much as the few micro-kernel passes over each B panel would gain (as for attention's 32-row blocks of a taller
/// value product).
static const long in_place_b_max_rows = 64;

/// Problems with B stored transposed (a torch Linear weight) and at most this many rows use the
/// row-dot-product kernel, which reads B once where it is: packing (transposing) B would cost more
/// memory traffic than the product itself.
#ifndef CK_DOT_MAX_ROWS
#define CK_DOT_MAX_ROWS 64
#endif
static const long dot_transposed_max_rows = CK_DOT_MAX_ROWS;

// MARK: - Portable micro-kernel

enum { PORTABLE_MR = 4, PORTABLE_NR = 16 };

static inline void portable_tile(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                                 long mr, long nr, float alpha, float beta, const float *bias, long columns) {
    float acc[PORTABLE_MR][PORTABLE_NR] = {{0}};
    for (long p = 0; p < kc; p++) {
        const float *bp = b + p * b_stride;
        for (long i = 0; i < PORTABLE_MR; i++) {
            float ai = a[p * PORTABLE_MR + i];
            for (long j = 0; j < columns; j++) acc[i][j] += ai * bp[j];
        }
    }
    for (long i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        for (long j = 0; j < nr; j++) {
            float value = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * ci[j];
            ci[j] = bias ? ck_add_bias(value, bias[j]) : value;
        }
    }
}

static void portable_full(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                          long mr, long nr, float alpha, float beta, const float *bias) {
    portable_tile(kc, a, b, b_stride, c, ldc, mr, nr, alpha, beta, bias, PORTABLE_NR);
}

static void portable_edge(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                          long mr, long nr, float alpha, float beta, const float *bias) {
    portable_tile(kc, a, b, b_stride, c, ldc, mr, nr, alpha, beta, bias, nr);
}

static const kernel_config portable_config = {
    PORTABLE_MR, PORTABLE_NR, 0, 256, 2048, portable_full, portable_edge, 0, NULL, NULL, NULL, NULL, NULL,
};

#ifdef CK_X86

// MARK: - AVX2 + FMA micro-kernel (6 x 16: 12 accumulators in ymm registers)

#define CK_AVX2 __attribute__((target("avx2,fma")))
enum { AVX2_MR = 6, AVX2_NV = 2, AVX2_NR = AVX2_NV * 8 };

static inline __attribute__((always_inline)) CK_AVX2 __m256i avx2_mask(long remaining) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    long n = remaining < 0 ? 0 : (remaining > 8 ? 8 : remaining);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lanes);
}

static inline __attribute__((always_inline)) CK_AVX2 void avx2_tile(
    long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
    long mr, long nr, float alpha, float beta, const float *bias, int partial) {
    __m256 acc[AVX2_MR][AVX2_NV];
    __m256i mask[AVX2_NV];
    for (int v = 0; v < AVX2_NV; v++) mask[v] = avx2_mask(nr - v * 8);
    for (int i = 0; i < AVX2_MR; i++)
        for (int v = 0; v < AVX2_NV; v++) acc[i][v] = _mm256_setzero_ps();
    for (long p = 0; p < kc; p++) {
        __m256 bv[AVX2_NV];
        for (int v = 0; v < AVX2_NV; v++)
            bv[v] = partial ? _mm256_maskload_ps(b + v * 8, mask[v]) : _mm256_loadu_ps(b + v * 8);
        for (int i = 0; i < AVX2_MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            for (int v = 0; v < AVX2_NV; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += AVX2_MR;
        b += b_stride;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < AVX2_MR; i++) {
        if (i >= mr) break;
        float *ci = c + i * ldc;
        for (int v = 0; v < AVX2_NV; v++) {
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (partial) {
                if (beta != 0) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(ci + v * 8, mask[v]), r);
                if (bias) r = ck_avx2_add_bias(r, bias + v * 8, mask[v]);
                _mm256_maskstore_ps(ci + v * 8, mask[v], r);
            } else {
                if (beta != 0) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + v * 8), r);
                if (bias) r = ck_avx2_add_bias(r, bias + v * 8, _mm256_set1_epi32(-1));
                _mm256_storeu_ps(ci + v * 8, r);
            }
        }
    }
}

static CK_AVX2 void avx2_full(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                              long mr, long nr, float alpha, float beta, const float *bias) {
    avx2_tile(kc, a, b, b_stride, c, ldc, mr, nr, alpha, beta, bias, 0);
}

static CK_AVX2 void avx2_edge(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                              long mr, long nr, float alpha, float beta, const float *bias) {
    avx2_tile(kc, a, b, b_stride, c, ldc, mr, nr, alpha, beta, bias, 1);
}

static const kernel_config avx2_config = {
    AVX2_MR, AVX2_NR, 0, 256, 3072, avx2_full, avx2_edge, 0, NULL, NULL, NULL, NULL, NULL,
};

// MARK: - AVX-512 micro-kernels (8 x 48: 24 accumulators in zmm registers; 8 x 32 for narrow products)

#define CK_AVX512 __attribute__((target("avx512f,fma")))
enum { AVX512_MR = 8, AVX512_NV = 3, AVX512_NR = AVX512_NV * 16, AVX512_NARROW_NV = 2,
       AVX512_NARROW_NR = AVX512_NARROW_NV * 16 };

static inline __attribute__((always_inline)) CK_AVX512 __mmask16 avx512_mask(long remaining) {
    if (remaining >= 16) return 0xFFFF;
    if (remaining <= 0) return 0;
    return (__mmask16)((1u << remaining) - 1);
}

/// An 8 x (16 `nv`) tile (`nv` is a constant after inlining): every element of C is the same chain of fused
/// multiply-adds over k ascending whatever `nv` is, so tiles of either width give the same bits.
static inline __attribute__((always_inline)) CK_AVX512 void avx512_tile(
    long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
    long mr, long nr, float alpha, float beta, const float *bias, int partial, int nv) {
    __m512 acc[AVX512_MR][AVX512_NV];
    __mmask16 mask[AVX512_NV];
    for (int v = 0; v < nv; v++) mask[v] = avx512_mask(nr - v * 16);
    for (int i = 0; i < AVX512_MR; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    for (long p = 0; p < kc; p++) {
        __m512 bv[AVX512_NV];
        for (int v = 0; v < nv; v++)
            bv[v] = partial ? _mm512_maskz_loadu_ps(mask[v], b + v * 16) : _mm512_loadu_ps(b + v * 16);
        for (int i = 0; i < AVX512_MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += AVX512_MR;
        b += b_stride;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < AVX512_MR; i++) {
        if (i >= mr) break;
        float *ci = c + i * ldc;
        for (int v = 0; v < nv; v++) {
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (partial) {
                if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], ci + v * 16), r);
                if (bias) r = ck_avx512_add_bias(r, bias + v * 16, mask[v]);
                _mm512_mask_storeu_ps(ci + v * 16, mask[v], r);
            } else {
                if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci + v * 16), r);
                if (bias) r = ck_avx512_add_bias(r, bias + v * 16, 0xFFFF);
                _mm512_storeu_ps(ci + v * 16, r);
            }
        }
    }
}

static CK_AVX512 void avx512_full(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                                  long mr, long nr, float alpha, float beta, const float *bias) {
    avx512_tile(kc, a, b, b_stride, c, ldc, mr, nr, alpha, beta, bias, 0, AVX512_NV);
}

static CK_AVX512 void avx512_edge(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                                  long mr, long nr, float alpha, float beta, const float *bias) {
    avx512_tile(kc, a, b, b_stride, c, ldc, mr, nr, alpha, beta, bias, 1, AVX512_NV);
}

static CK_AVX512 void avx512_narrow_full(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                                         long mr, long nr, float alpha, float beta, const float *bias) {
    avx512_tile(kc, a, b, b_stride, c, ldc, mr, nr, alpha, beta, bias, 0, AVX512_NARROW_NV);
}

static CK_AVX512 void avx512_narrow_edge(long kc, const float *a, const float *b, long b_stride, float *c, long ldc,
                                         long mr, long nr, float alpha, float beta, const float *bias) {
    avx512_tile(kc, a, b, b_stride, c, ldc, mr, nr, alpha, beta, bias, 1, AVX512_NARROW_NV);
}

/// 16 elements of B from element `index` on, widened to Float32 (`type` is a constant after inlining).
static inline __attribute__((always_inline)) CK_AVX512 __m512 avx512_load_b(const ck_sgemm_args *g, ck_element_type type,
                                                                           long index) {
    switch (type) {
    case CK_ELEMENT_BF16: {
        __m512i widened = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(g->b16 + index)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(widened, 16));
    }
    case CK_ELEMENT_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(g->b16 + index)));
    default: return _mm512_loadu_ps(g->b + index);
    }
}

/// The first `count` (< 16) elements of B from element `index` on, widened, the other lanes zero.
static inline __attribute__((always_inline)) CK_AVX512 __m512 avx512_load_b_partial(
    const ck_sgemm_args *g, ck_element_type type, long index, long count) {
    if (type == CK_ELEMENT_F32) return _mm512_maskz_loadu_ps(avx512_mask(count), g->b + index);
    uint16_t padded[16] = {0};
    memcpy(padded, g->b16 + index, (size_t)count * sizeof(uint16_t));
    ck_sgemm_args staged = *g;
    staged.b16 = padded;
    return avx512_load_b(&staged, type, 0);
}

/// The `pack_transposed_panel` of the AVX-512 kernel (`nr` is AVX512_NR, a multiple of 16): 16 x 16 blocks
/// are widened and transposed in registers, the depth remainder element by element.
static inline __attribute__((always_inline)) CK_AVX512 void avx512_pack_transposed_typed(
    const ck_sgemm_args *g, ck_element_type type, long offset, long kc, long nr, float *dst) {
    long ldb = g->ldb;
    long p0 = kc / 16 * 16;
    // 16 columns at a time over the whole depth: 16 sequential streams through B (one per row of the stored
    // weight), which the hardware prefetchers follow; all NR rows per depth step (48 streams) ran 10% slower.
    for (long j0 = 0; j0 + 16 <= nr; j0 += 16) {
        for (long p = 0; p < p0; p += 16) {
            __m512 rows[16];
            for (int j = 0; j < 16; j++) rows[j] = avx512_load_b(g, type, offset + (j0 + j) * ldb + p);
            ck_avx512_transpose16(rows);
            for (int q = 0; q < 16; q++) _mm512_storeu_ps(dst + (p + q) * nr + j0, rows[q]);
        }
    }
    if (p0 == kc) return;
    for (long j = 0; j < nr; j += 16) {
        __m512 rows[16];
        for (int r = 0; r < 16; r++) rows[r] = avx512_load_b_partial(g, type, offset + (j + r) * ldb + p0, kc - p0);
        ck_avx512_transpose16(rows);
        for (long p = p0; p < kc; p++) _mm512_storeu_ps(dst + p * nr + j, rows[p - p0]);
    }
}

static CK_AVX512 void avx512_pack_transposed(const ck_sgemm_args *g, long offset, long kc, long nr, float *dst) {
    switch (g->b_type) {
    case CK_ELEMENT_BF16: avx512_pack_transposed_typed(g, CK_ELEMENT_BF16, offset, kc, nr, dst); break;
    case CK_ELEMENT_F16: avx512_pack_transposed_typed(g, CK_ELEMENT_F16, offset, kc, nr, dst); break;
    default: avx512_pack_transposed_typed(g, CK_ELEMENT_F32, offset, kc, nr, dst); break;
    }
}

/// The `pack_rows_panels` of the AVX-512 kernel (MR 8): each step loads 32 depths of the panel's 8 rows (two
/// registers a row) and transposes them in registers, so register q holds depth q of every row in its low half and
/// depth 16 + q in its high half.
static CK_AVX512 void avx512_pack_rows(const float *a, long lda, long mc, long kc, float *dst) {
    _Static_assert(AVX512_MR == 8, "the transposition packs 8 rows");
    for (long i0 = 0; i0 < mc; i0 += AVX512_MR, dst += AVX512_MR * kc) {
        long rows = mc - i0 < AVX512_MR ? mc - i0 : AVX512_MR;
        for (long p0 = 0; p0 < kc; p0 += 32) {
            __m512 block[16];
            for (int i = 0; i < AVX512_MR; i++) {
                if (i < rows) {
                    const float *row = a + (i0 + i) * lda + p0;
                    block[i] = _mm512_maskz_loadu_ps(avx512_mask(kc - p0), row);
                    block[AVX512_MR + i] = _mm512_maskz_loadu_ps(avx512_mask(kc - p0 - 16), row + 16);
                } else {
                    block[i] = block[AVX512_MR + i] = _mm512_setzero_ps();
                }
            }
            ck_avx512_transpose16(block);
            for (long q = 0; q < 16; q++) {
                if (p0 + q < kc) _mm256_storeu_ps(dst + (p0 + q) * AVX512_MR, _mm512_castps512_ps256(block[q]));
                if (p0 + 16 + q < kc)
                    _mm256_storeu_ps(dst + (p0 + 16 + q) * AVX512_MR,
                                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(block[q]), 1)));
            }
        }
    }
}

/// C = alpha·A·Bᵀ + beta·C with A (M x K) and B (N x K) read in place, for few rows of A: tiles of
/// 4 rows of A x 4 rows of B accumulate 16-lane partial dot products over the whole depth, then reduce
/// each to one element. Every element sees the same operations wherever its tile is. B is read once
/// (its 4 rows stay in L1 while every row of A passes), widened as it is loaded.
static inline __attribute__((always_inline)) CK_AVX512 void avx512_dot_transposed_typed(
    const ck_sgemm_args *g, ck_element_type type) {
    enum { R = 4, S = 4 };
    long m = g->m, n = g->n, k = g->k;
    long tail = k % 16;
    long full = k - tail;
    for (long j0 = 0; j0 < n; j0 += S) {
        long b[S];
        for (int c = 0; c < S; c++) b[c] = (j0 + c < n ? j0 + c : j0) * g->ldb;
        for (long i0 = 0; i0 < m; i0 += R) {
            const float *a[R];
            for (int r = 0; r < R; r++) a[r] = g->a + (i0 + r < m ? i0 + r : i0) * g->lda;
            __m512 acc[R][S];
            for (int r = 0; r < R; r++)
                for (int c = 0; c < S; c++) acc[r][c] = _mm512_setzero_ps();
            for (long p = 0; p < full; p += 16) {
                __m512 bv[S];
                for (int c = 0; c < S; c++) bv[c] = avx512_load_b(g, type, b[c] + p);
                for (int r = 0; r < R; r++) {
                    __m512 av = _mm512_loadu_ps(a[r] + p);
                    for (int c = 0; c < S; c++) acc[r][c] = _mm512_fmadd_ps(av, bv[c], acc[r][c]);
                }
            }
            if (tail) {
                __m512 bv[S];
                for (int c = 0; c < S; c++) bv[c] = avx512_load_b_partial(g, type, b[c] + full, tail);
                for (int r = 0; r < R; r++) {
                    __m512 av = _mm512_maskz_loadu_ps(avx512_mask(tail), a[r] + full);
                    for (int c = 0; c < S; c++) acc[r][c] = _mm512_fmadd_ps(av, bv[c], acc[r][c]);
                }
            }
            for (int r = 0; r < R && i0 + r < m; r++) {
                float *ci = g->c + (i0 + r) * g->ldc + j0;
                for (int c = 0; c < S && j0 + c < n; c++) {
                    float dot = g->alpha * _mm512_reduce_add_ps(acc[r][c]);
                    float value = g->beta == 0 ? dot : dot + g->beta * ci[c];
                    ci[c] = g->bias ? ck_add_bias(value, g->bias[j0 + c]) : value;
                }
            }
        }
    }
}

static CK_AVX512 void avx512_dot_transposed(const ck_sgemm_args *g) {
    switch (g->b_type) {
    case CK_ELEMENT_BF16: avx512_dot_transposed_typed(g, CK_ELEMENT_BF16); break;
    case CK_ELEMENT_F16: avx512_dot_transposed_typed(g, CK_ELEMENT_F16); break;
    default: avx512_dot_transposed_typed(g, CK_ELEMENT_F32); break;
    }
}

// Tile and depth block measured on AMD Zen 5 (48 KiB L1d, 1 MiB L2): 8 x 48 tiles, KC 384; MC comes from this
// CPU's L2 (`fitted_to_caches`). The 8 x 32 tile serves narrow products such as attention's score blocks of 32,
// 64 or 128 keys and its value products of head size 64, which 8 x 48 tiles pad by an eighth to a half.
static const kernel_config avx512_config = {
    AVX512_MR, AVX512_NR, 0, 384, 3072, avx512_full, avx512_edge,
    AVX512_NARROW_NR, avx512_narrow_full, avx512_narrow_edge,
    avx512_pack_transposed, avx512_pack_rows, avx512_dot_transposed,
};

#endif // CK_X86

// MARK: - Dispatch

int ck_gemm_path_supported(ck_gemm_path path) {
    switch (path) {
    case CK_GEMM_PATH_AUTOMATIC:
    case CK_GEMM_PATH_PORTABLE:
        return 1;
#ifdef CK_X86
    case CK_GEMM_PATH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CK_GEMM_PATH_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

ck_gemm_path ck_gemm_resolve_path(ck_gemm_path path) {
    if (path != CK_GEMM_PATH_AUTOMATIC && ck_gemm_path_supported(path)) return path;
    if (ck_gemm_path_supported(CK_GEMM_PATH_AVX512)) return CK_GEMM_PATH_AVX512;
    if (ck_gemm_path_supported(CK_GEMM_PATH_AVX2)) return CK_GEMM_PATH_AVX2;
    return CK_GEMM_PATH_PORTABLE;
}

const char *ck_gemm_path_name(ck_gemm_path path) {
    switch (path) {
    case CK_GEMM_PATH_AUTOMATIC: return "automatic";
    case CK_GEMM_PATH_PORTABLE: return "portable";
    case CK_GEMM_PATH_AVX2: return "avx2";
    case CK_GEMM_PATH_AVX512: return "avx512";
    }
    return "unknown";
}

// MARK: - Cache blocking from this CPU's caches

static long clamp_long(long x, long low, long high) { return x < low ? low : (x > high ? high : x); }

/// This CPU's L2 bytes per logical CPU (`ck_cpu_caches_detected`), set at first use by `fit_configs`.
static long l2_bytes;

/// `measured` with its row block fitted to this CPU's L2: the MC x KC block of A, re-read from L2 for every
/// micro-panel of B, takes half of this CPU's share of L2 (as in the bfloat16 kernel), a multiple of MR between
/// 8 MR and 1024 rows. The depth block stays: it sets how often C tiles are loaded and stored, and a KC x NR
/// micro-panel of B larger than L1d streams from L2 without loss.
static kernel_config fitted_to_caches(kernel_config measured) {
    kernel_config fitted = measured;
    long mc = l2_bytes / 2 / ((long)sizeof(float) * measured.kc);
    fitted.mc = clamp_long(mc, 8 * measured.mr, 1024) / measured.mr * measured.mr;
    return fitted;
}

static kernel_config fitted_portable;
#ifdef CK_X86
static kernel_config fitted_avx2, fitted_avx512;
#endif
static pthread_once_t fitted_once = PTHREAD_ONCE_INIT;

static void fit_configs(void) {
    l2_bytes = ck_cache_share(ck_cpu_caches_detected()->l2);
    fitted_portable = fitted_to_caches(portable_config);
#ifdef CK_X86
    fitted_avx2 = fitted_to_caches(avx2_config);
    fitted_avx512 = fitted_to_caches(avx512_config);
#endif
}

static const kernel_config *config_for(ck_gemm_path requested) {
    pthread_once(&fitted_once, fit_configs);
    switch (ck_gemm_resolve_path(requested)) {
#ifdef CK_X86
    case CK_GEMM_PATH_AVX512: return &fitted_avx512;
    case CK_GEMM_PATH_AVX2: return &fitted_avx2;
#endif
    default: return &fitted_portable;
    }
}

void ck_gemm_blocking(ck_gemm_path path, long *mc, long *kc, long *nc) {
    const kernel_config *cfg = config_for(path);
    *mc = cfg->mc;
    *kc = cfg->kc;
    *nc = cfg->nc;
}

// MARK: - Workspace (one growing buffer per thread, freed when the thread exits)

static pthread_key_t workspace_key;
static pthread_once_t workspace_once = PTHREAD_ONCE_INIT;

typedef struct {
    float *data[2];
    size_t count[2];
} workspace;

static void free_workspace(void *pointer) {
    workspace *w = pointer;
    free(w->data[0]);
    free(w->data[1]);
    free(w);
}

static void make_workspace_key(void) { pthread_key_create(&workspace_key, free_workspace); }

float *ck_gemm_thread_workspace(int slot, size_t count) {
    pthread_once(&workspace_once, make_workspace_key);
    workspace *w = pthread_getspecific(workspace_key);
    if (!w) {
        w = calloc(1, sizeof(workspace));
        if (!w) abort();
        pthread_setspecific(workspace_key, w);
    }
    if (w->count[slot] < count) {
        free(w->data[slot]);
        void *data = NULL;
        if (posix_memalign(&data, 64, count * sizeof(float)) != 0) abort();
        w->data[slot] = data;
        w->count[slot] = count;
    }
    return w->data[slot];
}

// MARK: - Packing

static long min_long(long a, long b) { return a < b ? a : b; }
static long round_up(long x, long multiple) { return (x + multiple - 1) / multiple * multiple; }

/// Packs rows [0, mc) x depth [0, kc) of op(A) into micro-panels of MR rows (zero-padded).
static void pack_a(const ck_sgemm_args *g, const kernel_config *cfg, const float *a, long mc, long kc, float *dst) {
    long mr = cfg->mr;
    if (!g->transpose_a && cfg->pack_rows) {
        cfg->pack_rows(a, g->lda, mc, kc, dst);
        return;
    }
    for (long i0 = 0; i0 < mc; i0 += mr) {
        long rows = min_long(mr, mc - i0);
        if (g->transpose_a) {
            // op(A)[i][p] = a[p * lda + i]: each depth step is a contiguous run of rows.
            for (long p = 0; p < kc; p++) {
                const float *src = a + p * g->lda + i0;
                float *out = dst + p * mr;
                long i = 0;
                for (; i < rows; i++) out[i] = src[i];
                for (; i < mr; i++) out[i] = 0;
            }
        } else {
            for (long i = 0; i < mr; i++) {
                if (i < rows) {
                    const float *src = a + (i0 + i) * g->lda;
                    for (long p = 0; p < kc; p++) dst[p * mr + i] = src[p];
                } else {
                    for (long p = 0; p < kc; p++) dst[p * mr + i] = 0;
                }
            }
        }
        dst += mr * kc;
    }
}

/// Writes `count` elements of B from element `index` on to `dst`, widened to Float32.
static void load_b(const ck_sgemm_args *g, long index, long count, float *dst) {
    switch (g->b_type) {
    case CK_ELEMENT_BF16: ck_bfloat16_to_float32(g->b16 + index, dst, (size_t)count); break;
    case CK_ELEMENT_F16: ck_float16_to_float32(g->b16 + index, dst, (size_t)count); break;
    default: memcpy(dst, g->b + index, (size_t)count * sizeof(float)); break;
    }
}

/// Packs depth [0, kc) x columns [0, nc) of op(B), starting at element `offset` of B, into micro-panels
/// of NR columns (zero-padded), widened to Float32.
static void pack_b(const ck_sgemm_args *g, long offset, long kc, long nc, long nr,
                   pack_transposed_panel pack_transposed, float *dst) {
    if (!g->transpose_b) {
        // Row by row, so B is read sequentially; each row is dealt out to the panels.
        for (long p = 0; p < kc; p++) {
            for (long j0 = 0; j0 < nc; j0 += nr) {
                long columns = min_long(nr, nc - j0);
                float *out = dst + j0 * kc + p * nr;
                load_b(g, offset + p * g->ldb + j0, columns, out);
                for (long j = columns; j < nr; j++) out[j] = 0;
            }
        }
        return;
    }
    enum { CHUNK = 256 };
    float column[CHUNK];
    for (long j0 = 0; j0 < nc; j0 += nr, dst += nr * kc) {
        long columns = min_long(nr, nc - j0);
        if (columns == nr && pack_transposed) {
            pack_transposed(g, offset + j0 * g->ldb, kc, nr, dst);
            continue;
        }
        // op(B)[p][j] = B[j * ldb + p]: each column is a contiguous run of depth, widened a chunk at a time.
        for (long j = 0; j < nr; j++) {
            for (long p0 = 0; p0 < kc; p0 += CHUNK) {
                long depth = min_long(CHUNK, kc - p0);
                if (j < columns) load_b(g, offset + (j0 + j) * g->ldb + p0, depth, column);
                for (long p = 0; p < depth; p++) dst[(p0 + p) * nr + j] = j < columns ? column[p] : 0;
            }
        }
    }
}

// MARK: - Driver

/// C = beta * C (plus the bias) for an M x N block (used when there is nothing to multiply).
static void scale_c(const ck_sgemm_args *g) {
    for (long i = 0; i < g->m; i++) {
        float *ci = g->c + i * g->ldc;
        for (long j = 0; j < g->n; j++) {
            float value = g->beta == 0 ? 0 : g->beta * ci[j];
            ci[j] = g->bias ? ck_add_bias(value, g->bias[j]) : value;
        }
    }
}

/// Whether the micro-kernel reads B where it is (row-major, not transposed, Float32) instead of packing it, for the
/// rectangle `g`. Either way every element of C gets the same operations.
static int reads_b_in_place(const ck_sgemm_args *g) {
    return !g->transpose_b && g->b_type == CK_ELEMENT_F32 && g->m <= in_place_b_max_rows;
}

/// The row block for `m` rows: the fewest blocks of at most `mc` rows, split evenly (a multiple of `mr`), so that
/// no thin last block re-reads the packed B for a few tiles. Splitting rows never changes a result.
static long balanced_block(long m, long mc, long mr) {
    long blocks = (m + mc - 1) / mc;
    return round_up((m + blocks - 1) / blocks, mr);
}

/// The column block (NC) for `m` rows at depth block `kc`: when the rows fit one block of A, the packed KC x NC
/// block of B is read once per micro-panel right after it is packed, so it is sized to a quarter of L2 (it then
/// never round-trips through L3); with several row blocks it is re-read for each, and keeps the configured NC.
static long column_block(const kernel_config *cfg, long m, long kc) {
    if (m > cfg->mc) return cfg->nc;
    long columns = l2_bytes / 4 / ((long)sizeof(float) * kc) / cfg->nr * cfg->nr;
    return clamp_long(columns, cfg->nr, cfg->nc);
}

/// The KC x NC block of op(B) at depth `pc`, columns `jc`: packed into `b_packed` (row stride NR per micro-panel)
/// or, when read in place, B itself (row stride `ldb`, returned in `stride`).
static const float *b_block(const ck_sgemm_args *g, const kernel_config *cfg, int b_in_place, long jc, long nc,
                            long pc, long kc, float *b_packed, long *stride) {
    if (b_in_place) {
        *stride = g->ldb;
        return g->b + pc * g->ldb + jc;
    }
    long offset = g->transpose_b ? jc * g->ldb + pc : pc * g->ldb + jc;
    pack_b(g, offset, kc, nc, cfg->nr, cfg->pack_transposed, b_packed);
    *stride = cfg->nr;
    return b_packed;
}

/// `cfg`, or `cfg` with its narrow tile when that pads `n` columns at least a tenth less (the narrow tile loads B
/// and broadcasts A for fewer multiply-adds, so it pays only where the wide tile wastes much on padding). Every
/// element of C gets the same operations from either tile.
static kernel_config for_columns(const kernel_config *cfg, long n) {
    kernel_config chosen = *cfg;
    if (cfg->narrow_nr > 0 && round_up(n, cfg->narrow_nr) * 10 <= round_up(n, cfg->nr) * 9) {
        chosen.nr = cfg->narrow_nr;
        chosen.full = cfg->narrow_full;
        chosen.edge = cfg->narrow_edge;
    }
    return chosen;
}

/// The micro-kernels over rows [ic, ic + mc) x columns [jc, jc + nc) of C for one depth block of `kc`, from the
/// packed A block and the B block (`b_stride` as returned by `b_block`; `b_in_place` when it is B itself); `last`
/// when it is the last depth block, which adds the bias.
static void macro_kernel(const ck_sgemm_args *g, const kernel_config *cfg, long ic, long mc, long jc, long nc, long kc,
                         const float *a_packed, const float *b, long b_stride, int b_in_place, float beta, int last) {
    long mr = cfg->mr, nr = cfg->nr;
    for (long jr = 0; jr < nc; jr += nr) {
        long columns = min_long(nr, nc - jr);
        const float *b_panel = b_in_place ? b + jr : b + jr * kc;
        for (long ir = 0; ir < mc; ir += mr) {
            long rows = min_long(mr, mc - ir);
            float *c_tile = g->c + (ic + ir) * g->ldc + jc + jr;
            microkernel kernel = rows == mr && columns == nr ? cfg->full : cfg->edge;
            const float *bias = last && g->bias ? g->bias + jc + jr : NULL;
            kernel(kc, a_packed + ir * kc, b_panel, b_stride, c_tile, g->ldc, rows, columns, g->alpha, beta, bias);
        }
    }
}

/// The blocked product for the whole of `g` (already narrowed to a rectangle) on the calling thread. When the
/// rows fit one block of A, A is packed once per depth block and B is packed in column blocks sized to L2 (see
/// `column_block`); otherwise the BLIS order of the file comment. Both sum every element in the same order.
static void gemm_serial(const ck_sgemm_args *g, const kernel_config *cfg, int b_in_place) {
    long m = g->m, n = g->n, k = g->k;
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || g->alpha == 0) {
        scale_c(g);
        return;
    }
    long mr = cfg->mr, nr = cfg->nr;
    long kc_max = min_long(cfg->kc, k);
    long mc_block = balanced_block(m, cfg->mc, mr);
    long nc_block = column_block(cfg, m, kc_max);
    long mc_max = round_up(min_long(mc_block, m), mr);
    long nc_max = round_up(min_long(nc_block, n), nr);
    size_t a_size = (size_t)(mc_max * kc_max);
    size_t b_size = b_in_place ? 0 : (size_t)(kc_max * nc_max);
    float *a_packed = ck_gemm_thread_workspace(0, a_size + b_size);
    float *b_packed = a_packed + a_size;
    long b_stride;

    if (m <= mc_block) {
        for (long pc = 0; pc < k; pc += cfg->kc) {
            long kc = min_long(cfg->kc, k - pc);
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_a(g, cfg, g->transpose_a ? g->a + pc * g->lda : g->a + pc, m, kc, a_packed);
            for (long jc = 0; jc < n; jc += nc_block) {
                long nc = min_long(nc_block, n - jc);
                const float *b = b_block(g, cfg, b_in_place, jc, nc, pc, kc, b_packed, &b_stride);
                macro_kernel(g, cfg, 0, m, jc, nc, kc, a_packed, b, b_stride, b_in_place, beta, pc + kc == k);
            }
        }
        return;
    }
    for (long jc = 0; jc < n; jc += nc_block) {
        long nc = min_long(nc_block, n - jc);
        for (long pc = 0; pc < k; pc += cfg->kc) {
            long kc = min_long(cfg->kc, k - pc);
            float beta = pc == 0 ? g->beta : 1.0f;
            const float *b = b_block(g, cfg, b_in_place, jc, nc, pc, kc, b_packed, &b_stride);
            for (long ic = 0; ic < m; ic += mc_block) {
                long mc = min_long(mc_block, m - ic);
                pack_a(g, cfg, g->transpose_a ? g->a + pc * g->lda + ic : g->a + ic * g->lda + pc, mc, kc, a_packed);
                macro_kernel(g, cfg, ic, mc, jc, nc, kc, a_packed, b, b_stride, b_in_place, beta, pc + kc == k);
            }
        }
    }
}

void ck_sgemm_block(const ck_sgemm_args *args, long row_begin, long row_end, long col_begin, long col_end) {
    ck_sgemm_args g = *args;
    g.m = row_end - row_begin;
    g.n = col_end - col_begin;
    g.a = args->transpose_a ? args->a + row_begin : args->a + row_begin * args->lda;
    long b_offset = args->transpose_b ? col_begin * args->ldb : col_begin;
    if (args->b_type == CK_ELEMENT_F32) g.b = args->b + b_offset;
    else g.b16 = args->b16 + b_offset;
    g.c = args->c + row_begin * args->ldc + col_begin;
    if (args->bias) g.bias = args->bias + col_begin;
    if (args->compute != CK_COMPUTE_F32 && args->b_type != CK_ELEMENT_F32 && args->alpha != 0 && g.m > 0 && g.n > 0 && g.k > 0) {
        ck_bf16_compute_block(&g, args->m);
        return;
    }
    const kernel_config *cfg = config_for(args->path);
    if (cfg->dot_transposed && args->transpose_b && !args->transpose_a && args->alpha != 0 && args->m <= dot_transposed_max_rows
        && g.m > 0 && g.n > 0 && g.k > 0) {
        cfg->dot_transposed(&g);
        return;
    }
    kernel_config tiles = for_columns(cfg, g.n);
    gemm_serial(&g, &tiles, reads_b_in_place(&g));
}

void ck_sgemm(const ck_sgemm_args *args) { ck_sgemm_block(args, 0, args->m, 0, args->n); }

long ck_sgemm_row_dot_max_rows(void) { return dot_transposed_max_rows; }

void ck_sgemm_part(const ck_sgemm_args *args, long part, long parts) {
    const kernel_config *cfg = config_for(args->path);
    long row_units = (args->m + cfg->mr - 1) / cfg->mr;
    long col_units = (args->n + cfg->nr - 1) / cfg->nr;
    // A grid of row_parts x col_parts rectangles. Each rectangle packs its own panels, so splitting rows
    // repacks B once per row part and splitting columns repacks A once per column part: pick the grid
    // that repacks least, among those that give every part some tiles.
    long row_parts = 1, col_parts = parts;
    long best_cost = -1;
    for (long r = 1; r <= parts; r++) {
        if (parts % r != 0) continue;
        long c = parts / r;
        int fits = r <= row_units && c <= col_units;
        long cost = c * args->m + r * args->n + (fits ? 0 : 1L << 40);
        if (best_cost < 0 || cost < best_cost) {
            best_cost = cost;
            row_parts = r;
            col_parts = c;
        }
    }
    long row_part = part / col_parts, col_part = part % col_parts;
    long row_begin = min_long(args->m, row_units * row_part / row_parts * cfg->mr);
    long row_end = min_long(args->m, row_units * (row_part + 1) / row_parts * cfg->mr);
    long col_begin = min_long(args->n, col_units * col_part / col_parts * cfg->nr);
    long col_end = min_long(args->n, col_units * (col_part + 1) / col_parts * cfg->nr);
    if (row_begin < row_end && col_begin < col_end) ck_sgemm_block(args, row_begin, row_end, col_begin, col_end);
}
