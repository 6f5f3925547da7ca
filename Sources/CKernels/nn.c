#include "nn.h"
#include "attention.h"
#include "gemm.h"
#include <math.h>
#include <stdlib.h>

// Each kernel body is written once with 8-lane clang vectors and instantiated twice: an AVX2+FMA copy
// chosen at run time on x86-64 CPUs that have it, and a portable copy (SSE2 on x86-64, NEON on arm64).
// Rows of any length are walked 8 lanes at a time; the last partial block is padded with a neutral value.
// The activations and softmax add an AVX-512 copy that takes whole 16-lane blocks with the same per-lane
// operations (and the same 8-lane sums), so it gives the AVX2 copy's results bit for bit.

typedef float v8 __attribute__((ext_vector_type(8)));
typedef int v8i __attribute__((ext_vector_type(8)));

#define INLINE static inline __attribute__((always_inline))

// Helpers pass 8-lane vectors by value; they are always inlined, so no call ever crosses the ABI boundary
// that this warning is about.
#pragma clang diagnostic ignored "-Wpsabi"

INLINE long lanes(long i, long n) { return n - i < 8 ? n - i : 8; }

/// Loads `m` <= 8 floats, filling the missing lanes with `fill`.
INLINE v8 load(const float *p, long m, float fill) {
    v8 v;
    if (m == 8) {
        __builtin_memcpy(&v, p, sizeof v);
    } else {
        v = fill;
        for (long k = 0; k < m; k++) v[k] = p[k];
    }
    return v;
}

/// Stores the first `m` <= 8 lanes.
INLINE void store(float *p, v8 v, long m) {
    if (m == 8) {
        __builtin_memcpy(p, &v, sizeof v);
    } else {
        for (long k = 0; k < m; k++) p[k] = v[k];
    }
}

