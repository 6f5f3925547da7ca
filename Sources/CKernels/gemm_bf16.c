// bfloat16 compute for products with bfloat16 or float16 B (`CK_COMPUTE_BF16`, see gemm.h). float16 B is rounded to
// bfloat16 (nearest, ties to even; widening to Float32 first is exact) wherever it is read or packed, so both
// operands of every product are bfloat16 and the weights stay float16 in memory.
//
// Two kernels use AVX512-BF16 `vdpbf16ps`: each of its 16 Float32 lanes adds the products of one pair of
// bfloat16 elements (two consecutive depths) to an accumulator.
//   - Few rows of A (decode, short prompts) with B a torch Linear weight [N, K]: dot products of rows. Pairs of
//     depths are adjacent in a row of A (rounded to bfloat16 once) and in a row of B, so each weight is read
//     where it is, once; 4 rows of B stay in L1 while every row of A passes (float16 rows are first rounded to
//     bfloat16 into an L1 buffer, once per 4 rows), and the next 4 are prefetched when B does not fit in L3.
//     The 16 dot products of a 4 x 4 tile are reduced together, in the order of `_mm512_reduce_add_ps`.
//   - More rows: the BLIS loop nest of gemm.c with an 8 x 48 register tile (24 accumulators). B is packed per
//     KC x NC slab with pairs of depths interleaved (for each pair, 48 columns of (even, odd) elements: the
//     layout vdpbf16ps reads), A per MC x KC block as rows of pairs to broadcast, rounded to bfloat16 as it is packed.
//     KC, MC and NC come from this CPU's L2 and L3 sizes at first use, the depth split into equal blocks.
// Anything else (no AVX512-BF16 or no OS zmm support, A stored transposed, B not transposed, a path other than
// AVX-512 requested, or INTERP_BF16_WIDENED set) rounds op(A) to bfloat16 into a Float32 buffer and runs the
// Float32 kernels with B widened (float16 B first rounded to bfloat16 into a copy). Every product of two bfloat16
// values is exact in Float32, so both give the Float32 product of the rounded A and B up to summation order
// (vdpbf16ps also treats subnormal inputs as 0).

#include "cpu_caches.h"
#include "gemm.h"
#include "gemm_internal.h"
#include "halfprecision.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define CK_BF16_X86 1
#endif

static long min_long(long a, long b) { return a < b ? a : b; }
static long clamp_long(long x, long low, long high) { return x < low ? low : (x > high ? high : x); }
static long round_up(long x, long multiple) { return (x + multiple - 1) / multiple * multiple; }

/// `x` rounded to bfloat16 (nearest, ties to even; NaN stays a quiet NaN), as a Float32.
static inline float round_to_bfloat16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7FFFFFFF) > 0x7F800000) u |= 0x00400000;
    else u += 0x7FFF + ((u >> 16) & 1);
    u &= 0xFFFF0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

/// The bfloat16 bits of float16 `h` rounded to bfloat16 (nearest, ties to even).
static inline uint16_t float16_to_bfloat16(uint16_t h) {
    float x;
    uint16_t b;
    ck_float16_to_float32(&h, &x, 1);
    ck_float32_to_bfloat16(&x, &b, 1);
    return b;
}

// MARK: - Fallback: round A, then the Float32 kernels with B widened

/// A copy of the float16 B that `g` reads (op(B) of `g->k` x `g->n`, in its stored orientation) rounded to
/// bfloat16, with `g` pointed at it; the caller frees the returned buffer.
static uint16_t *round_float16_b(ck_sgemm_args *g) {
    long rows = g->transpose_b ? g->n : g->k, columns = g->transpose_b ? g->k : g->n;
    uint16_t *rounded = malloc((size_t)(rows * columns) * sizeof *rounded);
    float *row = malloc((size_t)columns * sizeof *row);
    if (!rounded || !row) abort();
    for (long r = 0; r < rows; r++) {
        ck_float16_to_float32(g->b16 + r * g->ldb, row, (size_t)columns);
        ck_float32_to_bfloat16(row, rounded + r * columns, (size_t)columns);
    }
    free(row);
    g->b_type = CK_ELEMENT_BF16;
    g->b16 = rounded;
    g->ldb = columns;
    return rounded;
}

