extension TransformerModel {
    /// Why edge-level circuit discovery cannot run on this model, or nil when it can.
    ///
    /// The edge graph treats each head's `hook_result` and each MLP's `hook_mlp_out` as writes that add up in the
    /// residual stream. A post-attention norm breaks this (the layer writes `postAttentionNorm(Σ heads + bias)`).
    /// Parallel blocks are described (their MLP reads `resid_pre`, see ``TransformerBlock/mlpReadsAttentionOutput``),
    /// and a post-MLP norm only changes what the MLP node writes. Literal path patching, activation patching and
    /// attribution patching do not rely on the sum and run on every model.
    public var edgeGraphLimitation: String? {
        if blocks.contains(where: { $0.postAttentionNorm != nil }) {
            return "its attention outputs pass through a post-attention norm (Gemma-2/3, OLMo-2): a layer writes "
                + "postAttentionNorm(sum of head results), not the sum of its heads' writes, so heads are not separate senders"
        }
        return nil
    }
}
