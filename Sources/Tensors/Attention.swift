// Scaled dot-product attention with causal and padding masks and grouped-query heads, built from
// differentiable ``Tensor/matmul(_:transposeSelf:transposeOther:)`` and ``Tensor/softmax(axis:)``.
//
// The pieces are public so that a model can expose the hooks between them:
//
// ```swift
// var scores = attentionScores(query: q, key: k)                 // hook_attn_scores
// scores = scores + attentionMask(queryCount: nq, keyCount: nk, paddingMask: padding)
// let pattern = scores.softmax()                                  // hook_pattern
// let z = attentionOutput(pattern: pattern, value: v)             // hook_z (heads first)
// ```
//
// Shapes: query `[batch, heads, queryPos, headDim]`, key and value `[batch, kvHeads, keyPos, headDim]`
// where `kvHeads` divides `heads` (query head `h` reads key/value head `h / (heads / kvHeads)`, as
// Hugging Face's `repeat_kv`), scores and pattern `[batch, heads, queryPos, keyPos]`.

/// The additive attention mask: 0 where a query may attend to a key, `-inf` where it may not.
///
/// With `causal`, query `i` sees keys `j <= i + keyCount - queryCount` (queries are the last positions).
/// `paddingMask` is `[batch, keyCount]` with 1 for real tokens and 0 for padding; padding keys are hidden.
/// With a `slidingWindow` `w`, a query also does not see keys `w` or more positions behind it.
/// The result is `[batch, 1, queryCount, keyCount]` (batch 1 without a padding mask), ready to add to
/// scores. A query that sees no key at all gets a zero row from ``Tensor/softmax(axis:)``.
public func attentionMask(queryCount: Int, keyCount: Int, paddingMask: Tensor? = nil, causal: Bool = true,
                          slidingWindow: Int? = nil) -> Tensor {
    precondition(queryCount <= keyCount || !causal, "causal attention needs queryCount <= keyCount")
    let batch = paddingMask?.shape[0] ?? 1
    if let paddingMask {
        precondition(paddingMask.shape == [batch, keyCount], "padding mask must be [batch, \(keyCount)], got \(paddingMask.shape)")
    }
    let offset = keyCount - queryCount
    return Tensor.build(shape: [batch, 1, queryCount, keyCount]) { out in
        for b in 0..<batch {
            for i in 0..<queryCount {
                for j in 0..<keyCount {
                    let hidden = (causal && j > i + offset) || paddingMask?.scalars[b * keyCount + j] == 0
                        || slidingWindow.map { i + offset - j >= $0 } == true
                    out[(b * queryCount + i) * keyCount + j] = hidden ? -Float.infinity : 0
                }
            }
        }
    }
}

/// `query · keyᵀ * scale`, `[batch, heads, queryPos, keyPos]`; `scale` defaults to `1 / sqrt(headDim)`.
public func attentionScores(query: Tensor, key: Tensor, scale: Float? = nil) -> Tensor {
    let groups = AttentionGroups(query: query, keyOrValue: key)
    let scores = groups.grouped(query).matmul(key.unsqueezed(2), transposeOther: true)
    return groups.ungrouped(scores) * (scale ?? 1 / Float(query.shape[3]).squareRoot())
}

/// `pattern · value`, `[batch, heads, queryPos, headDim]`.
public func attentionOutput(pattern: Tensor, value: Tensor) -> Tensor {
    let groups = AttentionGroups(query: pattern, keyOrValue: value)
    return groups.ungrouped(groups.grouped(pattern).matmul(value.unsqueezed(2)))
}

/// Masked softmax attention; returns the output `[batch, heads, queryPos, headDim]` and the pattern.
///
/// ```swift
/// let (z, pattern) = scaledDotProductAttention(query: q, key: k, value: v, paddingMask: padding)
/// ```
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, paddingMask: Tensor? = nil,
                                      causal: Bool = true, scale: Float? = nil) -> (output: Tensor, pattern: Tensor) {
    let scores = attentionScores(query: query, key: key, scale: scale)
    let mask = attentionMask(queryCount: query.shape[2], keyCount: key.shape[2], paddingMask: paddingMask, causal: causal)
    let pattern = (scores + mask).softmax(axis: -1)
    return (attentionOutput(pattern: pattern, value: value), pattern)
}

/// Views `[batch, heads, rows, cols]` as `[batch, kvHeads, heads / kvHeads, rows, cols]` so that one
/// key/value head (unsqueezed at axis 2) broadcasts over its group of query heads without copies.
private struct AttentionGroups {
    let batch: Int, heads: Int, kvHeads: Int

    init(query: Tensor, keyOrValue: Tensor) {
        precondition(query.rank == 4 && keyOrValue.rank == 4, "attention operands must be rank 4, got \(query.shape) and \(keyOrValue.shape)")
        batch = query.shape[0]
        heads = query.shape[1]
        kvHeads = keyOrValue.shape[1]
        precondition(keyOrValue.shape[0] == batch, "attention batch sizes differ: \(query.shape) vs \(keyOrValue.shape)")
        precondition(kvHeads > 0 && heads % kvHeads == 0, "\(kvHeads) key/value heads do not divide \(heads) query heads")
    }

    func grouped(_ x: Tensor) -> Tensor {
        x.reshaped([batch, kvHeads, heads / kvHeads, x.shape[2], x.shape[3]])
    }

    func ungrouped(_ x: Tensor) -> Tensor {
        x.reshaped([batch, heads, x.shape[3], x.shape[4]])
    }
}