INLINE float sum8(v8 v) {
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

INLINE float max8(v8 v) {
    float m = v[0];
    for (int k = 1; k < 8; k++) m = v[k] > m ? v[k] : m;
    return m;
}

static const float sqrtTwoOverPi = 0.7978845608028654f, geluCubic = 0.044715f;

// The elementwise math (exp, sigmoid, tanh, Φ, the activations) at 8 lanes (exp8, activation8, ...) and at 16
// (exp16, ..., for the AVX-512 bodies of the elementwise kernels): the same operations on every lane.
#define VEC v8
#define VECI v8i
#define WIDTH 8
#include "nn_vector_math.h"
#undef VEC
#undef VECI
#undef WIDTH

typedef float v16 __attribute__((ext_vector_type(16)));
typedef int v16i __attribute__((ext_vector_type(16)));
#define VEC v16
#define VECI v16i
#define WIDTH 16
#include "nn_vector_math.h"
#undef VEC
#undef VECI
#undef WIDTH

// The 16-lane helpers that the AVX-512 bodies call take pointers, not vectors: a 16-float vector passed by value
// between functions compiled for different targets would change the calling convention.

/// y[0..<16] = activation(x[0..<16]) (times u[0..<16] when `u` is not NULL).
INLINE void activation16_block(nn_activation kind, const float *x, const float *u, float *y) {
    v16 v;
    __builtin_memcpy(&v, x, sizeof v);
    v = activation16(kind, v);
    if (u) {
        v16 up;
        __builtin_memcpy(&up, u, sizeof up);
        v *= up;
    }
    __builtin_memcpy(y, &v, sizeof v);
}

/// exp(x[0..<16] - m), added to `total` as two 8-lane halves in order (the 8-lane loop's sum) and returned.
INLINE v16 exp16_summed(const float *x, float m, v8 *total) {
    v16 v;
    __builtin_memcpy(&v, x, sizeof v);
    v16 e = exp16(v - m);
    *total += e.lo;
    *total += e.hi;
    return e;
}

/// The largest of the `n` values at `x`; with `wide`, 16 at a time (the same value: a maximum has no order).
INLINE float max_of_width(const float *x, long n, int wide) {
    v8 highest = -INFINITY;
    long i = 0;
    if (wide && n >= 16) {
        v16 wideHighest;
        __builtin_memcpy(&wideHighest, x, sizeof wideHighest);
        for (i = 16; i + 16 <= n; i += 16) {
            v16 v;
            __builtin_memcpy(&v, x + i, sizeof v);
            wideHighest = __builtin_elementwise_max(wideHighest, v);
        }
        highest = __builtin_elementwise_max(wideHighest.lo, wideHighest.hi);
    }
    for (; i < n; i += 8) highest = __builtin_elementwise_max(highest, load(x + i, lanes(i, n), -INFINITY));
    return max8(highest);
}

// MARK: Softmax

/// Softmax of each row. With `wide` (a constant; only in bodies compiled for AVX-512) the exponentials of whole
/// 16-lane blocks are computed 16 at a time and added to the 8-lane total as their two halves, in order: the same
/// operations on every element and the same sum as the 8-lane loop.
INLINE void softmax_rows_of_width(const float *x, float *y, long rows, long n, int wide) {
    for (long r = 0; r < rows; r++, x += n, y += n) {
        float m = max_of_width(x, n, wide);
        v8 total = 0.0f;
        long i = 0;
        for (; wide && m != -INFINITY && i + 16 <= n; i += 16) {
            v16 e = exp16_summed(x + i, m, &total);
            __builtin_memcpy(y + i, &e, sizeof e);
        }
        for (; i < n; i += 8) {
            long k = lanes(i, n);
            v8 e = m == -INFINITY ? 0.0f : exp8(load(x + i, k, -INFINITY) - m);
            store(y + i, e, k);
            total += e;
        }
        float inverse = m == -INFINITY ? 0.0f : 1.0f / sum8(total);
        for (long i = 0; i < n; i += 8) store(y + i, load(y + i, lanes(i, n), 0) * inverse, lanes(i, n));
    }
}

INLINE void softmax_rows(const float *x, float *y, long rows, long n) { softmax_rows_of_width(x, y, rows, n, 0); }

INLINE void softmax_backward_rows(const float *y, const float *gy, float *gx, long rows, long n) {
    for (long r = 0; r < rows; r++, y += n, gy += n, gx += n) {
        v8 dot = 0.0f;
        for (long i = 0; i < n; i += 8) dot += load(y + i, lanes(i, n), 0) * load(gy + i, lanes(i, n), 0);
        float d = sum8(dot);
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            store(gx + i, load(y + i, k, 0) * (load(gy + i, k, 0) - d), k);
        }
    }
}

/// logsumexp of the `n` values at `x` (−∞ when every value is −∞). With `wide` (as in `softmax_rows_of_width`) the
/// exponentials of whole 16-lane blocks are computed 16 at a time and added as their two halves: the same sum.
INLINE float log_sum_exp_of_width(const float *x, long n, int wide) {
    float m = max_of_width(x, n, wide);
    if (m == -INFINITY) return m;
    v8 total = 0.0f;
    long i = 0;
    for (; wide && i + 16 <= n; i += 16) (void)exp16_summed(x + i, m, &total);
    for (; i < n; i += 8) total += exp8(load(x + i, lanes(i, n), -INFINITY) - m);
    return m + logf(sum8(total));
}

INLINE float log_sum_exp(const float *x, long n) { return log_sum_exp_of_width(x, n, 0); }

INLINE void log_softmax_rows(const float *x, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++, x += n, y += n) {
        float shift = log_sum_exp(x, n);
        for (long i = 0; i < n; i += 8) store(y + i, load(x + i, lanes(i, n), 0) - shift, lanes(i, n));
    }
}

