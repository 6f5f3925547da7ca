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
        let batch = residual.shape[0], keyCount = mask.shape[3]
        let rowMask = mask.reshaped([batch, mask.shape[2], keyCount]).gather(positions: rows).reshaped([batch, 1, 1, keyCount])
        var keyValues = cache
        var attended = attention(queryInput: normalized.gather(positions: rows), keyInput: normalized, valueInput: normalized,
                                 context: context, mask: rowMask, cache: &keyValues, hooks: nil, names: names,
                                 queryPositions: rows.enumerated().map { [context.positions[$0.offset][$0.element]] })
        if let postAttentionNorm {
            attended = postAttentionNorm(attended, hooks: nil, scaleName: names.ln1PostScale, normalizedName: names.ln1PostNormalized)
        }
        let residPre = residual.gather(positions: rows)
        if parallelResidual, let mlpOut = mlpOutput(residPre) { return residPre + attended + mlpOut }
        let residMid = residPre + attended
        return mlpOutput(residMid).map { residMid + $0 } ?? residMid
    }
}
