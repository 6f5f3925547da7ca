#pragma once
// Bulk conversions between Float32 and the 16-bit float formats (IEEE binary16 "float16" and bfloat16).
// Narrowing rounds to nearest, ties to even; infinities and NaNs are preserved (NaNs become quiet NaNs);
// float16 subnormals are handled exactly. F16C is used when the CPU has it (run-time dispatch).

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// dst[i] = float16 src[i] widened to Float32 (exact).
void ck_float16_to_float32(const uint16_t *src, float *dst, size_t count);
/// dst[i] = src[i] rounded to float16 (nearest, ties to even; overflow becomes infinity).
void ck_float32_to_float16(const float *src, uint16_t *dst, size_t count);
/// dst[i] = bfloat16 src[i] widened to Float32 (exact).
void ck_bfloat16_to_float32(const uint16_t *src, float *dst, size_t count);
/// dst[i] = src[i] rounded to bfloat16 (nearest, ties to even; overflow becomes infinity).
void ck_float32_to_bfloat16(const float *src, uint16_t *dst, size_t count);

/// The same float16 conversions without F16C, for testing the fallback.
void ck_float16_to_float32_portable(const uint16_t *src, float *dst, size_t count);
void ck_float32_to_float16_portable(const float *src, uint16_t *dst, size_t count);

#ifdef __cplusplus
}
#endif
