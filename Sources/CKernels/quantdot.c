// Fused dequantize-and-dot products of few activation rows with quantized weights (see quantdot.h).
//
// Rows of W are taken four at a time: the four are decoded into a thread-owned buffer (4 x columns floats,
// in L1/L2), then every activation row is multiplied with them by a register-tiled kernel (AVX-512: 4 activation
// rows x 4 weight rows, 16 accumulators; AVX2: 2 x 4; portable C: 1 x 4 with eight partial sums per dot product)
// whose accumulators are summed horizontally once per dot product. The decoders are plain C written so that the
// compiler vectorizes them for the target of the kernel that inlines them (AVX-512BW, AVX2, the baseline ISA); the
// shortest loops are kept rolled so that they are vectorized rather than unrolled into scalar code.

#include "quantdot.h"
#include "cpu_caches.h"
#include "gemm_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CK_QUANT_X86 1
#define CK_QUANT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,bmi2")))
#define CK_QUANT_AVX2 __attribute__((target("avx2,fma,bmi2")))
#endif

#define CK_INLINE static inline __attribute__((always_inline))

/// Weight rows decoded together.
enum { TILE_ROWS = 4 };

// MARK: - Decoders (the Float32 operations of the Swift decoders, in the same order, never contracted)

#pragma clang fp contract(off)

CK_INLINE float half_to_float(const uint8_t *b) {
    uint16_t h = (uint16_t)(b[0] | b[1] << 8);
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | mantissa << 13;
    } else if (exponent != 0) {
        bits = sign | (exponent + 112) << 23 | mantissa << 13;
    } else {
        float subnormal = (float)mantissa * 0x1p-24f;
        memcpy(&bits, &subnormal, sizeof bits);
        bits |= sign;
    }
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

#include "iquant_decoders.h"

CK_INLINE void decode_q8_0(const uint8_t *b, float *out) {
    float d = half_to_float(b);
    const int8_t *q = (const int8_t *)(b + 2);
    #pragma clang loop unroll(disable) vectorize(enable)
    for (int i = 0; i < 32; i++) out[i] = (float)q[i] * d;
}

CK_INLINE void decode_q4_0(const uint8_t *b, float *out) {
    float d = half_to_float(b);
    const uint8_t *qs = b + 2;
    #pragma clang loop unroll(disable) vectorize(enable)
    for (int i = 0; i < 16; i++) {
        out[i] = d * (float)((int)(qs[i] & 0x0F) - 8);
        out[i + 16] = d * (float)((int)(qs[i] >> 4) - 8);
    }
}

CK_INLINE void decode_q4_1(const uint8_t *b, float *out) {
    float d = half_to_float(b), m = half_to_float(b + 2);
    const uint8_t *qs = b + 4;
    #pragma clang loop unroll(disable) vectorize(enable)
    for (int i = 0; i < 16; i++) {
        out[i] = d * (float)(qs[i] & 0x0F) + m;
        out[i + 16] = d * (float)(qs[i] >> 4) + m;
    }
}

CK_INLINE void decode_q5(const uint8_t *b, float *out, int has_minimum) {
    float d = half_to_float(b), m = has_minimum ? half_to_float(b + 2) : 0.0f;
    const uint8_t *h = b + (has_minimum ? 4 : 2);
    uint32_t qh = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    const uint8_t *qs = h + 4;
    for (int i = 0; i < 16; i++) {
        int low = (qs[i] & 0x0F) | (int)((qh >> i) & 1) << 4;
        int high = (qs[i] >> 4) | (int)((qh >> (i + 16)) & 1) << 4;
        if (has_minimum) {
            out[i] = d * (float)low + m;
            out[i + 16] = d * (float)high + m;
        } else {
            out[i] = d * (float)(low - 16);
            out[i + 16] = d * (float)(high - 16);
        }
    }
}

/// Sixteen 2-bit codes of a K-quant's 64-byte `qs`: values 16 s ..< 16 s + 16 (plane `(s / 2) % 4` of bytes
/// `(s / 8) * 32 + (s % 2) * 16 ...`), as `twoBitCode` of the Swift decoder.
CK_INLINE const uint8_t *two_bit_bytes(const uint8_t *qs, int s, int *shift) {
    *shift = 2 * ((s >> 1) & 3);
    return qs + (s >> 3) * 32 + (s & 1) * 16;
}

