
/// A stack of residual-stream vectors with a label per entry, e.g. the writes of every component.
public struct LabeledStack {
    /// `[entries, batch, pos, dModel]`.
    public let tensor: Tensor
    /// One label per entry: `embed`, `pos_embed`, `L3H7`, `3_attn_bias`, `3_attn_out`, `3_mlp_out`, `5_resid_pre`, `final_post`.
    public let labels: [String]
}

extension ActivationCache {
    /// The residual stream before each layer up to `layer` (all layers by default), then after the last
    /// block when `layer` is nil: TransformerLens' `accumulated_resid`.
    public func accumulatedResidual(upTo layer: Int? = nil, includingMid: Bool = false) throws -> LabeledStack {
        let last = try layer.map { try resolver.resolveLayer($0, in: "accumulatedResidual") } ?? model.layerCount
        var parts: [Tensor] = [], labels: [String] = []
        for l in 0..<last {
            parts.append(try activation("resid_pre", layer: l)); labels.append("\(l)_pre")
            if includingMid { parts.append(try activation("resid_mid", layer: l)); labels.append("\(l)_mid") }
        }
        if layer == nil { parts.append(try activation("resid_post", layer: -1)); labels.append("final_post") }
        return LabeledStack(tensor: Tensor.stack(parts), labels: labels)
    }

    /// The writes whose sum is the residual stream before `layer` (after the last block by default):
    /// embeddings, each head's output `z_h W_O[h]`, each attention output bias, each MLP output.
    ///
    /// With a post-attention norm (Gemma-2/3, OLMo-2) a head's write is `z_h W_O[h]` through that norm with its
    /// divisor frozen at this run's value (``TransformerBlock/headWrites(results:postNormDivisor:)``), and
    /// `{l}_attn_bias` is the output bias through it (plus the norm's bias): the parts still sum to the residual stream.
    ///
    /// Needs `hook_embed` (and `hook_pos_embed`), `attn.hook_z`, `hook_mlp_out` and, with post-attention norms,
    /// `ln1_post.hook_scale` in the cache.
    public func decomposedResidual(upTo layer: Int? = nil) throws -> LabeledStack {
        let last = try layer.map { try resolver.resolveLayer($0, in: "decomposedResidual") } ?? model.layerCount
        var parts = [try self[.embed]], labels = ["embed"]
        if model.positionEmbedding != nil { parts.append(try self[.posEmbed]); labels.append("pos_embed") }
        let shape = parts[0].shape
        for l in 0..<last {
            let block = model.blocks[l]
            let divisor = block.postAttentionNorm == nil ? nil : try self[.ln1PostScale(l)]
            let heads = block.headWrites(results: try headResults(layer: l), postNormDivisor: divisor)
            parts += (0..<heads.shape[2]).map { heads.select(axis: 2, $0) }
            labels += (0..<heads.shape[2]).map { "L\(l)H\($0)" }
            if let bias = block.attentionBiasWrite(postNormDivisor: divisor) {
                parts.append(bias.broadcast(to: shape)); labels.append("\(l)_attn_bias")
            }
            if model.hasMLPs { parts.append(try activation("mlp_out", layer: l)); labels.append("\(l)_mlp_out") }
        }
        return LabeledStack(tensor: Tensor.stack(parts), labels: labels)
    }

    /// Each head's write into the residual stream, `[batch, pos, heads, dModel]`, from the cached `hook_z`
    /// (or `hook_result` when it was cached).
    public func headResults(layer: Int) throws -> Tensor {
        let l = try resolver.resolveLayer(layer, in: "headResults")
        if let result = activations[HookPoint.result(l).name] { return result }
        return model.blocks[l].attention.headResults(try activation("z", layer: l))
    }

    /// Every head's write at every layer: `[layers * heads, batch, pos, dModel]`, labels `L{l}H{h}`.
    public func stackedHeadResults(upTo layer: Int? = nil) throws -> LabeledStack {
        let last = try layer.map { try resolver.resolveLayer($0, in: "stackedHeadResults") } ?? model.layerCount
        var parts: [Tensor] = [], labels: [String] = []
        for l in 0..<last {
            let (heads, headLabels) = try headParts(layer: l)
            parts += heads; labels += headLabels
        }
        return LabeledStack(tensor: Tensor.stack(parts), labels: labels)
    }

    /// Each head's write at `layer`, `[batch, pos, dModel]` each, labelled `L{l}H{h}`.
    private func headParts(layer l: Int) throws -> ([Tensor], [String]) {
        let heads = try headResults(layer: l)
        return ((0..<heads.shape[2]).map { heads.select(axis: 2, $0) }, (0..<heads.shape[2]).map { "L\(l)H\($0)" })
    }

    /// Applies the final norm to each entry of a stack *linearly*: centred (LayerNorm) and divided by the
    /// divisor cached from the real forward pass (`ln_final.hook_scale`), then multiplied by the gain.
    ///
    /// Summing the result over a complete decomposition, plus the norm's bias, gives `ln_final`'s output.
    /// Unlike TransformerLens' `apply_ln_to_stack`, the gain is applied here, because weights are used as
    /// the checkpoint has them (not folded).
    public func applyFinalNorm(_ stack: Tensor) throws -> Tensor {
        let divisor = try self[.finalScale]                               // [batch, pos, 1]
        return model.finalNorm.apply(stack, divisor: divisor)
    }
}