/// KL(p ‖ softmax(x)) per row: Σ_i p_i · (log p_i − (x_i − logsumexp(x))), with the log-softmax of `log_softmax_rows`.
/// With `wide`, the logsumexp 16 at a time (`log_sum_exp_of_width`): the same bits. (The terms stay 8 at a time:
/// adding the halves of 16-lane terms in order changed last bits of ACDC effects on the SmolLM2-135M shape.)
INLINE void kl_divergence_rows_of_width(const float *x, const float *ref_log, const float *ref_p, float *out, long rows,
                                        long n, int wide) {
    for (long r = 0; r < rows; r++, x += n, ref_log += n, ref_p += n) {
        float shift = log_sum_exp_of_width(x, n, wide);
        v8 divergence = 0.0f;
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            divergence += load(ref_p + i, k, 0) * (load(ref_log + i, k, 0) - (load(x + i, k, 0) - shift));
        }
        out[r] = sum8(divergence);
    }
}

INLINE void kl_divergence_rows(const float *x, const float *ref_log, const float *ref_p, float *out, long rows, long n) {
    kl_divergence_rows_of_width(x, ref_log, ref_p, out, rows, n, 0);
}

INLINE void log_softmax_backward_rows(const float *y, const float *gy, float *gx, long rows, long n) {
    for (long r = 0; r < rows; r++, y += n, gy += n, gx += n) {
        v8 total = 0.0f;
        for (long i = 0; i < n; i += 8) total += load(gy + i, lanes(i, n), 0);
        float s = sum8(total);
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            store(gx + i, load(gy + i, k, 0) - exp8(load(y + i, k, 0)) * s, k);
        }
    }
}

// MARK: Normalization

INLINE void layer_norm_rows(const float *x, const float *weight, const float *bias, float *y,
                            float *mean, float *scale, long rows, long n, float epsilon) {
    for (long r = 0; r < rows; r++, x += n, y += n) {
        v8 total = 0.0f;
        for (long i = 0; i < n; i += 8) total += load(x + i, lanes(i, n), 0);
        float mu = sum8(total) / (float)n;
        v8 squares = 0.0f;
        for (long i = 0; i < n; i += 8) {
            v8 d = load(x + i, lanes(i, n), mu) - mu;
            squares += d * d;
        }
        float s = 1.0f / sqrtf(sum8(squares) / (float)n + epsilon);
        mean[r] = mu;
        scale[r] = s;
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            v8 v = (load(x + i, k, 0) - mu) * s;
            if (weight) v *= load(weight + i, k, 0);
            if (bias) v += load(bias + i, k, 0);
            store(y + i, v, k);
        }
    }
}

INLINE void layer_norm_backward_rows(const float *x, const float *mean, const float *scale, const float *weight,
                                     const float *gy, float *gx, float *gweight, float *gbias, long rows, long n) {
    for (long r = 0; r < rows; r++, x += n, gy += n, gx += n) {
        float mu = mean[r], s = scale[r];
        v8 sumG = 0.0f, sumGX = 0.0f;
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            v8 g = load(gy + i, k, 0);
            if (weight) g *= load(weight + i, k, 0);
            sumG += g;
            sumGX += g * ((load(x + i, k, mu) - mu) * s);
        }
        float meanG = sum8(sumG) / (float)n, meanGX = sum8(sumGX) / (float)n;
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            v8 upstream = load(gy + i, k, 0);
            v8 g = weight ? upstream * load(weight + i, k, 0) : upstream;
            v8 normalized = (load(x + i, k, 0) - mu) * s;
            store(gx + i, s * (g - meanG - normalized * meanGX), k);
            if (gweight) store(gweight + i, load(gweight + i, k, 0) + upstream * normalized, k);
            if (gbias) store(gbias + i, load(gbias + i, k, 0) + upstream, k);
        }
    }
}