CK_INLINE void decode_q2_K(const uint8_t *b, float *out) {
    float d = half_to_float(b + 80), dmin = half_to_float(b + 82);
    for (int s = 0; s < 16; s++) {
        float dl = d * (float)(b[s] & 0x0F), ml = dmin * (float)(b[s] >> 4);
        int shift;
        const uint8_t *q = two_bit_bytes(b + 16, s, &shift);
        #pragma clang loop unroll(disable) vectorize(enable)
        for (int t = 0; t < 16; t++) out[16 * s + t] = dl * (float)((q[t] >> shift) & 3) - ml;
    }
}

CK_INLINE void decode_q3_K(const uint8_t *b, float *out) {
    const uint8_t *hmask = b, *qs = b + 32, *scales = b + 96;
    float d = half_to_float(b + 108);
    for (int s = 0; s < 16; s++) {
        int low = s < 8 ? scales[s] & 0x0F : scales[s - 8] >> 4;
        int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
        float dl = d * (float)((low | high << 4) - 32);
        int shift;
        const uint8_t *q = two_bit_bytes(qs, s, &shift);
        const uint8_t *h = hmask + (s & 1) * 16;
        int plane = s >> 1;
        #pragma clang loop unroll(disable) vectorize(enable)
        for (int t = 0; t < 16; t++) {
            int high_bit = (h[t] >> plane) & 1;
            out[16 * s + t] = dl * (float)((int)((q[t] >> shift) & 3) - ((high_bit ^ 1) << 2));
        }
    }
}

/// Scale and minimum `j` of the 12 packed bytes of a Q4_K/Q5_K block.
CK_INLINE void scale_and_minimum(const uint8_t *scales, int j, float *scale, float *minimum) {
    if (j < 4) {
        *scale = (float)(scales[j] & 0x3F);
        *minimum = (float)(scales[4 + j] & 0x3F);
    } else {
        uint8_t packed = scales[8 + j - 4];
        *scale = (float)((packed & 0x0F) | ((scales[j - 4] >> 2) & 0x30));
        *minimum = (float)((packed >> 4) | ((scales[j] >> 2) & 0x30));
    }
}

CK_INLINE void decode_q4_K(const uint8_t *b, float *out) {
    float d = half_to_float(b), dmin = half_to_float(b + 2);
    const uint8_t *qs = b + 16;
    for (int chunk = 0; chunk < 4; chunk++) {
        float s0, m0, s1, m1;
        scale_and_minimum(b + 4, 2 * chunk, &s0, &m0);
        scale_and_minimum(b + 4, 2 * chunk + 1, &s1, &m1);
        float dl0 = d * s0, ml0 = dmin * m0, dl1 = d * s1, ml1 = dmin * m1;
        const uint8_t *q = qs + 32 * chunk;
        float *o = out + 64 * chunk;
        for (int l = 0; l < 32; l++) {
            o[l] = dl0 * (float)(q[l] & 0x0F) - ml0;
            o[l + 32] = dl1 * (float)(q[l] >> 4) - ml1;
        }
    }
}

CK_INLINE void decode_q5_K(const uint8_t *b, float *out) {
    float d = half_to_float(b), dmin = half_to_float(b + 2);
    const uint8_t *qh = b + 16, *qs = b + 48;
    for (int chunk = 0; chunk < 4; chunk++) {
        float s0, m0, s1, m1;
        int j0 = 2 * chunk, j1 = 2 * chunk + 1;
        scale_and_minimum(b + 4, j0, &s0, &m0);
        scale_and_minimum(b + 4, j1, &s1, &m1);
        float dl0 = d * s0, ml0 = dmin * m0, dl1 = d * s1, ml1 = dmin * m1;
        const uint8_t *q = qs + 32 * chunk;
        float *o = out + 64 * chunk;
        for (int l = 0; l < 32; l++) {
            int low = (q[l] & 0x0F) | ((qh[l] >> j0) & 1) << 4;
            int high = (q[l] >> 4) | ((qh[l] >> j1) & 1) << 4;
            o[l] = dl0 * (float)low - ml0;
            o[l + 32] = dl1 * (float)high - ml1;
        }
    }
}