static void widened_block(const ck_sgemm_args *g) {
    long m = g->m, k = g->k;
    float *rounded = ck_gemm_thread_workspace(1, (size_t)(m * k));
    if (g->transpose_a) {
        for (long p = 0; p < k; p++)
            for (long i = 0; i < m; i++) rounded[i * k + p] = round_to_bfloat16(g->a[p * g->lda + i]);
    } else {
        for (long i = 0; i < m; i++)
            for (long p = 0; p < k; p++) rounded[i * k + p] = round_to_bfloat16(g->a[i * g->lda + p]);
    }
    ck_sgemm_args widened = *g;
    widened.transpose_a = 0;
    widened.a = rounded;
    widened.lda = k;
    widened.compute = CK_COMPUTE_F32;
    uint16_t *rounded_b = g->b_type == CK_ELEMENT_F16 ? round_float16_b(&widened) : NULL;
    ck_sgemm_block(&widened, 0, m, 0, g->n);
    free(rounded_b);
}

// MARK: - CPU support

static int dot_available;
static pthread_once_t dot_once = PTHREAD_ONCE_INIT;

static void detect_dot(void) {
#ifdef CK_BF16_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return;  // OSXSAVE
    unsigned low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    if ((low & 0xE6) != 0xE6) return;  // the OS saves SSE, AVX, opmask and all zmm state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    unsigned subleaves = a;
    if (!(b & (1u << 16)) || !(b & (1u << 30)) || subleaves < 1) return;  // AVX512F, AVX512BW
    __get_cpuid_count(7, 1, &a, &b, &c, &d);
    if (!(a & (1u << 5))) return;  // AVX512_BF16
    const char *forced = getenv("INTERP_BF16_WIDENED");
    if (forced && forced[0] && strcmp(forced, "0") != 0) return;
    dot_available = 1;
#endif
}

int ck_bf16_dot_available(void) {
    pthread_once(&dot_once, detect_dot);
    return dot_available;
}

#ifdef CK_BF16_X86

#define CK_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
enum { MR = 8, NV = 3, NR = NV * 16 };

/// Problems with at most this many rows (and B a transposed weight) use the row-dot-product kernel.
static const long rows_kernel_max_rows = 32;

// MARK: - Cache blocking from this CPU's caches

/// Depth pairs (KC / 2), rows (MC) and columns (NC) per block.
typedef struct {
    long kcp, mc, nc;
} bf16_blocking;

static bf16_blocking fitted_blocking;
static pthread_once_t blocking_once = PTHREAD_ONCE_INIT;
/// Bytes of L2 given to the block of A, and of L3 to the slab of B (see `fit_blocking`); bytes of L2 given to the
/// slab of B when the rows fit one block of A (`bf16_blocked`).
static long a_block_bytes, b_slab_bytes, l2_slab_bytes;
/// This CPU's share of L3 in bytes: a B larger than that is read from memory.
static long l3_share_bytes;

/// The largest depth block: the KC x NR micro-panel of B (4 bytes per pair and column) takes a sixth of L2,
/// every tile of the A block streaming it from there (on Zen 4, KC 768 runs 20% faster than KC 256 from L1d,
/// and a depth of 3072 runs 3-4% faster in 2 blocks of 1536 than in 3 of 1024: C tiles are loaded and stored
/// once per depth block); the MC x KC block of A takes half of L2 (re-read for
/// each micro-panel of B); the KC x NC slab of B half of this CPU's share of L3 (re-read for each block of A).
/// Shares are per logical CPU sharing the cache (`ck_cpu_caches_detected`).
static void fit_blocking(void) {
    const ck_cpu_caches *caches = ck_cpu_caches_detected();
    long l2 = ck_cache_share(caches->l2), l3 = ck_cache_share(caches->l3);
    a_block_bytes = l2 / 2;
    l2_slab_bytes = l2 / 4;
    b_slab_bytes = l3 / 2;
    l3_share_bytes = l3;
    long kcp = clamp_long(l2 / 6 / (NR * 4) / 16 * 16, 64, 1024);
    fitted_blocking.kcp = kcp;
    fitted_blocking.mc = clamp_long(a_block_bytes / (kcp * 4) / MR * MR, MR * 8, 1024);
    fitted_blocking.nc = clamp_long(b_slab_bytes / (kcp * 4) / NR * NR, NR * 8, NR * 256);
}

