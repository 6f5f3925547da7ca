#pragma once
// Fused scaled dot-product attention: scores, scale, soft-capping, additive mask, softmax and the value product
// in one pass per block of query rows, reading queries, keys and values in place through strides.

#ifdef __cplusplus
extern "C" {
#endif

/// One attention problem. Strides are in floats; the head dimension is contiguous in every operand. Query head
/// `h` reads key-value head `h / (heads / kv_heads)`.
typedef struct {
    long batch, heads, kv_heads, queries, keys, head_dim;
    const float *q;
    long q_batch, q_pos, q_head;
    const float *k;
    long k_batch, k_pos, k_head;
    const float *v;
    long v_batch, v_pos, v_head;
    /// The output, written as `[.., query, head, head_dim]` through its strides.
    float *z;
    long z_batch, z_pos, z_head;
    /// The additive mask, rows of `keys` floats for each query (`[*, queries, keys]`); `mask_batch` is 0 when
    /// every batch row shares one mask. NULL for none.
    const float *mask;
    long mask_batch;
    /// Multiplier of `q · k`.
    float scale;
    /// `softcap · tanh(s / softcap)` of the scaled scores before the mask when positive; 0 for none.
    float softcap;
} nn_attention_args;

/// The number of work items of a problem: one per (batch, head).
long nn_attention_item_count(const nn_attention_args *args);

/// Computes items [begin, end): for each query row, p = softmax(cap(scale · q·kᵀ) + mask) and z = p · v, the
/// same operations in the same order as the unfused composition (entries whose mask is -inf are skipped, as
/// their weight is exactly 0). A row that sees no key gets z = 0.
void nn_attention(const nn_attention_args *args, long begin, long end);

#ifdef __cplusplus
}
#endif
