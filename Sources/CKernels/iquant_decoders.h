#pragma once
// Decoders of llama.cpp's i-quant blocks (IQ4_NL, IQ4_XS and the grid-based IQ3_S, IQ3_XXS, IQ2_S, IQ2_XS,
// IQ2_XXS, IQ1_S, IQ1_M), included by quantdot.c after its `CK_INLINE`, `CK_QUANT_AVX2` and `half_to_float`, under
// its `fp contract(off)`. Each performs the Float32 operations of `gguf.quants.dequantize` in the same order (block
// scale times sub-block scale first, then one multiply per value; a sign flip or a grid value plus delta where the
// format has one), so the values are those of the reference bit for bit. In the AVX2 and AVX-512 kernels (`path`,
// a constant where the decoders are inlined) the table lookups and sign flips take SIMD versions of the same
// operations.

#include "iquant_tables.h"

/// The little-endian uint16 / uint32 at `b`.
CK_INLINE uint16_t load_u16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
CK_INLINE uint32_t load_u32(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/// Nibble `k` of `bytes`: the low nibble of byte `k / 2` for even `k`, its high nibble for odd `k` (how the
/// i-quants pack their 4-bit sub-block scales).
CK_INLINE int nibble_at(const uint8_t *bytes, int k) { return (bytes[k / 2] >> (4 * (k & 1))) & 0x0F; }

#ifdef CK_QUANT_X86
/// `decode_nonlinear_nibbles` with the table lookup as a byte shuffle (AVX2; also inlined by the AVX-512 kernel).
/// Not `always_inline`: the portable kernel holds a call to it that is never taken.
static inline CK_QUANT_AVX2 void decode_nonlinear_nibbles_avx2(const uint8_t *qs, float d, float *out) {
    __m128i table = _mm_loadu_si128((const __m128i *)ck_iq4nl_values), nibble = _mm_set1_epi8(0x0F);
    __m128i bytes = _mm_loadu_si128((const __m128i *)qs);
    __m128i low = _mm_shuffle_epi8(table, _mm_and_si128(bytes, nibble));
    __m128i high = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble));
    __m256 scale = _mm256_set1_ps(d);
    _mm256_storeu_ps(out, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(low))));
    _mm256_storeu_ps(out + 8, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(low, 8)))));
    _mm256_storeu_ps(out + 16, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(high))));
    _mm256_storeu_ps(out + 24, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(high, 8)))));
}
#endif

/// Sixteen bytes of 4-bit codes (value `i` in the low nibble of byte `i`, value `i + 16` in its high nibble), each
/// mapped through IQ4_NL's table and scaled by `d`. `path` is the kernel this is inlined into (a constant there).
CK_INLINE void decode_nonlinear_nibbles(const uint8_t *qs, float d, float *out, ck_gemm_path path) {
#ifdef CK_QUANT_X86
    if (path != CK_GEMM_PATH_PORTABLE) {
        decode_nonlinear_nibbles_avx2(qs, d, out);
        return;
    }
#endif
    for (int i = 0; i < 16; i++) {
        out[i] = d * (float)ck_iq4nl_values[qs[i] & 0x0F];
        out[i + 16] = d * (float)ck_iq4nl_values[qs[i] >> 4];
    }
}

/// `block_iq4_nl`: fp16 d, 16 bytes of nibbles (32 values); `d * table[q]`.
CK_INLINE void decode_iq4_nl(const uint8_t *b, float *out, ck_gemm_path path) {
    decode_nonlinear_nibbles(b + 2, half_to_float(b), out, path);
}

/// `block_iq4_xs`: fp16 d, uint16 of the scales' high 2-bit pairs, 4 bytes of their low nibbles, 128 bytes of
/// nibbles (8 sub-blocks of 32 values as IQ4_NL's); `(d * (scale - 32)) * table[q]` with a 6-bit scale.
CK_INLINE void decode_iq4_xs(const uint8_t *b, float *out, ck_gemm_path path) {
    float d = half_to_float(b);
    uint16_t scales_high = load_u16(b + 2);
    for (int j = 0; j < 8; j++) {
        int low = nibble_at(b + 4, j), high = (scales_high >> (2 * j)) & 3;
        decode_nonlinear_nibbles(b + 8 + 16 * j, d * (float)((low | high << 4) - 32), out + 32 * j, path);
    }
}

#ifdef CK_QUANT_X86
/// Eight int8 grid values as floats (AVX2).
static inline CK_QUANT_AVX2 __m256 grid_8_avx2(const int8_t *grid) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)grid)));
}