/// The blocks of a product of depth `k`: the depth split into equal blocks of at most the fitted depth (a
/// remainder block would cost a whole extra pass over C for a few depths), rows and columns sized to it.
/// Depends on `k` alone, so every part of a split product sums in the same order.
static bf16_blocking blocking_for_depth(long k) {
    pthread_once(&blocking_once, fit_blocking);
    long pairs = (k + 1) / 2, blocks = (pairs + fitted_blocking.kcp - 1) / fitted_blocking.kcp;
    bf16_blocking b;
    b.kcp = round_up((pairs + blocks - 1) / blocks, 8);
    b.mc = clamp_long(a_block_bytes / (b.kcp * 4) / MR * MR, MR * 8, 1024);
    b.nc = clamp_long(b_slab_bytes / (b.kcp * 4) / NR * NR, NR * 8, NR * 256);
    return b;
}

void ck_bf16_blocking(long *mc, long *kc, long *nc) {
    pthread_once(&blocking_once, fit_blocking);
    *mc = fitted_blocking.mc;
    *kc = 2 * fitted_blocking.kcp;
    *nc = fitted_blocking.nc;
}

// MARK: - Packing

static inline __attribute__((always_inline)) CK_BF16 __mmask16 mask16(long remaining) {
    if (remaining >= 16) return 0xFFFF;
    if (remaining <= 0) return 0;
    return (__mmask16)((1u << remaining) - 1);
}

/// 32 Float32 values from `src` (only the first `count`, the rest zero) rounded to 32 bfloat16 values.
static inline __attribute__((always_inline)) CK_BF16 __m512i round32(const float *src, long count) {
    __m512 low = _mm512_maskz_loadu_ps(mask16(count), src);
    __m512 high = _mm512_maskz_loadu_ps(mask16(count - 16), src + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(high, low);
}

/// Packs rows [ic, ic + mc) x depth pairs [pc, pc + kcp) of A into micro-panels of MR rows (zero-padded):
/// dst[i * kcp + p] holds the rounded pair (A[i][2p], A[i][2p + 1]) of the panel's row i. The rows stay rows
/// (the micro-kernel broadcasts each pair from its row), so packing only rounds 32 values to 16 pairs per step;
/// transposing them to pair-major order cost as much again (4-8% of the product when N is a few hundred).
/// Each step prefetches the same depths of the next row: a row is only a few KB, too short for the hardware
/// prefetcher to ramp up, and without it packing waited on A (4-6% of a 512 x 1536 x 576 product on Zen 5).
static CK_BF16 void pack_a_pairs(const ck_sgemm_args *g, long ic, long mc, long pc, long kcp, uint32_t *dst) {
    long depth = min_long(2 * kcp, g->k - 2 * pc);
    for (long i0 = 0; i0 < mc; i0 += MR, dst += MR * kcp) {
        long rows = min_long(MR, mc - i0);
        for (long i = 0; i < MR; i++) {
            uint32_t *out = dst + i * kcp;
            const float *row = g->a + (ic + i0 + i) * g->lda + 2 * pc;
            const float *next_row = ic + i0 + i + 1 < g->m ? row + g->lda : NULL;
            for (long q0 = 0; q0 < kcp; q0 += 16) {
                if (next_row) {
                    _mm_prefetch((const char *)(next_row + 2 * q0), _MM_HINT_T0);
                    _mm_prefetch((const char *)(next_row + 2 * q0 + 16), _MM_HINT_T0);
                }
                __m512i pairs = i < rows ? round32(row + 2 * q0, depth - 2 * q0) : _mm512_setzero_si512();
                _mm512_mask_storeu_epi32(out + q0, mask16(kcp - q0), pairs);
            }
        }
    }
}

/// The pair of B elements (row, depth `e`, `e + 1`) as bfloat16, the second zero past the depth.
static inline uint32_t b_pair(const ck_sgemm_args *g, long row, long e) {
    const uint16_t *w = g->b16 + row * g->ldb + e;
    uint16_t low = w[0], high = e + 1 < g->k ? w[1] : 0;
    if (g->b_type == CK_ELEMENT_F16) {
        low = float16_to_bfloat16(low);
        high = float16_to_bfloat16(high);
    }
    return (uint32_t)low | (uint32_t)high << 16;
}

/// 32 consecutive B elements at `src` (those outside `mask` zero) as bfloat16: loaded as they are, or float16
/// widened and rounded to bfloat16.
static inline __attribute__((always_inline)) CK_BF16 __m512i load_b32(const uint16_t *src, __mmask32 mask, int f16) {
    __m512i v = _mm512_maskz_loadu_epi16(mask, src);
    if (!f16) return v;
    __m512 low = _mm512_cvtph_ps(_mm512_castsi512_si256(v));
    __m512 high = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(v, 1));
    return (__m512i)_mm512_cvtne2ps_pbh(high, low);
}

