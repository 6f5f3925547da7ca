/// What each head writes into the residual stream, also when a post-attention norm sits between the heads and
/// the residual add (Gemma-2/3 `post_attention_layernorm`, OLMo-2's norm after attention).
///
/// There the layer writes `postAttentionNorm(Σ_h result_h + b_O)`. With the norm's divisor `s` taken from the
/// same run's summed output (`ln1_post.hook_scale`), the norm is linear in its input, so
/// `write_h = g ⊙ result_h / s` (the gain `g` being Gemma's `1 + w` as stored), and the heads' writes plus the
/// bias part `g ⊙ b_O / s` (+ the norm's bias) sum exactly to `hook_attn_out`. The divisor is shared: a head's
/// write depends on every head of its layer through `s`, and in any run (clean, corrupted, patched) `s` is the
/// one that run computes.
extension TransformerBlock {
    /// The hook points whose cached values ``headWrites(results:postNormDivisor:)`` reads: `hook_result`, and
    /// `ln1_post.hook_scale` with a post-attention norm.
    public var headWritePoints: [HookPoint] {
        [.result(layer)] + (postAttentionNorm != nil ? [.ln1PostScale(layer)] : [])
    }

    /// Each head's write into the residual stream, `[..., heads, dModel]`, from the heads' results
    /// (`hook_result`, `[..., heads, dModel]`) and the post-attention norm's divisor of the same run
    /// (`ln1_post.hook_scale`, `[..., 1]`; ignored without a post-attention norm, where the write is the result).
    /// The output bias is not included (see ``attentionBiasWrite(postNormDivisor:)``).
    public func headWrites(results: Tensor, postNormDivisor: Tensor?) -> Tensor {
        guard let norm = postAttentionNorm else { return results }
        guard let postNormDivisor else { preconditionFailure("a post-attention norm's head writes need its divisor") }
        return norm.apply(results, divisor: postNormDivisor.unsqueezed(postNormDivisor.rank - 1))
    }

    /// The post-attention norm's divisor `[..., 1]` when the heads' results `[..., heads, dModel]` are all of one
    /// run: computed from their sum plus the output bias, as the block computes it. Nil without a post-attention norm.
    public func postAttentionNormDivisor(results: Tensor) -> Tensor? {
        guard let norm = postAttentionNorm else { return nil }
        let summed = results.sum(axis: results.rank - 2)
        return norm.divisor(attention.output.bias.map { summed + $0 } ?? summed)
    }

    /// The part of the attention's write that comes from no head, `[..., dModel]`: the output bias, or with a
    /// post-attention norm the output bias through the norm at the run's divisor (`[..., 1]`) plus the norm's
    /// bias. Nil when there is none.
    public func attentionBiasWrite(postNormDivisor: Tensor?) -> Tensor? {
        guard let norm = postAttentionNorm else { return attention.output.bias }
        guard let postNormDivisor else { preconditionFailure("a post-attention norm's bias write needs its divisor") }
        let bias = attention.output.bias.map { norm.apply($0.broadcast(to: Array(postNormDivisor.shape.dropLast()) + [$0.count]),
                                                           divisor: postNormDivisor) }
        switch (bias, norm.bias) {
        case let (b?, n?): return b + n
        case let (b?, nil): return b
        case let (nil, n?): return n.broadcast(to: Array(postNormDivisor.shape.dropLast()) + [n.count])
        case (nil, nil): return nil
        }
    }

    /// Every head's `hook_result` `[batch, pos, heads, dModel]` in one attention pass, when each query head reads
    /// its own residual stream (`queryInputs`, `[batch, pos, heads, dModel]`) and each key-value head its own
    /// (`keyInputs`, `valueInputs`, `[batch, pos, kvHeads, dModel]`), each normalized by `ln1` here: TransformerLens'
    /// split q/k/v inputs. Heads whose q/k norms span all heads (OLMo-2) need no separate pass per head.
    public func headResults(queryInputs: Tensor, keyInputs: Tensor, valueInputs: Tensor, context: AttentionContext,
                            mask: Tensor) -> Tensor {
        func norm(_ x: Tensor) -> Tensor { ln1.map { $0(x, hooks: nil, scaleName: names.ln1Scale, normalizedName: names.ln1Normalized) } ?? x }
        let hooks = ForwardHooks()
        hooks.cache([names.z])
        var cache: LayerKeyValueCache?
        _ = attention(queryInput: norm(queryInputs), keyInput: norm(keyInputs), valueInput: norm(valueInputs),
                      context: context, mask: mask, cache: &cache, hooks: hooks, names: names)
        return attention.headResults(hooks.cached[names.z]!)
    }
}

extension Normalization {
    /// The per-row divisor this norm applies to `x` (`hook_scale`): `sqrt(mean(x²) + ε)` for RMSNorm,
    /// `sqrt(var(x) + ε)` for LayerNorm, shaped `[..., 1]`.
    public func divisor(_ x: Tensor) -> Tensor {
        let (_, inverse) = kind == .layerNorm ? x.layerNormWithScale(epsilon: epsilon) : x.rmsNormWithScale(epsilon: epsilon)
        return Tensor(1) / inverse
    }
}