INLINE void rms_norm_rows(const float *x, const float *weight, float *y, float *scale, long rows, long n,
                          float epsilon) {
    for (long r = 0; r < rows; r++, x += n, y += n) {
        v8 squares = 0.0f;
        for (long i = 0; i < n; i += 8) {
            v8 v = load(x + i, lanes(i, n), 0);
            squares += v * v;
        }
        float s = 1.0f / sqrtf(sum8(squares) / (float)n + epsilon);
        scale[r] = s;
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            v8 v = load(x + i, k, 0) * s;
            if (weight) v *= load(weight + i, k, 0);
            store(y + i, v, k);
        }
    }
}

INLINE void rms_norm_backward_rows(const float *x, const float *scale, const float *weight, const float *gy,
                                   float *gx, float *gweight, long rows, long n) {
    for (long r = 0; r < rows; r++, x += n, gy += n, gx += n) {
        float s = scale[r];
        v8 sumGX = 0.0f;
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            v8 g = load(gy + i, k, 0);
            if (weight) g *= load(weight + i, k, 0);
            sumGX += g * load(x + i, k, 0) * s;
        }
        float meanGX = sum8(sumGX) / (float)n;
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            v8 upstream = load(gy + i, k, 0);
            v8 g = weight ? upstream * load(weight + i, k, 0) : upstream;
            v8 normalized = load(x + i, k, 0) * s;
            store(gx + i, s * (g - normalized * meanGX), k);
            if (gweight) store(gweight + i, load(gweight + i, k, 0) + upstream * normalized, k);
        }
    }
}

// MARK: Activations

INLINE v8 activation_derivative(nn_activation kind, v8 x) {
    switch (kind) {
    case NN_GELU_ERF: {
        return normal_cdf8(x) + x * 0.3989422804014327f * exp8(-0.5f * x * x);
    }
    case NN_GELU_TANH: {
        v8 t = tanh8(sqrtTwoOverPi * (x + geluCubic * x * x * x));
        return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * sqrtTwoOverPi * (1.0f + 3.0f * geluCubic * x * x);
    }
    case NN_SILU: {
        v8 s = sigmoid8(x);
        return s * (1.0f + x * (1.0f - s));
    }
    case NN_SIGMOID: {
        v8 s = sigmoid8(x);
        return s * (1.0f - s);
    }
    case NN_RELU: return (v8)((v8i)(v8)1.0f & (x > 0.0f));
    }
    return x;
}

INLINE void activation_forward(nn_activation kind, const float *x, float *y, long count) {
    for (long i = 0; i < count; i += 8) store(y + i, activation8(kind, load(x + i, lanes(i, count), 0)), lanes(i, count));
}

INLINE void gated_activation_forward(nn_activation kind, const float *x, const float *u, float *y, long count) {
    for (long i = 0; i < count; i += 8) {
        long k = lanes(i, count);
        store(y + i, activation8(kind, load(x + i, k, 0)) * load(u + i, k, 0), k);
    }
}

INLINE void activation_backward(nn_activation kind, const float *x, const float *gy, float *gx, long count) {
    for (long i = 0; i < count; i += 8) {
        long k = lanes(i, count);
        store(gx + i, load(gy + i, k, 0) * activation_derivative(kind, load(x + i, k, 0)), k);
    }
}

// MARK: Elementwise arithmetic

INLINE v8 binary(nn_binary_op op, v8 a, v8 b) {
    switch (op) {
    case NN_ADD: return a + b;
    case NN_SUBTRACT: return a - b;
    case NN_MULTIPLY: return a * b;
    case NN_DIVIDE: return a / b;
    }
    return a;
}

INLINE void binary_rows(nn_binary_op op, const float *a, const float *b, long b_stride, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++, a += n, b += b_stride, y += n) {
        for (long i = 0; i < n; i += 8) {
            long k = lanes(i, n);
            store(y + i, binary(op, load(a + i, k, 0), load(b + i, k, 1)), k);
        }
    }
}

// MARK: Rotary embedding