CK_INLINE void decode_q6_K(const uint8_t *b, float *out) {
    const int8_t *scales = (const int8_t *)(b + 192);
    float d = half_to_float(b + 208);
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = b + 64 * half, *qh = b + 128 + 32 * half;
        float *o = out + 128 * half;
        for (int part = 0; part < 2; part++) {
            int s = 8 * half + part;
            float dl0 = d * (float)scales[s], dl1 = d * (float)scales[s + 2];
            float dl2 = d * (float)scales[s + 4], dl3 = d * (float)scales[s + 6];
            for (int l = 16 * part; l < 16 * part + 16; l++) {
                o[l] = dl0 * (float)((int)((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32);
                o[l + 32] = dl1 * (float)((int)((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32);
                o[l + 64] = dl2 * (float)((int)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
                o[l + 96] = dl3 * (float)((int)((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        }
    }
}

/// Values per GGUF block of `format` and its bytes.
static void gguf_block(ck_quant_format format, int *values, int *bytes) {
    switch (format) {
    case CK_QUANT_Q4_0: *values = 32; *bytes = 18; return;
    case CK_QUANT_Q4_1: *values = 32; *bytes = 20; return;
    case CK_QUANT_Q5_0: *values = 32; *bytes = 22; return;
    case CK_QUANT_Q5_1: *values = 32; *bytes = 24; return;
    case CK_QUANT_Q8_0: *values = 32; *bytes = 34; return;
    case CK_QUANT_Q2_K: *values = 256; *bytes = 84; return;
    case CK_QUANT_Q3_K: *values = 256; *bytes = 110; return;
    case CK_QUANT_Q4_K: *values = 256; *bytes = 144; return;
    case CK_QUANT_Q5_K: *values = 256; *bytes = 176; return;
    case CK_QUANT_Q6_K: *values = 256; *bytes = 210; return;
    case CK_QUANT_IQ2_XXS: *values = 256; *bytes = 66; return;
    case CK_QUANT_IQ2_XS: *values = 256; *bytes = 74; return;
    case CK_QUANT_IQ3_XXS: *values = 256; *bytes = 98; return;
    case CK_QUANT_IQ1_S: *values = 256; *bytes = 50; return;
    case CK_QUANT_IQ4_NL: *values = 32; *bytes = 18; return;
    case CK_QUANT_IQ3_S: *values = 256; *bytes = 110; return;
    case CK_QUANT_IQ2_S: *values = 256; *bytes = 82; return;
    case CK_QUANT_IQ4_XS: *values = 256; *bytes = 136; return;
    case CK_QUANT_IQ1_M: *values = 256; *bytes = 56; return;
    default: *values = 1; *bytes = 0; return;
    }
}

/// The GGUF row `b` of `blocks` blocks of `format`, decoded into `out`. `path` (a constant where this is inlined)
/// is the kernel whose target the decoders are compiled for; the i-quants' table lookups and sign flips take SIMD
/// versions there.
CK_INLINE void decode_gguf_row(ck_quant_format format, const uint8_t *b, long blocks, float *out, ck_gemm_path path) {
    switch (format) {
    case CK_QUANT_Q4_0: for (long i = 0; i < blocks; i++) decode_q4_0(b + 18 * i, out + 32 * i); return;
    case CK_QUANT_Q4_1: for (long i = 0; i < blocks; i++) decode_q4_1(b + 20 * i, out + 32 * i); return;
    case CK_QUANT_Q5_0: for (long i = 0; i < blocks; i++) decode_q5(b + 22 * i, out + 32 * i, 0); return;
    case CK_QUANT_Q5_1: for (long i = 0; i < blocks; i++) decode_q5(b + 24 * i, out + 32 * i, 1); return;
    case CK_QUANT_Q8_0: for (long i = 0; i < blocks; i++) decode_q8_0(b + 34 * i, out + 32 * i); return;
    case CK_QUANT_Q2_K: for (long i = 0; i < blocks; i++) decode_q2_K(b + 84 * i, out + 256 * i); return;
    case CK_QUANT_Q3_K: for (long i = 0; i < blocks; i++) decode_q3_K(b + 110 * i, out + 256 * i); return;
    case CK_QUANT_Q4_K: for (long i = 0; i < blocks; i++) decode_q4_K(b + 144 * i, out + 256 * i); return;
    case CK_QUANT_Q5_K: for (long i = 0; i < blocks; i++) decode_q5_K(b + 176 * i, out + 256 * i); return;
    case CK_QUANT_Q6_K: for (long i = 0; i < blocks; i++) decode_q6_K(b + 210 * i, out + 256 * i); return;
    case CK_QUANT_IQ2_XXS: for (long i = 0; i < blocks; i++) decode_iq2_xxs(b + 66 * i, out + 256 * i, path); return;
    case CK_QUANT_IQ2_XS: for (long i = 0; i < blocks; i++) decode_iq2_xs(b + 74 * i, out + 256 * i, path); return;
    case CK_QUANT_IQ3_XXS: for (long i = 0; i < blocks; i++) decode_iq3_xxs(b + 98 * i, out + 256 * i, path); return;
    case CK_QUANT_IQ1_S: for (long i = 0; i < blocks; i++) decode_iq1_s(b + 50 * i, out + 256 * i, path); return;
    case CK_QUANT_IQ4_NL: for (long i = 0; i < blocks; i++) decode_iq4_nl(b + 18 * i, out + 32 * i, path); return;
    case CK_QUANT_IQ3_S: for (long i = 0; i < blocks; i++) decode_iq3_s(b + 110 * i, out + 256 * i, path); return;
    case CK_QUANT_IQ2_S: for (long i = 0; i < blocks; i++) decode_iq2_s(b + 82 * i, out + 256 * i, path); return;
    case CK_QUANT_IQ4_XS: for (long i = 0; i < blocks; i++) decode_iq4_xs(b + 136 * i, out + 256 * i, path); return;
    case CK_QUANT_IQ1_M: for (long i = 0; i < blocks; i++) decode_iq1_m(b + 56 * i, out + 256 * i, path); return;
    default: return;
    }
}

/// Row `row` of an MLX affine matrix: `scale * q + bias` per group.
CK_INLINE void decode_mlx_row(const ck_quant_matrix *w, long row, float *out) {
    const uint8_t *bytes = w->packed + row * w->row_bytes;
    long groups = w->columns / w->group_size, g_size = w->group_size;
    const float *scales = w->scales + row * groups, *biases = w->biases + row * groups;
    int bits = w->bits;
    for (long g = 0; g < groups; g++) {
        float scale = scales[g], bias = biases[g];
        float *o = out + g * g_size;
        if (bits == 8) {
            const uint8_t *q = bytes + g * g_size;
            for (long t = 0; t < g_size; t++) o[t] = scale * (float)q[t] + bias;
        } else if (bits == 4 && g_size % 2 == 0) {
            const uint8_t *q = bytes + g * g_size / 2;
            for (long t = 0; t < g_size / 2; t++) {
                o[2 * t] = scale * (float)(q[t] & 0x0F) + bias;
                o[2 * t + 1] = scale * (float)(q[t] >> 4) + bias;
            }
        } else {
            uint64_t mask = ((uint64_t)1 << bits) - 1;
            for (long t = 0; t < g_size; t++) {
                long bit = (g * g_size + t) * bits, word = bit >> 5, shift = bit & 31;
                uint32_t low, high = 0;
                memcpy(&low, bytes + 4 * word, 4);
                if (shift + bits > 32) memcpy(&high, bytes + 4 * word + 4, 4);
                uint64_t window = (uint64_t)low | (uint64_t)high << 32;
                o[t] = scale * (float)((window >> shift) & mask) + bias;
            }
        }
    }
}

/// FP4 E2M1 values by code: sign bit 3, two exponent bits (bias 1), one mantissa bit.
static const float e2m1_values[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                                      -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

float ck_fp4_e2m1_value(uint8_t code) { return e2m1_values[code & 15]; }

CK_INLINE float e4m3_value(uint8_t code) {
    uint32_t sign = (uint32_t)(code & 0x80) << 24, exponent = (code >> 3) & 15, mantissa = code & 7;
    if (exponent == 15 && mantissa == 7) return __builtin_nanf("");
    if (exponent == 0) return (sign ? -1.0f : 1.0f) * (float)mantissa * 0x1p-9f;     // mantissa / 8 * 2^-6
    // (1 + mantissa / 8) * 2^(exponent - 7): the exponent rebiased to Float32's 127, the mantissa's 3 bits on top.
    uint32_t bits = sign | (exponent + 120) << 23 | mantissa << 20;
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

float ck_fp8_e4m3_value(uint8_t code) { return e4m3_value(code); }

#ifdef CK_QUANT_X86
/// Sixteen E2M1 codes (eight bytes, the low nibble first) as `scale * value` (AVX2; also inlined by the AVX-512
/// kernel): the table lookup as a byte shuffle of twice the values (small integers), scaled by half the scale. Both
/// products are exact, so the values equal the scalar decoder's (but for the sign of code 8's zero).
static inline CK_QUANT_AVX2 void decode_e2m1_16_avx2(const uint8_t *q, float scale, float *out) {
    __m128i table = _mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12), nibble = _mm_set1_epi8(0x0F);
    __m128i bytes = _mm_loadl_epi64((const __m128i *)q);
    __m128i low = _mm_shuffle_epi8(table, _mm_and_si128(bytes, nibble));
    __m128i high = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble));
    __m128i codes = _mm_unpacklo_epi8(low, high);
    __m256 half = _mm256_set1_ps(0.5f * scale);
    _mm256_storeu_ps(out, _mm256_mul_ps(half, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(codes))));
    _mm256_storeu_ps(out + 8, _mm256_mul_ps(half, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(codes, 8)))));
}

/// Sixteen E4M3 codes as `scale * value` (AVX2; also inlined by the AVX-512 kernel): a normal code's exponent and
/// mantissa bits moved under Float32's and the exponent rebiased by an integer add, a subnormal code (exponent 0) as
/// its mantissa times 2^-9, the sign bit moved to Float32's, and the NaN codes (all exponent and mantissa bits set)
/// as NaN: the scalar decoder's values exactly, so the same products.
static inline CK_QUANT_AVX2 void decode_e4m3_16_avx2(const uint8_t *q, float scale, float *out) {
    __m256 scales = _mm256_set1_ps(scale);
    for (int half = 0; half < 2; half++) {
        __m256i codes = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(q + 8 * half)));
        __m256i magnitude = _mm256_and_si256(codes, _mm256_set1_epi32(0x7F));
        __m256 normal = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_slli_epi32(magnitude, 20),
                                                             _mm256_set1_epi32(120 << 23)));
        __m256 subnormal = _mm256_mul_ps(_mm256_cvtepi32_ps(magnitude), _mm256_set1_ps(0x1p-9f));
        __m256i isSubnormal = _mm256_cmpgt_epi32(_mm256_set1_epi32(8), magnitude);
        __m256i isNaN = _mm256_cmpeq_epi32(magnitude, _mm256_set1_epi32(0x7F));
        __m256 value = _mm256_blendv_ps(normal, subnormal, _mm256_castsi256_ps(isSubnormal));
        value = _mm256_blendv_ps(value, _mm256_set1_ps(__builtin_nanf("")), _mm256_castsi256_ps(isNaN));
        __m256 sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(codes, _mm256_set1_epi32(0x80)), 24));
        _mm256_storeu_ps(out + 8 * half, _mm256_mul_ps(scales, _mm256_or_ps(value, sign)));
    }
}
#endif