/// Packs columns [jc, jc + nc) (rows of the stored weight) x depth pairs [pc, pc + kcp) of op(B) into
/// micro-panels of NR columns (zero-padded): dst[p * NR + j] is the pair (B[j][2p], B[j][2p + 1]).
/// Whole 16 x 16 blocks of pairs are transposed in registers, the rest element by element; each block prefetches
/// the same depths of the next 16 rows (16 concurrent row streams defeat the hardware prefetcher: 6% of a
/// 150 x 576 x 24576 product on Zen 5, B read from memory).
static CK_BF16 void pack_b_pairs(const ck_sgemm_args *g, long jc, long nc, long pc, long kcp, uint32_t *dst) {
    int f16 = g->b_type == CK_ELEMENT_F16;
    long whole_pairs = clamp_long((g->k - 2 * pc) / 2, 0, kcp);
    for (long j0 = 0; j0 < nc; j0 += NR, dst += NR * kcp) {
        long columns = min_long(NR, nc - j0);
        for (long jj = 0; jj < NR; jj += 16) {
            long q0 = 0;
            if (jj + 16 <= columns) {
                for (; q0 + 16 <= whole_pairs; q0 += 16) {
                    __m512 rows[16];
                    for (int r = 0; r < 16; r++) {
                        const uint16_t *src = g->b16 + (jc + j0 + jj + r) * g->ldb + 2 * (pc + q0);
                        if (jc + j0 + jj + 16 + r < g->n) _mm_prefetch((const char *)(src + 16 * g->ldb), _MM_HINT_T0);
                        rows[r] = _mm512_castsi512_ps(load_b32(src, 0xFFFFFFFFu, f16));
                    }
                    ck_avx512_transpose16(rows);
                    for (int q = 0; q < 16; q++) _mm512_storeu_ps((float *)(dst + (q0 + q) * NR + jj), rows[q]);
                }
            }
            for (long p = q0; p < kcp; p++) {
                uint32_t *out = dst + p * NR + jj;
                for (long j = 0; j < 16; j++) {
                    long column = j0 + jj + j;
                    out[j] = column < nc && 2 * (pc + p) < g->k ? b_pair(g, jc + column, 2 * (pc + p)) : 0;
                }
            }
        }
    }
}

// MARK: - Blocked kernel (8 x 48 tiles)

/// C[0..<mr, 0..<nr] = alpha * A·B + beta * C over `kcp` depth pairs, from packed micro-panels (A's rows `kcp`
/// pairs apart, B's pairs NR columns apart), then plus `bias[j]` in column j when `bias` is not NULL.
static inline __attribute__((always_inline)) CK_BF16 void bf16_tile(
    long kcp, const uint32_t *a, const uint32_t *b, float *c, long ldc, long mr, long nr, float alpha, float beta,
    const float *bias, int partial) {
    __m512 acc[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (long p = 0; p < kcp; p++) {
        __m512bh bv[NV];
        for (int v = 0; v < NV; v++) bv[v] = (__m512bh)_mm512_loadu_si512(b + v * 16);
        for (int i = 0; i < MR; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i * kcp + p]);
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
        }
        b += NR;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        float *ci = c + i * ldc;
        for (int v = 0; v < NV; v++) {
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            __mmask16 mask = partial ? mask16(nr - v * 16) : 0xFFFF;
            if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, ci + v * 16), r);
            if (bias) r = ck_avx512_add_bias(r, bias + v * 16, mask);
            _mm512_mask_storeu_ps(ci + v * 16, mask, r);
        }
    }
}