INLINE void rotary_rows(const float *x, const float *cos, const float *sin, float *y, long tokens, long heads,
                        long head_dim, long rotary_dim, float direction) {
#pragma clang fp contract(off)
    long half = rotary_dim / 2;
    for (long t = 0; t < tokens; t++, cos += rotary_dim, sin += rotary_dim) {
        for (long h = 0; h < heads; h++, x += head_dim, y += head_dim) {
            for (long i = 0; i < half; i += 8) {
                long k = lanes(i, half);
                v8 x1 = load(x + i, k, 0), x2 = load(x + half + i, k, 0);
                v8 c = load(cos + i, k, 0), s = direction * load(sin + i, k, 0);
                store(y + i, x1 * c - x2 * s, k);
                store(y + half + i, x2 * c + x1 * s, k);
            }
            for (long i = rotary_dim; i < head_dim; i++) y[i] = x[i];
        }
    }
}

// MARK: Weighted sums

/// Adds Σ_i w[i] * p[i][offset ..< offset + 16] to (acc0, acc1) (`m0`, `m1` lanes valid), in order of i.
INLINE void accumulate(const float *const *p, const float *w, long count, long offset, long m0, long m1, v8 *acc0,
                       v8 *acc1) {
    for (long i = 0; i < count; i++) {
        const float *x = p[i] + offset;
        *acc0 += w[i] * load(x, m0, 0);
        if (m1 > 0) *acc1 += w[i] * load(x + 8, m1, 0);
    }
}

INLINE void weighted_sums(const float *const *shared, const float *shared_weights, long shared_count,
                          const float *const *terms, const float *term_weights, const long *row_start, long rows,
                          long length, long segment, long segment_stride, long row_stride, float *out) {
    for (long s0 = 0; s0 < length; s0 += segment) {
        float *segment_out = out + (s0 / segment) * segment_stride;
        for (long c = 0; c < segment; c += 16) {
            long m0 = lanes(c, segment), m1 = segment - c - 8 < 8 ? segment - c - 8 : 8;
            v8 common0 = 0, common1 = 0;
            accumulate(shared, shared_weights, shared_count, s0 + c, m0, m1, &common0, &common1);
            for (long r = 0; r < rows; r++) {
                v8 acc0 = common0, acc1 = common1;
                long first = row_start[r];
                accumulate(terms + first, term_weights + first, row_start[r + 1] - first, s0 + c, m0, m1, &acc0, &acc1);
                float *o = segment_out + r * row_stride + c;
                store(o, acc0, m0);
                if (m1 > 0) store(o + 8, acc1, m1);
            }
        }
    }
}

// MARK: Fused attention

/// Query rows per block: with a causal mask each block computes only the keys its rows can see.
enum { ATTENTION_BLOCK_ROWS = 32 };

/// Scales, soft-caps and masks `rows` score rows (columns [begin, begin + n) of the full key range, row stride
/// `ld`; `mask` rows `mask_ld` apart, or NULL), then replaces each by its softmax. The operations and their
/// order are those of the unfused `scores * scale`, `softCapped`, `+ mask`, `softmax`; `begin` is a multiple
/// of 8, so every entry sits in the same lane as in a softmax over the whole row.
INLINE void attention_softmax_rows(float *s, long ld, const float *mask, long mask_ld, long rows, long n,
                                   float scale, float softcap, int wide) {
#pragma clang fp contract(off)
    for (long r = 0; r < rows; r++) {
        float *x = s + r * ld;
        const float *m = mask ? mask + r * mask_ld : 0;
        if (softcap > 0) {
            float inverse = 1.0f / softcap;
            for (long i = 0; i < n; i++) x[i] = tanhf(x[i] * scale * inverse) * softcap;
            if (m) {
                for (long i = 0; i < n; i += 8) store(x + i, load(x + i, lanes(i, n), 0) + load(m + i, lanes(i, n), 0), lanes(i, n));
            }
        } else {
            for (long i = 0; i < n; i += 8) {
                long k = lanes(i, n);
                v8 t = load(x + i, k, 0) * scale;
                if (m) t += load(m + i, k, 0);
                store(x + i, t, k);
            }
        }
        softmax_rows_of_width(x, x, 1, n, wide);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void attention_softmax_rows_avx2(float *s, long ld, const float *mask,
                                                                           long mask_ld, long rows, long n,
                                                                           float scale, float softcap) {
    attention_softmax_rows(s, ld, mask, mask_ld, rows, n, scale, softcap, 0);
}

__attribute__((target("avx512f,avx2,fma"))) static void attention_softmax_rows_avx512(float *s, long ld,
                                                                                     const float *mask, long mask_ld,
                                                                                     long rows, long n, float scale,
                                                                                     float softcap) {
    attention_softmax_rows(s, ld, mask, mask_ld, rows, n, scale, softcap, 1);
}
#endif

static void attention_softmax_dispatch(float *s, long ld, const float *mask, long mask_ld, long rows, long n,
                                       float scale, float softcap) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        attention_softmax_rows_avx512(s, ld, mask, mask_ld, rows, n, scale, softcap);
        return;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        attention_softmax_rows_avx2(s, ld, mask, mask_ld, rows, n, scale, softcap);
        return;
    }
#endif
    attention_softmax_rows(s, ld, mask, mask_ld, rows, n, scale, softcap, 0);
}