/// Row `row` of an MLX FP-coded matrix (mxfp4 / nvfp4 E2M1 codes, mxfp8 E4M3 codes): `scale * value(q)` per group.
/// `path` is the kernel this is inlined into (a constant there).
CK_INLINE void decode_mlx_float_row(const ck_quant_matrix *w, long row, float *out, ck_gemm_path path) {
    const uint8_t *bytes = w->packed + row * w->row_bytes;
    long groups = w->columns / w->group_size, g_size = w->group_size;
    const float *scales = w->scales + row * groups;
    for (long g = 0; g < groups; g++) {
        float scale = scales[g], *o = out + g * g_size;
        if (w->format == CK_QUANT_MLX_E2M1) {
            const uint8_t *q = bytes + g * g_size / 2;
#ifdef CK_QUANT_X86
            if (path != CK_GEMM_PATH_PORTABLE && g_size % 16 == 0) {
                for (long t = 0; t < g_size; t += 16) decode_e2m1_16_avx2(q + t / 2, scale, o + t);
                continue;
            }
#endif
            for (long t = 0; t < g_size / 2; t++) {
                o[2 * t] = scale * e2m1_values[q[t] & 15];
                o[2 * t + 1] = scale * e2m1_values[q[t] >> 4];
            }
        } else {
            const uint8_t *q = bytes + g * g_size;
#ifdef CK_QUANT_X86
            if (path != CK_GEMM_PATH_PORTABLE && g_size % 16 == 0) {
                for (long t = 0; t < g_size; t += 16) decode_e4m3_16_avx2(q + t, scale, o + t);
                continue;
            }
#endif
            for (long t = 0; t < g_size; t++) o[t] = scale * e4m3_value(q[t]);
        }
    }
}

