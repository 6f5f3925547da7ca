// Float32 <-> float16 / bfloat16 conversions (see halfprecision.h).

#include "halfprecision.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#endif

static inline uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// MARK: - float16, portable

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    if (exponent == 0x1F) {
        // Infinity, or NaN made quiet with its payload kept.
        return bits_float(sign | 0x7F800000 | (mantissa << 13) | (mantissa ? 0x400000 : 0));
    }
    if (exponent == 0) {
        // Zero or subnormal: mantissa * 2^-24, exact in Float32.
        return bits_float(sign | float_bits((float)mantissa * 0x1p-24f));
    }
    return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

static inline uint16_t float_to_half(float f) {
    uint32_t x = float_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7FFFFFFF;
    if (x > 0x7F800000) return sign | 0x7E00 | (uint16_t)((x >> 13) & 0x3FF);  // NaN, quiet
    if (x >= 0x477FF000) return sign | 0x7C00;  // >= 65520 rounds to infinity
    if (x < 0x38800000) {
        // Below the smallest normal (2^-14): adding 0.5 puts the value's bits at 2^-24 granularity in the
        // low mantissa, rounded to nearest even by the FPU.
        return sign | (uint16_t)(float_bits(bits_float(x) + 0.5f) - float_bits(0.5f));
    }
    uint32_t odd = (x >> 13) & 1;
    x += ((uint32_t)(15 - 127) << 23) + 0xFFF + odd;
    return sign | (uint16_t)(x >> 13);
}

void ck_float16_to_float32_portable(const uint16_t *src, float *dst, size_t count) {
    for (size_t i = 0; i < count; i++) dst[i] = half_to_float(src[i]);
}

void ck_float32_to_float16_portable(const float *src, uint16_t *dst, size_t count) {
    for (size_t i = 0; i < count; i++) dst[i] = float_to_half(src[i]);
}

// MARK: - float16, F16C

#ifdef CK_X86
#define CK_F16C __attribute__((target("avx,f16c")))

static CK_F16C void float16_to_float32_f16c(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    ck_float16_to_float32_portable(src + i, dst + i, count - i);
}

static CK_F16C void float32_to_float16_f16c(const float *src, uint16_t *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    ck_float32_to_float16_portable(src + i, dst + i, count - i);
}

static int has_f16c(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
}
#endif

void ck_float16_to_float32(const uint16_t *src, float *dst, size_t count) {
#ifdef CK_X86
    if (has_f16c()) {
        float16_to_float32_f16c(src, dst, count);
        return;
    }
#endif
    ck_float16_to_float32_portable(src, dst, count);
}

void ck_float32_to_float16(const float *src, uint16_t *dst, size_t count) {
#ifdef CK_X86
    if (has_f16c()) {
        float32_to_float16_f16c(src, dst, count);
        return;
    }
#endif
    ck_float32_to_float16_portable(src, dst, count);
}

// MARK: - bfloat16 (the top half of a Float32; plain integer code the compiler vectorizes)

void ck_bfloat16_to_float32(const uint16_t *src, float *dst, size_t count) {
    for (size_t i = 0; i < count; i++) dst[i] = bits_float((uint32_t)src[i] << 16);
}

void ck_float32_to_bfloat16(const float *src, uint16_t *dst, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t x = float_bits(src[i]);
        uint32_t rounded = (x + 0x7FFF + ((x >> 16) & 1)) >> 16;
        uint32_t nan = (x >> 16) | 0x40;
        dst[i] = (uint16_t)((x & 0x7FFFFFFF) > 0x7F800000 ? nan : rounded);
    }
}
