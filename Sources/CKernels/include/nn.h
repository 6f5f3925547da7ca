#pragma once
// Row kernels for softmax, norms, activations, elementwise arithmetic and rotary embeddings.
//
// Every function works on `rows` contiguous rows of `n` floats. Each picks an AVX2+FMA body at run
// time when the CPU has it and a portable body otherwise; both give the same results up to rounding.
// The activations, softmax and KL divergence also have an AVX-512 body, used first, that gives the AVX2 body's bits.

/// y = softmax(x) per row, max-subtracted. A row whose entries are all -inf gives all zeros.
void nn_softmax_rows(const float *x, float *y, long rows, long n);
/// gx = y * (gy - sum(gy * y)) per row, from the softmax output y.
void nn_softmax_backward_rows(const float *y, const float *gy, float *gx, long rows, long n);
/// y = x - max - log(sum(exp(x - max))) per row. A row whose entries are all -inf stays -inf.
void nn_log_softmax_rows(const float *x, float *y, long rows, long n);
/// out[r] = KL(p ‖ softmax(x)) of row r: sum_i p_i * (log p_i - log_softmax(x)_i), from the reference's log-probabilities
/// ref_log and probabilities ref_p (rows x n like x).
void nn_kl_divergence_rows(const float *x, const float *ref_log, const float *ref_p, float *out, long rows, long n);
/// gx = gy - exp(y) * sum(gy) per row, from the log-softmax output y.
void nn_log_softmax_backward_rows(const float *y, const float *gy, float *gx, long rows, long n);

/// Layer norm per row (biased variance): y = (x - mean) * scale * weight + bias, scale = 1/sqrt(var + eps).
/// `weight` and `bias` (n floats) may be NULL; `mean` and `scale` receive one float per row.
void nn_layer_norm_rows(const float *x, const float *weight, const float *bias, float *y,
                        float *mean, float *scale, long rows, long n, float epsilon);
/// Gradient of layer norm: writes gx; adds into gweight and gbias (n floats each) when they are not NULL.
void nn_layer_norm_backward_rows(const float *x, const float *mean, const float *scale, const float *weight,
                                 const float *gy, float *gx, float *gweight, float *gbias, long rows, long n);

/// RMS norm per row: y = x * scale * weight, scale = 1/sqrt(mean(x^2) + eps). `weight` may be NULL.
void nn_rms_norm_rows(const float *x, const float *weight, float *y, float *scale, long rows, long n,
                      float epsilon);
/// Gradient of RMS norm: writes gx; adds into gweight (n floats) when it is not NULL.
void nn_rms_norm_backward_rows(const float *x, const float *scale, const float *weight, const float *gy,
                               float *gx, float *gweight, long rows, long n);

/// Elementwise activation functions.
typedef enum {
    NN_GELU_ERF = 0,   ///< x * Φ(x), the erf form (Φ within 1e-7 absolute)
    NN_GELU_TANH = 1,  ///< GPT-2's 0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))
    NN_SILU = 2,       ///< x * sigmoid(x)
    NN_SIGMOID = 3,    ///< 1 / (1 + exp(-x))
    NN_RELU = 4,       ///< max(x, 0)
} nn_activation;

/// y = f(x) for `count` elements.
void nn_activation_forward(nn_activation kind, const float *x, float *y, long count);
/// y = f(x) * u for `count` elements (a gated MLP's product), the same operations as the two steps.
void nn_gated_activation_forward(nn_activation kind, const float *x, const float *u, float *y, long count);
/// gx = gy * f'(x) for `count` elements.
void nn_activation_backward(nn_activation kind, const float *x, const float *gy, float *gx, long count);

/// Elementwise binary operations.
typedef enum {
    NN_ADD = 0,
    NN_SUBTRACT = 1,
    NN_MULTIPLY = 2,
    NN_DIVIDE = 3,
} nn_binary_op;

/// y = a op b for `rows` rows of `n` floats: row r of `a` and `y` starts at r * n, row r of `b` at r * b_stride
/// (0: one row of `b` for all rows, a bias). Each element is the single IEEE operation, as a scalar loop gives it.
void nn_binary_rows(nn_binary_op op, const float *a, const float *b, long b_stride, float *y, long rows, long n);

/// Rotary embedding (rotate_half convention) of `tokens` tokens of `heads` heads of `head_dim` floats each:
/// with `half = rotary_dim / 2`, `y[i] = x[i] c - x[half + i] s` and `y[half + i] = x[half + i] c + x[i] s` for
/// `i < half`, where `c = cos[t][i]` and `s = direction * sin[t][i]` from the tables of token t (`rotary_dim`
/// floats a token); dimensions from `rotary_dim` on are copied. No multiply-add is fused.
void nn_rotary_rows(const float *x, const float *cos, const float *sin, float *y, long tokens, long heads,
                    long head_dim, long rotary_dim, float direction);

/// Sparse weighted sums of vectors read where they are, for `r < rows`, `x < length`:
/// out(r, x) = Σ_i shared_weights[i] * shared[i][x] + Σ_{row_start[r] <= j < row_start[r + 1]} term_weights[j] * terms[j][x],
/// each sum in order. The shared part is computed once for all rows. Element (r, x) is stored at
/// (x / segment) * segment_stride + r * row_stride + x % segment; `length` is a multiple of `segment`.
void nn_weighted_sums(const float *const *shared, const float *shared_weights, long shared_count,
                      const float *const *terms, const float *term_weights, const long *row_start, long rows,
                      long length, long segment, long segment_stride, long row_stride, float *out);
