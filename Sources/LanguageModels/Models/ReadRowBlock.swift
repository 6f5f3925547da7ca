import Tensors

extension TransformerBlock {
    /// The block's output (`resid_post`) at one position per sequence, `[batch, 1, dModel]`, when its input is
    /// `residual` `[batch, pos, dModel]` (after the keys and values of `cache`, if any): what a later reader of
    /// that position alone (the logits at a read position) needs from the last block.
    ///
    /// Every position's keys and values are computed, but only the positions `rows` (one index into `pos` per
    /// sequence) are queried, and the output projection, the norms and the MLP run on those rows only. Each
    /// value is the one ``callAsFunction(_:context:mask:cache:hooks:)`` gives at that position, up to float
    /// rounding of the smaller products.
    public func output(atRows rows: [Int], residual: Tensor, context: AttentionContext, mask: Tensor,
                       cache: LayerKeyValueCache?) -> Tensor {
        precondition(rows.count == residual.shape[0], "one row per sequence: \(rows.count) rows for \(residual.shape[0]) sequences")
        let normalized = ln1.map { $0(residual, hooks: nil, scaleName: names.ln1Scale, normalizedName: names.ln1Normalized) } ?? residual
        var attended = attention.attend(fromRows: rows, input: normalized, context: context, mask: mask, cache: cache)
        if let postAttentionNorm {
            attended = postAttentionNorm(attended, hooks: nil, scaleName: names.ln1PostScale, normalizedName: names.ln1PostNormalized)
        }
        let residPre = residual.gather(positions: rows)
        if parallelResidual, let mlpOut = mlpOutput(residPre) { return residPre + attended + mlpOut }
        let residMid = residPre + attended
        return mlpOutput(residMid).map { residMid + $0 } ?? residMid
    }
}

extension Attention {
    /// The attention output `[batch, 1, dModel]` of the queries at positions `rows` (one per sequence) of the
    /// normalized input `[batch, pos, dModel]`, attending to the keys and values of `cache` and of every position
    /// of the input; `mask` is the additive mask of the whole input `[batch, 1, pos, past + pos]`.
    func attend(fromRows rows: [Int], input: Tensor, context: AttentionContext, mask: Tensor, cache: LayerKeyValueCache?) -> Tensor {
        let batch = input.shape[0], keyCount = mask.shape[3]
        var q = normalizedProjection(input.gather(positions: rows), with: query, norm: queryNorm, groups: heads, hooks: nil, hookName: "")
        var k = normalizedProjection(input, with: key, norm: keyNorm, groups: keyValueHeads, hooks: nil, hookName: "")
        let v = project(input, with: value, groups: keyValueHeads)
        if let rotary {
            q = rotary.apply(to: q, positions: rows.enumerated().map { [context.positions[$0.offset][$0.element]] })
            k = rotary.apply(to: k, positions: context.positions)
        }
        var keys = k.permuted([0, 2, 1, 3]), values = v.permuted([0, 2, 1, 3])
        if let pastKeys = cache?.keys, let pastValues = cache?.values {
            keys = Tensor.concatenate([pastKeys, keys], axis: 2)
            values = Tensor.concatenate([pastValues, values], axis: 2)
        }
        var scores = attentionScores(query: q.permuted([0, 2, 1, 3]), key: keys, scale: scale)
        if let softcap { scores = scores.softCapped(softcap) }
        let rowMask = mask.reshaped([batch, mask.shape[2], keyCount]).gather(positions: rows).reshaped([batch, 1, 1, keyCount])
        let pattern = (scores + rowMask).softmax(axis: -1)
        let z = attentionOutput(pattern: pattern, value: values).permuted([0, 2, 1, 3])
        return output(z.reshaped([batch, 1, heads * headDim]))
    }
}