/// `signed_grid_8` in AVX2: one multiply, the signs flipped by a mask of the sign bits (as the scalar negation).
static inline CK_QUANT_AVX2 void signed_grid_8_avx2(const int8_t *grid, uint8_t signs, float scale, float *out) {
    __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256i negative = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(signs), bits), bits);
    __m256 value = _mm256_mul_ps(_mm256_set1_ps(scale), grid_8_avx2(grid));
    _mm256_storeu_ps(out, _mm256_xor_ps(value, _mm256_castsi256_ps(_mm256_slli_epi32(negative, 31))));
}

/// `shifted_grid_8` in AVX2 (the add, then the multiply: nothing to contract).
static inline CK_QUANT_AVX2 void shifted_grid_8_avx2(const int8_t *grid, float delta, float scale, float *out) {
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_set1_ps(scale), _mm256_add_ps(grid_8_avx2(grid), _mm256_set1_ps(delta))));
}
#endif

/// Eight grid magnitudes times `scale`, negated where `signs` has a bit set (bit `j` for value `j`).
CK_INLINE void signed_grid_8(const int8_t *grid, uint8_t signs, float scale, float *out, ck_gemm_path path) {
#ifdef CK_QUANT_X86
    if (path != CK_GEMM_PATH_PORTABLE) {
        signed_grid_8_avx2(grid, signs, scale, out);
        return;
    }
#endif
    for (int j = 0; j < 8; j++) {
        float value = scale * (float)grid[j];
        out[j] = (signs >> j) & 1 ? -value : value;
    }
}

/// `block_iq2_xxs`: fp16 d, then per 32 values two uint32: four 8-bit grid indices, and four 7-bit sign indices
/// (`ck_iq2_ksigns`) under a 4-bit scale; `d * (0.5 + scale) * 0.25` times the signed grid values.
CK_INLINE void decode_iq2_xxs(const uint8_t *b, float *out, ck_gemm_path path) {
    float d = half_to_float(b);
    for (int ib = 0; ib < 8; ib++) {
        const uint8_t *indices = b + 2 + 8 * ib;
        uint32_t aux = load_u32(indices + 4);
        float db = d * (0.5f + (float)(aux >> 28)) * 0.25f;
        for (int l = 0; l < 4; l++)
            signed_grid_8(ck_iq2xxs_grid[indices[l]], ck_iq2_ksigns[(aux >> (7 * l)) & 127], db, out + 32 * ib + 8 * l, path);
    }
}

/// `block_iq2_xs`: fp16 d, 32 uint16 (9-bit grid index, 7-bit sign index), 8 bytes of 4-bit scales (one per 16
/// values); `d * (0.5 + scale) * 0.25` times the signed grid values.
CK_INLINE void decode_iq2_xs(const uint8_t *b, float *out, ck_gemm_path path) {
    float d = half_to_float(b);
    const uint8_t *scales = b + 66;
    for (int s = 0; s < 16; s++) {
        float db = d * (0.5f + (float)nibble_at(scales, s)) * 0.25f;
        for (int i = 2 * s; i < 2 * s + 2; i++) {
            uint16_t code = load_u16(b + 2 + 2 * i);
            signed_grid_8(ck_iq2xs_grid[code & 511], ck_iq2_ksigns[code >> 9], db, out + 8 * i, path);
        }
    }
}

/// `block_iq2_s`: fp16 d, 32 bytes of grid indices' low 8 bits, 32 sign bytes, 8 bytes of their high 2-bit
/// pairs, 8 bytes of 4-bit scales (one per 16 values); `d * (0.5 + scale) * 0.25` times the signed grid values.
CK_INLINE void decode_iq2_s(const uint8_t *b, float *out, ck_gemm_path path) {
    float d = half_to_float(b);
    const uint8_t *qs = b + 2, *signs = b + 34, *qh = b + 66, *scales = b + 74;
    for (int s = 0; s < 16; s++) {
        float db = d * (0.5f + (float)nibble_at(scales, s)) * 0.25f;
        for (int i = 2 * s; i < 2 * s + 2; i++) {
            int index = qs[i] | ((qh[i / 4] >> (2 * (i & 3))) & 3) << 8;
            signed_grid_8(ck_iq2s_grid[index], signs[i], db, out + 8 * i, path);
        }
    }
}

/// `block_iq3_xxs`: fp16 d, 64 bytes of grid indices (4 values each), then per 32 values a uint32 of four 7-bit
/// sign indices under a 4-bit scale; `d * (0.5 + scale) * 0.5` times the signed grid values.
CK_INLINE void decode_iq3_xxs(const uint8_t *b, float *out, ck_gemm_path path) {
    float d = half_to_float(b);
    const uint8_t *qs = b + 2;
    for (int ib = 0; ib < 8; ib++) {
        uint32_t aux = load_u32(b + 66 + 4 * ib);
        float db = d * (0.5f + (float)(aux >> 28)) * 0.5f;
        for (int l = 0; l < 4; l++) {
            int8_t grid[8];
            memcpy(grid, ck_iq3xxs_grid[qs[8 * ib + 2 * l]], 4);
            memcpy(grid + 4, ck_iq3xxs_grid[qs[8 * ib + 2 * l + 1]], 4);
            signed_grid_8(grid, ck_iq2_ksigns[(aux >> (7 * l)) & 127], db, out + 32 * ib + 8 * l, path);
        }
    }
}