static CK_BF16 void bf16_full(long kcp, const uint32_t *a, const uint32_t *b, float *c, long ldc, long mr,
                              float alpha, float beta, const float *bias) {
    bf16_tile(kcp, a, b, c, ldc, mr, NR, alpha, beta, bias, 0);
}

static CK_BF16 void bf16_edge(long kcp, const uint32_t *a, const uint32_t *b, float *c, long ldc, long mr, long nr,
                              float alpha, float beta, const float *bias) {
    bf16_tile(kcp, a, b, c, ldc, mr, nr, alpha, beta, bias, 1);
}

/// The micro-kernels over rows [ic, ic + mc) x columns [jc, jc + nc) of C for `kcp` depth pairs, from the packed
/// A block and B slab; `last` when they are the last depth pairs, which add the bias.
static CK_BF16 void bf16_macro_kernel(const ck_sgemm_args *g, long ic, long mc, long jc, long nc, long kcp,
                                      const uint32_t *a_packed, const uint32_t *b_packed, float beta, int last) {
    for (long jr = 0; jr < nc; jr += NR) {
        long columns = min_long(NR, nc - jr);
        const uint32_t *b_panel = b_packed + jr * kcp;
        for (long ir = 0; ir < mc; ir += MR) {
            long rows = min_long(MR, mc - ir);
            float *c_tile = g->c + (ic + ir) * g->ldc + jc + jr;
            const float *bias = last && g->bias ? g->bias + jc + jr : NULL;
            if (columns == NR) bf16_full(kcp, a_packed + ir * kcp, b_panel, c_tile, g->ldc, rows, g->alpha, beta, bias);
            else bf16_edge(kcp, a_packed + ir * kcp, b_panel, c_tile, g->ldc, rows, columns, g->alpha, beta, bias);
        }
    }
}

/// The blocked product. Rows are split into the fewest blocks of at most MC, evenly (no thin last block
/// re-reading the B slab for a few tiles). When they fit one block, A is packed once per depth block and B in
/// slabs of a quarter of L2, consumed right after they are packed (never round-tripping through L3); otherwise
/// the BLIS order (slab of B, then each block of A). The depth blocks, and so every sum, are the same either way.
static CK_BF16 void bf16_blocked(const ck_sgemm_args *g) {
    const bf16_blocking bk = blocking_for_depth(g->k);
    long m = g->m, n = g->n, pairs = (g->k + 1) / 2;
    long kcp_max = min_long(bk.kcp, pairs);
    long row_blocks = (m + bk.mc - 1) / bk.mc;
    long mc_block = round_up((m + row_blocks - 1) / row_blocks, MR);
    long nc_block = row_blocks == 1 ? clamp_long(l2_slab_bytes / (kcp_max * 4) / NR * NR, NR, bk.nc) : bk.nc;
    long mc_max = round_up(min_long(mc_block, m), MR);
    long nc_max = round_up(min_long(nc_block, n), NR);
    uint32_t *a_packed = (uint32_t *)ck_gemm_thread_workspace(1, (size_t)((mc_max + nc_max) * kcp_max));
    uint32_t *b_packed = a_packed + mc_max * kcp_max;
    if (row_blocks == 1) {
        for (long pc = 0; pc < pairs; pc += bk.kcp) {
            long kcp = min_long(bk.kcp, pairs - pc);
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_a_pairs(g, 0, m, pc, kcp, a_packed);
            for (long jc = 0; jc < n; jc += nc_block) {
                long nc = min_long(nc_block, n - jc);
                pack_b_pairs(g, jc, nc, pc, kcp, b_packed);
                bf16_macro_kernel(g, 0, m, jc, nc, kcp, a_packed, b_packed, beta, pc + kcp == pairs);
            }
        }
        return;
    }
    for (long jc = 0; jc < n; jc += nc_block) {
        long nc = min_long(nc_block, n - jc);
        for (long pc = 0; pc < pairs; pc += bk.kcp) {
            long kcp = min_long(bk.kcp, pairs - pc);
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_b_pairs(g, jc, nc, pc, kcp, b_packed);
            for (long ic = 0; ic < m; ic += mc_block) {
                long mc = min_long(mc_block, m - ic);
                pack_a_pairs(g, ic, mc, pc, kcp, a_packed);
                bf16_macro_kernel(g, ic, mc, jc, nc, kcp, a_packed, b_packed, beta, pc + kcp == pairs);
            }
        }
    }
}