CK_INLINE void decode_row(const ck_quant_matrix *w, long row, float *out, ck_gemm_path path) {
    if (w->format == CK_QUANT_MLX_AFFINE) {
        decode_mlx_row(w, row, out);
        return;
    }
    if (w->format == CK_QUANT_MLX_E2M1 || w->format == CK_QUANT_MLX_E4M3) {
        decode_mlx_float_row(w, row, out, path);
        return;
    }
    int values, bytes;
    gguf_block(w->format, &values, &bytes);
    decode_gguf_row(w->format, w->packed + row * w->row_bytes, w->columns / values, out, path);
}

/// Rows r0 ..< r0 + count decoded into `tile` (row stride `columns`); the rest of the TILE_ROWS rows zeroed.
CK_INLINE void decode_tile(const ck_quant_matrix *w, long r0, long count, float *tile, ck_gemm_path path) {
    for (long t = 0; t < count; t++) decode_row(w, r0 + t, tile + t * w->columns, path);
    for (long t = count; t < TILE_ROWS; t++) memset(tile + t * w->columns, 0, (size_t)w->columns * sizeof(float));
}

#pragma clang fp contract(fast)

// MARK: - Portable kernel

static void tile_portable(const float *x, long n, long ldx, const float *tile, long k, float *y, long ldy, long count) {
    for (long i = 0; i < n; i++) {
        const float *xi = x + i * ldx;
        for (long r = 0; r < count; r++) {
            const float *wr = tile + r * k;
            float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            long c = 0;
            for (; c + 8 <= k; c += 8)
                for (int l = 0; l < 8; l++) partial[l] += xi[c + l] * wr[c + l];
            for (int l = 0; c < k; c++, l++) partial[l] += xi[c] * wr[c];
            y[i * ldy + r] = ((partial[0] + partial[4]) + (partial[1] + partial[5]))
                + ((partial[2] + partial[6]) + (partial[3] + partial[7]));
        }
    }
}