long nn_attention_item_count(const nn_attention_args *a) { return a->batch * a->heads; }

static ck_sgemm_args attention_product(int transpose_b, long m, long n, long k, const float *a, long lda,
                                       const float *b, long ldb, float *c, long ldc) {
    ck_sgemm_args p = {0};
    p.transpose_b = transpose_b;
    p.m = m; p.n = n; p.k = k;
    p.alpha = 1.0f;
    p.a = a; p.lda = lda;
    p.b = b; p.ldb = ldb;
    p.beta = 0.0f;
    p.c = c; p.ldc = ldc;
    p.path = CK_GEMM_PATH_AUTOMATIC;
    p.b_type = CK_ELEMENT_F32;
    p.compute = CK_COMPUTE_F32;
    return p;
}

/// The keys [*low, *high) that some row of a mask block sees (`low` rounded down to a multiple of 8).
static void visible_keys(const float *mask, long rows, long keys, long *low, long *high) {
    *low = keys;
    *high = 0;
    for (long r = 0; r < rows; r++) {
        const float *row = mask + r * keys;
        long j = 0;
        while (j < *low && row[j] == -INFINITY) j++;
        if (j < *low) *low = j;
        j = keys;
        while (j > *high && row[j - 1] == -INFINITY) j--;
        if (j > *high) *high = j;
    }
    *low -= *low % 8;
}