// MARK: - Row-dot-product kernel (few rows, B read in place)

/// The sums of the 16 lanes of each accumulator acc[r][c], lane 4r + c, added in the order of
/// `_mm512_reduce_add_ps` (lanes i and i + 8, then i + 4, i + 2, i + 1) for all 16 at once: each step adds
/// two halves of pairs of registers, so 45 operations instead of 16 separate reductions.
static inline __attribute__((always_inline)) CK_BF16 __m512 reduce16(__m512 acc[4][4]) {
    __m512 x[16], s1[8], s2[4], s3[2];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) x[4 * c + r] = acc[r][c];
    for (int i = 0; i < 8; i++)
        s1[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0x44),
                              _mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0xEE));
    for (int i = 0; i < 4; i++)
        s2[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s1[2 * i], s1[2 * i + 1], 0x88),
                              _mm512_shuffle_f32x4(s1[2 * i], s1[2 * i + 1], 0xDD));
    for (int i = 0; i < 2; i++)
        s3[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(s2[2 * i]), _mm512_castps_pd(s2[2 * i + 1]))),
                              _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(s2[2 * i]), _mm512_castps_pd(s2[2 * i + 1]))));
    return _mm512_add_ps(_mm512_shuffle_ps(s3[0], s3[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(s3[0], s3[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/// Rows [i0, i0 + R) of A (bfloat16, rows `stride` apart, zero-padded to a multiple of 32) times the bfloat16 rows
/// `w` of B (columns [j0, j0 + S) of C), plus the bias, stored for the rows and columns that exist.
static inline __attribute__((always_inline)) CK_BF16 void bf16_dot_tile(
    const ck_sgemm_args *g, const uint16_t *a16, long stride, long i0, long j0, int R, const uint16_t *const *w,
    const uint16_t *next) {
    enum { S = 4 };
    long k = g->k, full = k / 32 * 32, tail = k - full;
    __m512 acc[4][S];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < S; c++) acc[r][c] = _mm512_setzero_ps();
    for (long p = 0; p < full; p += 32) {
        if (next)
            for (int c = 0; c < S; c++) _mm_prefetch((const char *)(next + c * g->ldb + p), _MM_HINT_T0);
        __m512bh wv[S];
        for (int c = 0; c < S; c++) wv[c] = (__m512bh)_mm512_loadu_si512(w[c] + p);
        for (int r = 0; r < R; r++) {
            __m512bh av = (__m512bh)_mm512_loadu_si512(a16 + (i0 + r) * stride + p);
            for (int c = 0; c < S; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], av, wv[c]);
        }
    }
    if (tail) {
        __mmask32 mask = (__mmask32)((1u << tail) - 1);
        __m512bh wv[S];
        for (int c = 0; c < S; c++) wv[c] = (__m512bh)_mm512_maskz_loadu_epi16(mask, w[c] + full);
        for (int r = 0; r < R; r++) {
            __m512bh av = (__m512bh)_mm512_loadu_si512(a16 + (i0 + r) * stride + full);
            for (int c = 0; c < S; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], av, wv[c]);
        }
    }
    for (int r = R; r < 4; r++)
        for (int c = 0; c < S; c++) acc[r][c] = _mm512_setzero_ps();
    float sums[16];
    _mm512_storeu_ps(sums, reduce16(acc));
    long columns = min_long(S, g->n - j0);
    __mmask16 mask = mask16(columns);
    __m512 va = _mm512_set1_ps(g->alpha), vb = _mm512_set1_ps(g->beta);
    for (int r = 0; r < R; r++) {
        float *ci = g->c + (i0 + r) * g->ldc + j0;
        __m512 dot = _mm512_mul_ps(va, _mm512_maskz_loadu_ps(mask, sums + 4 * r));
        if (g->beta != 0) dot = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, ci), dot);
        if (g->bias) dot = ck_avx512_add_bias(dot, g->bias + j0, mask);
        _mm512_mask_storeu_ps(ci, mask, dot);
    }
}