static void dot_portable(const ck_quant_matrix *w, const float *x, long n, long ldx, float *y, long ldy,
                         long row_begin, long row_end, float *tile) {
    for (long r0 = row_begin; r0 < row_end; r0 += TILE_ROWS) {
        long count = row_end - r0 < TILE_ROWS ? row_end - r0 : TILE_ROWS;
        decode_tile(w, r0, count, tile, CK_GEMM_PATH_PORTABLE);
        tile_portable(x, n, ldx, tile, w->columns, y + r0, ldy, count);
    }
}

#ifdef CK_QUANT_X86

// MARK: - AVX-512 kernel

/// [sum a, sum b, sum c, sum d] of four 16-lane vectors.
CK_INLINE CK_QUANT_AVX512 __m128 sum4_avx512(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    __m512d abd = _mm512_castps_pd(ab), cdd = _mm512_castps_pd(cd);
    __m512 lanes = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(abd, cdd)),
                                 _mm512_castpd_ps(_mm512_unpackhi_pd(abd, cdd)));
    __m256 halves = _mm256_add_ps(_mm512_castps512_ps256(lanes),
                                  _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lanes), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(halves), _mm256_extractf128_ps(halves, 1));
}

/// Rows 0 ..< m (m <= 4, a constant after inlining) of x times the four rows of `tile`.
CK_INLINE CK_QUANT_AVX512 void tile_avx512(int m, const float *x, long ldx, const float *tile, long k, float *y,
                                           long ldy, long count) {
    __m512 acc[4][TILE_ROWS];
    for (int i = 0; i < m; i++)
        for (int r = 0; r < TILE_ROWS; r++) acc[i][r] = _mm512_setzero_ps();
    long c = 0;
    for (; c + 16 <= k; c += 16) {
        __m512 w0 = _mm512_loadu_ps(tile + c), w1 = _mm512_loadu_ps(tile + k + c);
        __m512 w2 = _mm512_loadu_ps(tile + 2 * k + c), w3 = _mm512_loadu_ps(tile + 3 * k + c);
        for (int i = 0; i < m; i++) {
            __m512 xv = _mm512_loadu_ps(x + i * ldx + c);
            acc[i][0] = _mm512_fmadd_ps(xv, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(xv, w1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(xv, w2, acc[i][2]);
            acc[i][3] = _mm512_fmadd_ps(xv, w3, acc[i][3]);
        }
    }
    if (c < k) {
        __mmask16 mask = (__mmask16)((1u << (k - c)) - 1);
        __m512 w0 = _mm512_maskz_loadu_ps(mask, tile + c), w1 = _mm512_maskz_loadu_ps(mask, tile + k + c);
        __m512 w2 = _mm512_maskz_loadu_ps(mask, tile + 2 * k + c), w3 = _mm512_maskz_loadu_ps(mask, tile + 3 * k + c);
        for (int i = 0; i < m; i++) {
            __m512 xv = _mm512_maskz_loadu_ps(mask, x + i * ldx + c);
            acc[i][0] = _mm512_fmadd_ps(xv, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(xv, w1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(xv, w2, acc[i][2]);
            acc[i][3] = _mm512_fmadd_ps(xv, w3, acc[i][3]);
        }
    }
    for (int i = 0; i < m; i++) {
        float sums[4];
        _mm_storeu_ps(sums, sum4_avx512(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
        for (long r = 0; r < count; r++) y[i * ldy + r] = sums[r];
    }
}

static CK_QUANT_AVX512 void dot_avx512(const ck_quant_matrix *w, const float *x, long n, long ldx, float *y,
                                       long ldy, long row_begin, long row_end, float *tile) {
    long k = w->columns;
    for (long r0 = row_begin; r0 < row_end; r0 += TILE_ROWS) {
        long count = row_end - r0 < TILE_ROWS ? row_end - r0 : TILE_ROWS;
        decode_tile(w, r0, count, tile, CK_GEMM_PATH_AVX512);
        long i = 0;
        for (; i + 4 <= n; i += 4) tile_avx512(4, x + i * ldx, ldx, tile, k, y + i * ldy + r0, ldy, count);
        switch (n - i) {
        case 3: tile_avx512(3, x + i * ldx, ldx, tile, k, y + i * ldy + r0, ldy, count); break;
        case 2: tile_avx512(2, x + i * ldx, ldx, tile, k, y + i * ldy + r0, ldy, count); break;
        case 1: tile_avx512(1, x + i * ldx, ldx, tile, k, y + i * ldy + r0, ldy, count); break;
        default: break;
        }
    }
}

// MARK: - AVX2 kernel

/// [sum a, sum b, sum c, sum d] of four 8-lane vectors.
CK_INLINE CK_QUANT_AVX2 __m128 sum4_avx2(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
    __m256 cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
    __m256d abd = _mm256_castps_pd(ab), cdd = _mm256_castps_pd(cd);
    __m256 lanes = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(abd, cdd)),
                                 _mm256_castpd_ps(_mm256_unpackhi_pd(abd, cdd)));
    return _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
}

/// Rows 0 ..< m (m <= 2) of x times the four rows of `tile`.
CK_INLINE CK_QUANT_AVX2 void tile_avx2(int m, const float *x, long ldx, const float *tile, long k, float *y,
                                       long ldy, long count) {
    __m256 acc[2][TILE_ROWS];
    for (int i = 0; i < m; i++)
        for (int r = 0; r < TILE_ROWS; r++) acc[i][r] = _mm256_setzero_ps();
    long c = 0;
    for (; c + 8 <= k; c += 8) {
        __m256 w0 = _mm256_loadu_ps(tile + c), w1 = _mm256_loadu_ps(tile + k + c);
        __m256 w2 = _mm256_loadu_ps(tile + 2 * k + c), w3 = _mm256_loadu_ps(tile + 3 * k + c);
        for (int i = 0; i < m; i++) {
            __m256 xv = _mm256_loadu_ps(x + i * ldx + c);
            acc[i][0] = _mm256_fmadd_ps(xv, w0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(xv, w1, acc[i][1]);
            acc[i][2] = _mm256_fmadd_ps(xv, w2, acc[i][2]);
            acc[i][3] = _mm256_fmadd_ps(xv, w3, acc[i][3]);
        }
    }
    if (c < k) {
        int lanes = (int)(k - c);
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 w0 = _mm256_maskload_ps(tile + c, mask), w1 = _mm256_maskload_ps(tile + k + c, mask);
        __m256 w2 = _mm256_maskload_ps(tile + 2 * k + c, mask), w3 = _mm256_maskload_ps(tile + 3 * k + c, mask);
        for (int i = 0; i < m; i++) {
            __m256 xv = _mm256_maskload_ps(x + i * ldx + c, mask);
            acc[i][0] = _mm256_fmadd_ps(xv, w0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(xv, w1, acc[i][1]);
            acc[i][2] = _mm256_fmadd_ps(xv, w2, acc[i][2]);
            acc[i][3] = _mm256_fmadd_ps(xv, w3, acc[i][3]);
        }
    }
    for (int i = 0; i < m; i++) {
        float sums[4];
        _mm_storeu_ps(sums, sum4_avx2(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
        for (long r = 0; r < count; r++) y[i * ldy + r] = sums[r];
    }
}

static CK_QUANT_AVX2 void dot_avx2(const ck_quant_matrix *w, const float *x, long n, long ldx, float *y, long ldy,
                                   long row_begin, long row_end, float *tile) {
    long k = w->columns;
    for (long r0 = row_begin; r0 < row_end; r0 += TILE_ROWS) {
        long count = row_end - r0 < TILE_ROWS ? row_end - r0 : TILE_ROWS;
        decode_tile(w, r0, count, tile, CK_GEMM_PATH_AVX2);
        long i = 0;
        for (; i + 2 <= n; i += 2) tile_avx2(2, x + i * ldx, ldx, tile, k, y + i * ldy + r0, ldy, count);
        if (i < n) tile_avx2(1, x + i * ldx, ldx, tile, k, y + i * ldy + r0, ldy, count);
    }
}

#endif // CK_QUANT_X86

// MARK: - Dispatch

static int portable_forced;
static pthread_once_t forced_once = PTHREAD_ONCE_INIT;

static void read_forced(void) {
    const char *forced = getenv("INTERP_QUANT_PORTABLE");
    portable_forced = forced && forced[0] && strcmp(forced, "0") != 0;
}

ck_gemm_path ck_quant_dot_resolve_path(ck_gemm_path path) {
    pthread_once(&forced_once, read_forced);
    if (portable_forced) return CK_GEMM_PATH_PORTABLE;
    ck_gemm_path resolved = ck_gemm_resolve_path(path);
#ifdef CK_QUANT_X86
    if (resolved == CK_GEMM_PATH_AVX512) {
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl") ||
            !__builtin_cpu_supports("bmi2"))
            resolved = ck_gemm_path_supported(CK_GEMM_PATH_AVX2) ? CK_GEMM_PATH_AVX2 : CK_GEMM_PATH_PORTABLE;
    }
    if (resolved == CK_GEMM_PATH_AVX2) {
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("bmi2")) resolved = CK_GEMM_PATH_PORTABLE;
    }
#endif
    return resolved;
}

void ck_quant_dot(const ck_quant_matrix *w, const float *x, long n, long ldx, float *y, long ldy, long row_begin,
                  long row_end, ck_gemm_path path) {
    if (n <= 0 || row_begin >= row_end) return;
    if (w->columns <= 0) {
        for (long i = 0; i < n; i++)
            for (long r = row_begin; r < row_end; r++) y[i * ldy + r] = 0;
        return;
    }
    float *tile = ck_gemm_thread_workspace(1, (size_t)(TILE_ROWS * w->columns));
    switch (ck_quant_dot_resolve_path(path)) {
#ifdef CK_QUANT_X86
    case CK_GEMM_PATH_AVX512: dot_avx512(w, x, n, ldx, y, ldy, row_begin, row_end, tile); return;
    case CK_GEMM_PATH_AVX2: dot_avx2(w, x, n, ldx, y, ldy, row_begin, row_end, tile); return;
#endif
    default: dot_portable(w, x, n, ldx, y, ldy, row_begin, row_end, tile); return;
    }
}

#ifdef CK_QUANT_X86
static CK_QUANT_AVX512 void dequantize_avx512(const ck_quant_matrix *w, long row_begin, long row_end, float *out) {
    for (long r = row_begin; r < row_end; r++) decode_row(w, r, out + (r - row_begin) * w->columns, CK_GEMM_PATH_AVX512);
}
static CK_QUANT_AVX2 void dequantize_avx2(const ck_quant_matrix *w, long row_begin, long row_end, float *out) {
    for (long r = row_begin; r < row_end; r++) decode_row(w, r, out + (r - row_begin) * w->columns, CK_GEMM_PATH_AVX2);
}
#endif

void ck_quant_dequantize_rows(const ck_quant_matrix *w, long row_begin, long row_end, float *out) {
    switch (ck_quant_dot_resolve_path(CK_GEMM_PATH_AUTOMATIC)) {
#ifdef CK_QUANT_X86
    case CK_GEMM_PATH_AVX512: dequantize_avx512(w, row_begin, row_end, out); return;
    case CK_GEMM_PATH_AVX2: dequantize_avx2(w, row_begin, row_end, out); return;
#endif
    default:
        for (long r = row_begin; r < row_end; r++) decode_row(w, r, out + (r - row_begin) * w->columns, CK_GEMM_PATH_PORTABLE);
        return;
    }
}

long ck_quant_dot_max_rows(long columns) {
    long l2 = ck_cache_share(ck_cpu_caches_detected()->l2);
    long rows = l2 / 2 / (4 * (columns > 0 ? columns : 1));
    long most = ck_sgemm_row_dot_max_rows();
    return rows < 4 ? 4 : (rows > most ? most : rows);
}