/// `block_iq3_s`: fp16 d, 64 bytes of grid indices' low 8 bits (4 values each), 8 bytes of their 9th bits,
/// 32 sign bytes (bit `j` of byte `k` for value `8 k + j`), 4 bytes of 4-bit scales (one per 32 values);
/// `d * (1 + 2 * scale)` times the signed grid values.
CK_INLINE void decode_iq3_s(const uint8_t *b, float *out, ck_gemm_path path) {
    float d = half_to_float(b);
    const uint8_t *qs = b + 2, *qh = b + 66, *signs = b + 74, *scales = b + 106;
    for (int ib = 0; ib < 8; ib++) {
        float db = d * (float)(1 + 2 * nibble_at(scales, ib));
        for (int l = 0; l < 4; l++) {
            int i = 8 * ib + 2 * l;
            int8_t grid[8];
            memcpy(grid, ck_iq3s_grid[qs[i] | ((qh[i / 8] >> (i & 7)) & 1) << 8], 4);
            memcpy(grid + 4, ck_iq3s_grid[qs[i + 1] | ((qh[i / 8] >> ((i + 1) & 7)) & 1) << 8], 4);
            signed_grid_8(grid, signs[4 * ib + l], db, out + 32 * ib + 8 * l, path);
        }
    }
}

/// Eight grid values (-1, 0, 1) plus `delta`, times `scale`: the IQ1 types' `dl * (grid + delta)`.
CK_INLINE void shifted_grid_8(const int8_t *grid, float delta, float scale, float *out, ck_gemm_path path) {
#ifdef CK_QUANT_X86
    if (path != CK_GEMM_PATH_PORTABLE) {
        shifted_grid_8_avx2(grid, delta, scale, out);
        return;
    }
#endif
    for (int j = 0; j < 8; j++) out[j] = scale * ((float)grid[j] + delta);
}

/// IQ1_S/IQ1_M's shift of the grid values: -0.125 where the delta bit is set, +0.125 otherwise.
CK_INLINE float iq1_delta(int bit) { return bit ? -0.125f : 0.125f; }

/// `block_iq1_s`: fp16 d, 32 bytes of grid indices' low 8 bits, then per 32 values a uint16: four 3-bit high
/// parts, a 3-bit scale and a delta sign bit; `(d * (2 * scale + 1)) * (grid + delta)`.
CK_INLINE void decode_iq1_s(const uint8_t *b, float *out, ck_gemm_path path) {
    float d = half_to_float(b);
    const uint8_t *qs = b + 2;
    for (int ib = 0; ib < 8; ib++) {
        uint16_t h = load_u16(b + 34 + 2 * ib);
        float dl = d * (float)(2 * ((h >> 12) & 7) + 1), delta = iq1_delta(h & 0x8000);
        for (int l = 0; l < 4; l++)
            shifted_grid_8(ck_iq1s_grid[qs[4 * ib + l] | ((h >> (3 * l)) & 7) << 8], delta, dl, out + 32 * ib + 8 * l, path);
    }
}

/// `block_iq1_m`: 32 bytes of grid indices' low 8 bits, 16 bytes of nibbles (3 high index bits and a delta sign
/// bit per 8 values), 4 uint16 each holding four 3-bit scales (one per 16 values) and, in their top nibbles, the
/// fp16 d; `(d * (2 * scale + 1)) * (grid + delta)`.
CK_INLINE void decode_iq1_m(const uint8_t *b, float *out, ck_gemm_path path) {
    const uint8_t *qs = b, *qh = b + 32;
    uint16_t s0 = load_u16(b + 48), s1 = load_u16(b + 50), s2 = load_u16(b + 52), s3 = load_u16(b + 54);
    uint16_t d_bits = (uint16_t)((s0 >> 12) | ((s1 & 0xF000) >> 8) | ((s2 & 0xF000) >> 4) | (s3 & 0xF000));
    uint8_t d_bytes[2] = {(uint8_t)(d_bits & 0xFF), (uint8_t)(d_bits >> 8)};
    float d = half_to_float(d_bytes);
    for (int s = 0; s < 16; s++) {
        float dl = d * (float)(2 * ((load_u16(b + 48 + 2 * (s / 4)) >> (3 * (s & 3))) & 7) + 1);
        for (int i = 2 * s; i < 2 * s + 2; i++) {
            int h = nibble_at(qh, i);
            shifted_grid_8(ck_iq1s_grid[qs[i] | (h & 7) << 8], iq1_delta(h & 8), dl, out + 8 * i, path);
        }
    }
}