// Each item is one (batch, head) matrix, computed as a part of the unfused batched products (same shapes, so the
// GEMM takes the same path and every score and output is computed by the same operations). Its query rows go in
// blocks: the scores of a block are the rectangle of keys its rows see; the others are exact zeros of the pattern.
void nn_attention(const nn_attention_args *a, long begin, long end) {
    long group = a->heads / a->kv_heads, d = a->head_dim, keys = a->keys;
    // The row count the GEMM chooses its path by: the unfused product stacks every head's rows into one problem
    // when one key-value matrix serves them all (batch 1, one key-value head).
    long product_rows = a->batch * a->kv_heads == 1 ? a->heads * a->queries : a->queries;
    float *scores = malloc(sizeof(float) * (a->queries > 0 ? a->queries : 1) * (keys > 0 ? keys : 1));
    // The visible keys of every block of one batch row's mask, found once for all its heads.
    long blocks = (a->queries + ATTENTION_BLOCK_ROWS - 1) / ATTENTION_BLOCK_ROWS;
    long *visible = malloc(sizeof(long) * 2 * (blocks > 0 ? blocks : 1));
    const float *visible_mask = 0;
    for (long item = begin; item < end; item++) {
        long head = item % a->heads, b = item / a->heads, kv = head / group;
        const float *batch_mask = a->mask ? a->mask + b * a->mask_batch : 0;
        if (batch_mask && batch_mask != visible_mask) {
            for (long block = 0, first = 0; block < blocks; block++, first += ATTENTION_BLOCK_ROWS) {
                long rows = a->queries - first < ATTENTION_BLOCK_ROWS ? a->queries - first : ATTENTION_BLOCK_ROWS;
                visible_keys(batch_mask + first * keys, rows, keys, &visible[2 * block], &visible[2 * block + 1]);
            }
            visible_mask = batch_mask;
        }
        const float *q = a->q + b * a->q_batch + head * a->q_head;
        const float *k = a->k + b * a->k_batch + kv * a->k_head;
        const float *v = a->v + b * a->v_batch + kv * a->v_head;
        float *z = a->z + b * a->z_batch + head * a->z_head;
        ck_sgemm_args qk = attention_product(1, product_rows, keys, d, q, a->q_pos, k, a->k_pos, scores, keys);
        for (long first = 0; first < a->queries; first += ATTENTION_BLOCK_ROWS) {
            long rows = a->queries - first < ATTENTION_BLOCK_ROWS ? a->queries - first : ATTENTION_BLOCK_ROWS;
            const float *mask = batch_mask ? batch_mask + first * keys : 0;
            long block_index = first / ATTENTION_BLOCK_ROWS;
            long low = mask ? visible[2 * block_index] : 0, high = mask ? visible[2 * block_index + 1] : keys;
            if (high <= low) {
                for (long r = first; r < first + rows; r++) for (long i = 0; i < d; i++) z[r * a->z_pos + i] = 0.0f;
                continue;
            }
            float *block = scores + first * keys;
            ck_sgemm_block(&qk, first, first + rows, low, high);
            attention_softmax_dispatch(block + low, keys, mask ? mask + low : 0, keys, rows, high - low, a->scale,
                                       a->softcap);
            for (long r = 0; r < rows; r++) for (long j = 0; j < low; j++) block[r * keys + j] = 0.0f;
            // The value product stops after the last key the block sees: the terms dropped are exact zeros at the
            // end of each sum.
            ck_sgemm_args pv = attention_product(0, product_rows, d, high, scores, keys, v, a->v_pos, z, a->z_pos);
            ck_sgemm_block(&pv, first, first + rows, 0, d);
        }
    }
    free(visible);
    free(scores);
}

// MARK: Dispatch

#if defined(__x86_64__)
/// Defines the public `name` calling an AVX2+FMA instance of `body` when the CPU supports it.
#define DISPATCH(name, body, params, args)                                          \
    __attribute__((target("avx2,fma"))) static void body##_avx2 params { body args; } \
    void name params {                                                              \
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {      \
            body##_avx2 args;                                                       \
        } else {                                                                    \
            body args;                                                              \
        }                                                                           \
    }

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/// `activation_forward` and `gated_activation_forward` on whole 16-lane blocks, then the 8-lane bodies on the rest:
/// every element gets the same bits as from the 8-lane bodies alone.
AVX512 static void activation_forward_avx512(nn_activation kind, const float *x, float *y, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) activation16_block(kind, x + i, 0, y + i);
    activation_forward(kind, x + i, y + i, count - i);
}

AVX512 static void gated_activation_forward_avx512(nn_activation kind, const float *x, const float *u, float *y,
                                                   long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) activation16_block(kind, x + i, u + i, y + i);
    gated_activation_forward(kind, x + i, u + i, y + i, count - i);
}

AVX512 static void softmax_rows_avx512(const float *x, float *y, long rows, long n) {
    softmax_rows_of_width(x, y, rows, n, 1);
}

AVX512 static void kl_divergence_rows_avx512(const float *x, const float *ref_log, const float *ref_p, float *out,
                                             long rows, long n) {
    kl_divergence_rows_of_width(x, ref_log, ref_p, out, rows, n, 1);
}