/// Every row of A against B, 4 rows of B (columns of C) at a time: bfloat16 B is read in place; float16 B is rounded
/// to bfloat16 once per 4 rows into a buffer (4 x `stride`, in L1) that every row of A then reads.
static CK_BF16 void bf16_rows(const ck_sgemm_args *g) {
    pthread_once(&blocking_once, fit_blocking);
    int prefetch = g->n * g->ldb * (long)sizeof(uint16_t) > l3_share_bytes;
    long m = g->m, n = g->n, k = g->k, stride = round_up(k, 32);
    uint16_t *a16 = (uint16_t *)ck_gemm_thread_workspace(1, (size_t)((m + 4) * stride / 2));
    uint16_t *rounded_b = a16 + m * stride;
    int f16 = g->b_type == CK_ELEMENT_F16;
    for (long i = 0; i < m; i++)
        for (long p = 0; p < stride; p += 32)
            _mm512_storeu_si512(a16 + i * stride + p, round32(g->a + i * g->lda + p, k - p));
    for (long j0 = 0; j0 < n; j0 += 4) {
        const uint16_t *w[4];
        for (int c = 0; c < 4; c++) {
            const uint16_t *row = g->b16 + min_long(j0 + c, n - 1) * g->ldb;
            if (!f16) {
                w[c] = row;
                continue;
            }
            for (long p = 0; p < stride; p += 32) {
                __mmask32 mask = k - p >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << (k - p)) - 1);
                _mm512_storeu_si512(rounded_b + c * stride + p, load_b32(row + p, mask, 1));
            }
            w[c] = rounded_b + c * stride;
        }
        long i0 = 0;
        // When B is larger than this CPU's share of L3 (read from memory), the first tile of each group of 4 rows
        // of B prefetches the next group: the hardware prefetcher leaves the 4 interleaved streams waiting on
        // memory (18% of the time of a 16-row unembedding on Zen 4); when B is cached, the prefetches only cost.
        const uint16_t *next = prefetch && j0 + 8 <= n ? g->b16 + (j0 + 4) * g->ldb : NULL;
        for (; i0 + 4 <= m; i0 += 4, next = NULL) bf16_dot_tile(g, a16, stride, i0, j0, 4, w, next);
        switch (m - i0) {
        case 3: bf16_dot_tile(g, a16, stride, i0, j0, 3, w, next); break;
        case 2: bf16_dot_tile(g, a16, stride, i0, j0, 2, w, next); break;
        case 1: bf16_dot_tile(g, a16, stride, i0, j0, 1, w, next); break;
        default: break;
        }
    }
}

#else

void ck_bf16_blocking(long *mc, long *kc, long *nc) { *mc = *kc = *nc = 0; }

#endif // CK_BF16_X86

// MARK: - Dispatch

void ck_bf16_compute_block(const ck_sgemm_args *g, long product_rows) {
#ifdef CK_BF16_X86
    if (g->compute == CK_COMPUTE_BF16 && g->transpose_b && !g->transpose_a && ck_bf16_dot_available()
        && ck_gemm_resolve_path(g->path) == CK_GEMM_PATH_AVX512) {
        if (product_rows <= rows_kernel_max_rows) bf16_rows(g);
        else bf16_blocked(g);
        return;
    }
#endif
    widened_block(g);
}
