extension TransformerModel {
    /// Why edge-level circuit discovery cannot run on this model, or nil when it can.
    ///
    /// The edge graph treats each head's `hook_result` and each MLP's `hook_mlp_out` as writes that add up in the
    /// residual stream, and each MLP as reading `resid_mid` (its own layer's heads included). A post-attention norm
    /// breaks the first (the layer writes `postAttentionNorm(Σ heads + bias)`), a parallel block the second (its
    /// MLP reads `resid_pre`). Literal path patching, activation patching and attribution patching do not rely on
    /// either and run on every model.
    public var edgeGraphLimitation: String? {
        if blocks.contains(where: { $0.postAttentionNorm != nil }) {
            return "its attention outputs pass through a post-attention norm (Gemma-2/3, OLMo-2): a layer writes "
                + "postAttentionNorm(sum of head results), not the sum of its heads' writes, so heads are not separate senders"
        }
        if blocks.contains(where: \.parallelResidual) {
            return "its attention and MLP run in parallel (GPT-NeoX use_parallel_residual): each MLP reads resid_pre, "
                + "not its own layer's heads, which the edge graph does not model"
        }
        return nil
    }
}