/// DISPATCH with an AVX-512 body `body##_avx512` tried first.
#define DISPATCH_WIDE(name, body, params, args)                                        \
    __attribute__((target("avx2,fma"))) static void body##_avx2 params { body args; } \
    void name params {                                                                 \
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {      \
            body##_avx512 args;                                                        \
        } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {  \
            body##_avx2 args;                                                          \
        } else {                                                                       \
            body args;                                                                 \
        }                                                                              \
    }
#else
#define DISPATCH(name, body, params, args) \
    void name params { body args; }
#define DISPATCH_WIDE DISPATCH
#endif

DISPATCH_WIDE(nn_softmax_rows, softmax_rows, (const float *x, float *y, long rows, long n), (x, y, rows, n))
DISPATCH(nn_softmax_backward_rows, softmax_backward_rows,
         (const float *y, const float *gy, float *gx, long rows, long n), (y, gy, gx, rows, n))
DISPATCH(nn_log_softmax_rows, log_softmax_rows, (const float *x, float *y, long rows, long n), (x, y, rows, n))
DISPATCH_WIDE(nn_kl_divergence_rows, kl_divergence_rows,
         (const float *x, const float *ref_log, const float *ref_p, float *out, long rows, long n),
         (x, ref_log, ref_p, out, rows, n))
DISPATCH(nn_log_softmax_backward_rows, log_softmax_backward_rows,
         (const float *y, const float *gy, float *gx, long rows, long n), (y, gy, gx, rows, n))
DISPATCH(nn_layer_norm_rows, layer_norm_rows,
         (const float *x, const float *weight, const float *bias, float *y, float *mean, float *scale, long rows,
          long n, float epsilon),
         (x, weight, bias, y, mean, scale, rows, n, epsilon))
DISPATCH(nn_layer_norm_backward_rows, layer_norm_backward_rows,
         (const float *x, const float *mean, const float *scale, const float *weight, const float *gy, float *gx,
          float *gweight, float *gbias, long rows, long n),
         (x, mean, scale, weight, gy, gx, gweight, gbias, rows, n))
DISPATCH(nn_rms_norm_rows, rms_norm_rows,
         (const float *x, const float *weight, float *y, float *scale, long rows, long n, float epsilon),
         (x, weight, y, scale, rows, n, epsilon))
DISPATCH(nn_rms_norm_backward_rows, rms_norm_backward_rows,
         (const float *x, const float *scale, const float *weight, const float *gy, float *gx, float *gweight,
          long rows, long n),
         (x, scale, weight, gy, gx, gweight, rows, n))
DISPATCH_WIDE(nn_activation_forward, activation_forward, (nn_activation kind, const float *x, float *y, long count),
              (kind, x, y, count))
DISPATCH_WIDE(nn_gated_activation_forward, gated_activation_forward,
              (nn_activation kind, const float *x, const float *u, float *y, long count), (kind, x, u, y, count))
DISPATCH(nn_activation_backward, activation_backward,
         (nn_activation kind, const float *x, const float *gy, float *gx, long count), (kind, x, gy, gx, count))
DISPATCH(nn_weighted_sums, weighted_sums,
         (const float *const *shared, const float *shared_weights, long shared_count, const float *const *terms,
          const float *term_weights, const long *row_start, long rows, long length, long segment, long segment_stride,
          long row_stride, float *out),
         (shared, shared_weights, shared_count, terms, term_weights, row_start, rows, length, segment, segment_stride,
          row_stride, out))
DISPATCH(nn_binary_rows, binary_rows,
         (nn_binary_op op, const float *a, const float *b, long b_stride, float *y, long rows, long n),
         (op, a, b, b_stride, y, rows, n))
DISPATCH(nn_rotary_rows, rotary_rows,
         (const float *x, const float *cos, const float *sin, float *y, long tokens, long heads, long head_dim,
          long rotary_dim, float direction),
         (x, cos, sin, y, tokens, heads, head_dim, rotary_dim, direction))
