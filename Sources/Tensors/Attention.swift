import CKernels

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

/// How keys and values are laid out for ``fusedAttention(query:key:value:layout:mask:scale:softcap:)``.
public enum AttentionLayout: Sendable {
    /// `[batch, pos, kvHeads, headDim]`, as the projections give them.
    case positionMajor
    /// `[batch, kvHeads, pos, headDim]`, as a key-value cache holds them.
    case headMajor
}

/// Whether ``fusedAttention(query:key:value:layout:mask:scale:softcap:)`` takes `mask`: `[1 or batch, 1, queries, keys]`.
public func fusedAttentionAccepts(mask: Tensor?, batch: Int, queries: Int, keys: Int) -> Bool {
    guard let mask else { return true }
    return mask.rank == 4 && (mask.shape[0] == 1 || mask.shape[0] == batch) && mask.shape[1] == 1
        && mask.shape[2] == queries && mask.shape[3] == keys
}

/// Masked softmax attention in one pass, `z = softmax(cap(scale · q·kᵀ) + mask) · v` with `cap(s) = softcap ·
/// tanh(s / softcap)` when a `softcap` is given, computed per block of query rows without materializing the
/// scores of the whole batch, reading `q`, `k` and `v` in place (no permuted copies).
///
/// The operations and their order are those of ``attentionScores(query:key:scale:)``, `softCapped`, `+ mask`,
/// ``Tensor/softmax(axis:)`` and ``attentionOutput(pattern:value:)``; keys a row's mask hides (-inf) are
/// skipped, as their weight is exactly 0 (a causal mask halves the work). Not recorded on a gradient tape: use
/// the unfused pieces to differentiate or to see the scores and pattern.
///
/// - Parameters:
///   - query: `[batch, queries, heads, headDim]`.
///   - key, value: `[batch, keys, kvHeads, headDim]` or `[batch, kvHeads, keys, headDim]` (`layout`).
///   - mask: additive, `[1 or batch, 1, queries, keys]`, or nil.
/// - Returns: `z`, `[batch, queries, heads, headDim]`.
public func fusedAttention(query: Tensor, key: Tensor, value: Tensor, layout: AttentionLayout, mask: Tensor?,
                           scale: Float, softcap: Float? = nil) -> Tensor {
    precondition(query.rank == 4 && key.rank == 4 && key.shape == value.shape,
                 "fused attention needs rank-4 query, key and value of one shape, got \(query.shape), \(key.shape), \(value.shape)")
    let batch = query.shape[0], queries = query.shape[1], heads = query.shape[2], headDim = query.shape[3]
    let keys = layout == .positionMajor ? key.shape[1] : key.shape[2]
    let kvHeads = layout == .positionMajor ? key.shape[2] : key.shape[1]
    precondition(key.shape[0] == batch && key.shape[3] == headDim && kvHeads > 0 && heads % kvHeads == 0,
                 "keys \(key.shape) do not fit queries \(query.shape)")
    precondition(fusedAttentionAccepts(mask: mask, batch: batch, queries: queries, keys: keys),
                 "fused attention mask must be [1 or \(batch), 1, \(queries), \(keys)], got \(mask?.shape ?? [])")
    guard query.count > 0 else { return query.detached }
    guard keys > 0 else { return Tensor.zeros(query.shape) }
    var args = nn_attention_args()
    args.batch = batch; args.heads = heads; args.kv_heads = kvHeads; args.queries = queries; args.keys = keys
    args.head_dim = headDim
    (args.q_batch, args.q_pos, args.q_head) = (queries * heads * headDim, heads * headDim, headDim)
    (args.z_batch, args.z_pos, args.z_head) = (args.q_batch, args.q_pos, args.q_head)
    let keyStrides = layout == .positionMajor ? (keys * kvHeads * headDim, kvHeads * headDim, headDim)
                                              : (kvHeads * keys * headDim, headDim, keys * headDim)
    (args.k_batch, args.k_pos, args.k_head) = keyStrides
    (args.v_batch, args.v_pos, args.v_head) = keyStrides
    args.mask_batch = mask.map { $0.shape[0] == 1 ? 0 : queries * keys } ?? 0
    args.scale = scale
    args.softcap = softcap ?? 0
    let work = batch * heads * queries * keys * headDim
    return Tensor.build(shape: query.shape) { out in
        query.scalars.withUnsafeBufferPointer { q in
            key.scalars.withUnsafeBufferPointer { k in
                value.scalars.withUnsafeBufferPointer { v in
                    withScalarsIfPresent(mask) { m in
                        var problem = args
                        problem.q = q.baseAddress; problem.k = k.baseAddress; problem.v = v.baseAddress
                        problem.mask = m; problem.z = out.baseAddress
                        let items = nn_attention_item_count(&problem)
                        let shared = problem
                        Parallel.forRanges(items, work: work) { range in
                            withUnsafePointer(to: shared) { nn_attention($0, range.lowerBound, range.upperBound) }
                        }
                    }
                }
            }
        }
    }
}
