#pragma once
// Pieces shared by the GEMM drivers (gemm.c, gemm_bf16.c); not part of the module's public headers.

#include "gemm.h"

#include <stddef.h>

/// A 64-byte aligned scratch buffer of at least `count` floats, owned by the calling thread. Each `slot`
/// (0 or 1) is a separate buffer, so a driver holding slot 1 may call one that uses slot 0.
float *ck_gemm_thread_workspace(int slot, size_t count);

/// The product of `g` (already narrowed to one rectangle, with m, n, k > 0 and alpha != 0) when B is bfloat16 or
/// float16 and `g->compute` asks for bfloat16 compute (gemm_bf16.c). `product_rows` is the row count of the whole
/// product the rectangle belongs to: the kernel is chosen from it, so that every split of a product runs the same
/// kernel (the same summation order) on every element.
void ck_bf16_compute_block(const ck_sgemm_args *g, long product_rows);

// The bias of `ck_sgemm_args` is added to finished values by these helpers: their additions are never contracted
// with the multiply that produced the value (the file-wide -ffp-contract would otherwise fuse `alpha * sum + bias`),
// so adding the bias in the epilogue gives the bits of adding it afterwards.

/// `value + bias`, rounded once.
static inline float ck_add_bias(float value, float bias) {
#pragma clang fp contract(off)
    return value + bias;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/// `value` plus the 8 values of `bias` in `mask` (the other lanes plus zero), each rounded once.
static inline __attribute__((always_inline, target("avx2"))) __m256 ck_avx2_add_bias(__m256 value, const float *bias,
                                                                                     __m256i mask) {
#pragma clang fp contract(off)
    return (__m256)((__v8sf)value + (__v8sf)_mm256_maskload_ps(bias, mask));
}

/// `value` plus the 16 values of `bias` in `mask` (the other lanes plus zero), each rounded once.
static inline __attribute__((always_inline, target("avx512f"))) __m512 ck_avx512_add_bias(__m512 value, const float *bias,
                                                                                        __mmask16 mask) {
#pragma clang fp contract(off)
    return (__m512)((__v16sf)value + (__v16sf)_mm512_maskz_loadu_ps(mask, bias));
}

/// Transposes a 16 x 16 block of 32-bit lanes in registers: rows[i] lane j becomes rows[j] lane i.
static inline __attribute__((always_inline, target("avx512f"))) void ck_avx512_transpose16(__m512 rows[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(rows[i], rows[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(rows[i], rows[i + 1]);
    }
    // u[4g + c], 128-bit lane L: column 4L + c of rows 4g ..< 4g + 4.
    __m512 u[16];
    for (int g = 0; g < 4; g++) {
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // Gather lane L of u[c], u[4 + c], u[8 + c], u[12 + c] into rows[4L + c].
    for (int c = 0; c < 4; c++) {
        __m512 even_low = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        __m512 odd_low = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        __m512 even_high = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        __m512 odd_high = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        rows[c] = _mm512_shuffle_f32x4(even_low, even_high, 0x88);
        rows[8 + c] = _mm512_shuffle_f32x4(even_low, even_high, 0xDD);
        rows[4 + c] = _mm512_shuffle_f32x4(odd_low, odd_high, 0x88);
        rows[12 + c] = _mm512_shuffle_f32x4(odd_low, odd_high, 0xDD);
    }
}
#endif
