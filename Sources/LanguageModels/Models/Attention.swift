/// Multi-head causal self-attention with grouped-query heads, optional rotary embeddings, q/k norms and a
/// sliding window: the attention of every supported family.
public struct Attention {
    public var query, key, value, output: Linear
    /// Norms of queries and keys: per head over the head dimension (RMSNorm in Qwen3 and Gemma-3, LayerNorm with
    /// bias in Phi), or an RMSNorm over the whole projection when ``normsSpanHeads`` (OLMo-2).
    public var queryNorm, keyNorm: Normalization?
    /// Whether ``queryNorm`` and ``keyNorm`` normalize all heads' projections together (`[heads × headDim]`,
    /// OLMo-2) instead of each head alone. With split q/k/v inputs each head's statistics then come from the
    /// projections of its own input (as if every head read it), so a head stays a function of its inputs.
    public var normsSpanHeads: Bool
    public var rotary: RotaryEmbedding?
    public var heads, keyValueHeads, headDim: Int
    /// Multiplier of `q · k` before the softmax, usually `1 / sqrt(headDim)`.
    public var scale: Float
    public var slidingWindow: Int?
    /// Attention logit soft-capping (Gemma-2's `attn_logit_softcapping`): the scaled scores become
    /// `softcap · tanh(scores / softcap)` before the mask, so `hook_attn_scores` sees them capped (as in
    /// TransformerLens). Nil for none.
    public var softcap: Float?
    /// The bound queries, keys and values are clamped to, `[-clip, clip]`, after the projections (and q/k norms)
    /// and before the rotation (OLMo's `clip_qkv`); `hook_q`, `hook_k` and `hook_v` see them before the clamp, as
    /// in TransformerLens. Nil for none.
    public var clip: Float?

    public init(query: Linear, key: Linear, value: Linear, output: Linear, queryNorm: Normalization? = nil,
                keyNorm: Normalization? = nil, normsSpanHeads: Bool = false, rotary: RotaryEmbedding? = nil, heads: Int,
                keyValueHeads: Int, headDim: Int, scale: Float, slidingWindow: Int? = nil, softcap: Float? = nil,
                clip: Float? = nil) {
        precondition(heads % keyValueHeads == 0, "\(heads) heads cannot share \(keyValueHeads) key-value heads")
        self.query = query; self.key = key; self.value = value; self.output = output
        self.queryNorm = queryNorm; self.keyNorm = keyNorm; self.normsSpanHeads = normsSpanHeads; self.rotary = rotary
        self.heads = heads; self.keyValueHeads = keyValueHeads; self.headDim = headDim
        self.scale = scale; self.slidingWindow = slidingWindow; self.softcap = softcap; self.clip = clip
    }

    /// Which query heads share which key-value head.
    public var grouping: HeadGrouping { HeadGrouping(heads: heads, keyValueHeads: keyValueHeads) }

    /// Each head's write into the residual stream before the output bias, `z_h · W_O[:, h]ᵀ`: `z` is
    /// `[batch, pos, heads, headDim]`, the result `[batch, pos, heads, dModel]` (TransformerLens' hook_result).
    ///
    /// One GEMM per head reads `z` and `W_O`'s column block in place (no per-head weight copy).
    public func headResults(_ z: Tensor) -> Tensor {
        z.groupedMatmul(output.weight, blocks: .columns)
    }

    /// This attention reduced to query head `head` and its key-value head, without the output bias: its
    /// output is that head's write into the residual stream. Nil when the q/k norms span the heads (the
    /// head's query then depends on every head's projection).
    func restricted(toHead head: Int) -> Attention? { restricted(toHeads: [head]) }

    /// This attention reduced to the query heads `heads` (in that order), which share one key-value head, and
    /// that key-value head, without the output bias: its ``headResults(_:)`` are those heads' writes into the
    /// residual stream. Nil when the q/k norms span the heads.
    func restricted(toHeads heads: [Int]) -> Attention? {
        guard !normsSpanHeads || (queryNorm == nil && keyNorm == nil) else { return nil }
        let group = grouping.keyValueHead(of: heads[0])
        precondition(heads.allSatisfy { grouping.keyValueHead(of: $0) == group }, "heads \(heads) do not share a key-value head")
        func block(_ linear: Linear, _ indices: [Int]) -> Linear {
            let rows = indices.flatMap { ($0 * headDim)..<(($0 + 1) * headDim) }
            return Linear(weight: linear.matrix.rows(rows), bias: linear.bias?.indexSelect(axis: 0, rows))
        }
        let outputColumns = heads.count == 1
            ? output.matrix.columns((heads[0] * headDim)..<((heads[0] + 1) * headDim))
            : Tensor.concatenate(heads.map { output.matrix.columns(($0 * headDim)..<(($0 + 1) * headDim)) }, axis: 1)
        return Attention(query: block(query, heads), key: block(key, [group]), value: block(value, [group]),
                         output: Linear(weight: outputColumns), queryNorm: queryNorm, keyNorm: keyNorm, rotary: rotary,
                         heads: heads.count, keyValueHeads: 1, headDim: headDim, scale: scale, slidingWindow: slidingWindow,
                         softcap: softcap, clip: clip)
    }

    /// Projects an input to per-head vectors `[batch, pos, groups, headDim]`.
    ///
    /// `input` is either the shared normalized residual `[batch, pos, d]` or one input per head
    /// `[batch, pos, groups, d]` (split inputs, for edge-level interventions).
    /// With `rows` (``AttentionContext/computedRows`` or ``AttentionContext/outputRows``), a dense projection runs on
    /// those rows of `[batch, pos, d]` only.
    func project(_ input: Tensor, with linear: Linear, groups: Int, rows: [Int]? = nil) -> Tensor {
        if input.rank == 4 { return linear.grouped(input, groups: groups) }
        return input.onRows(linear.isDense ? rows : nil) { linear($0) }.reshaped([input.shape[0], input.shape[1], groups, headDim])
    }

    /// Projects and normalizes queries or keys: `[batch, pos, groups, headDim]`, calling `hookName` on the
    /// projection before the norm (as TransformerLens' hook_q / hook_k).
    func normalizedProjection(_ input: Tensor, with linear: Linear, norm: Normalization?, groups: Int,
                              hooks: ForwardHooks?, hookName: String, rows: [Int]? = nil) -> Tensor {
        let projected = hooks.apply(hookName, project(input, with: linear, groups: groups, rows: rows))
        guard let norm else { return projected }
        guard normsSpanHeads else { return norm.normalize(projected) }
        let shape = projected.shape
        guard input.rank == 4 else {
            return projected.reshaped([shape[0], shape[1], groups * headDim]).rmsNorm(weight: norm.weight, epsilon: norm.epsilon)
                .reshaped(shape)
        }
        // Split inputs: group g is normalized with the statistics of every group's projection of group g's
        // input, its own block being the (hooked) projection.
        let blocks = (0..<groups).map { g -> Tensor in
            let all = linear(input.select(axis: 2, g)).reshaped(shape)
            let parts = (0..<groups).map { ($0 == g ? projected : all).slice(axis: 2, $0..<($0 + 1)) }
            return Tensor.concatenate(parts, axis: 2).reshaped([shape[0], shape[1], groups * headDim])
                .rmsNorm(weight: norm.weight, epsilon: norm.epsilon).reshaped(shape).slice(axis: 2, g..<(g + 1))
        }
        return Tensor.concatenate(blocks, axis: 2)
    }

    /// `x` clamped to ``clip`` (itself without one).
    private func clipped(_ x: Tensor) -> Tensor {
        clip.map { x.clamped(min: -$0, max: $0) } ?? x
    }

    /// Attends from the queries' input to the keys' and values' inputs (each already normalized).
    ///
    /// The queries sit at the keys' positions unless `queryPositions` (`[batch][queries]`, rotary positions) says
    /// otherwise: a reader of some positions only passes those rows of the input and their rows of `mask`.
    ///
    /// - Returns: the attention output `[batch, queries, dModel]` (hook_attn_out is the caller's).
    public func callAsFunction(queryInput: Tensor, keyInput: Tensor, valueInput: Tensor, context: AttentionContext,
                               mask: Tensor, cache: inout LayerKeyValueCache?, hooks: ForwardHooks?,
                               names: BlockHookNames, queryPositions: [[Int]]? = nil) -> Tensor {
        let batch = queryInput.shape[0], length = queryInput.shape[1]
        let z = headOutputs(queryInput: queryInput, keyInput: keyInput, valueInput: valueInput, context: context, mask: mask,
                            cache: &cache, hooks: hooks, names: names, queryPositions: queryPositions)
        if hooks.wants(names.result) {
            let hooked = hooks.apply(names.result, headResults(z))
            let summed = hooked.sum(axis: 2)
            return output.bias.map { summed + $0 } ?? summed
        }
        return z.reshaped([batch, length, heads * headDim]).onRows(output.isDense ? context.outputRows(of: queryInput) : nil) { output($0) }
    }

    /// The heads' outputs before the output projection, `hook_z` (`[batch, queries, heads, headDim]`), of
    /// ``callAsFunction(queryInput:keyInput:valueInput:context:mask:cache:hooks:names:queryPositions:)``.
    func headOutputs(queryInput: Tensor, keyInput: Tensor, valueInput: Tensor, context: AttentionContext, mask: Tensor,
                     cache: inout LayerKeyValueCache?, hooks: ForwardHooks?, names: BlockHookNames,
                     queryPositions: [[Int]]? = nil) -> Tensor {
        // As in TransformerLens, hook_q/hook_k see the projections before the q/k norms.
        let queryRows = context.outputRows(of: queryInput)
        var q = clipped(normalizedProjection(queryInput, with: query, norm: queryNorm, groups: heads, hooks: hooks, hookName: names.q,
                                             rows: queryRows))
        var k = clipped(normalizedProjection(keyInput, with: key, norm: keyNorm, groups: keyValueHeads, hooks: hooks, hookName: names.k,
                                             rows: context.computedRows(of: keyInput)))
        let v = clipped(hooks.apply(names.v, project(valueInput, with: value, groups: keyValueHeads, rows: context.computedRows(of: valueInput))))
        // hook_rot_q holds the queries as the scores read them: rotated and, with the rotary's query scaling
        // (Ministral 3), multiplied by their position's factor.
        if let rotary {
            q = hooks.apply(names.rotQ, rotary.apply(to: q, positions: queryPositions ?? context.positions, queries: true))
            k = hooks.apply(names.rotK, rotary.apply(to: k, positions: context.positions))
        }
        // Keys and values as the projections give them ([batch, pos, kvHeads, headDim]), or all cached ones.
        var keys = k, values = v, layout = AttentionLayout.positionMajor
        if var layerCache = cache {
            keys = layerCache.append(keys: k.permuted([0, 2, 1, 3]), values: v.permuted([0, 2, 1, 3]))
            values = layerCache.values!
            cache = layerCache
            layout = .headMajor
        }
        return hooks.apply(names.z, attend(q, keys, values, layout: layout, mask: mask, hooks: hooks, names: names))
    }

    /// `z` `[batch, pos, heads, headDim]` from queries `[batch, pos, heads, headDim]` and keys and values in
    /// `layout`, calling `hook_attn_scores` and `hook_pattern`. When neither is hooked and nothing is recorded for
    /// gradients, one fused kernel computes it (``fusedAttention(query:key:value:layout:mask:scale:softcap:)``,
    /// the same operations); otherwise the scores and pattern are materialized.
    private func attend(_ q: Tensor, _ keys: Tensor, _ values: Tensor, layout: AttentionLayout, mask: Tensor,
                        hooks: ForwardHooks?, names: BlockHookNames) -> Tensor {
        let keyCount = layout == .positionMajor ? keys.shape[1] : keys.shape[2]
        if !hooks.wants(names.attnScores), !hooks.wants(names.pattern), !(q.isTracked || keys.isTracked || values.isTracked),
           fusedAttentionAccepts(mask: mask, batch: q.shape[0], queries: q.shape[1], keys: keyCount) {
            return fusedAttention(query: q, key: keys, value: values, layout: layout, mask: mask, scale: scale, softcap: softcap)
        }
        // [batch, heads, pos, headDim]; grouped-query heads read their key-value head in place.
        let headKeys = layout == .positionMajor ? keys.permuted([0, 2, 1, 3]) : keys
        let headValues = layout == .positionMajor ? values.permuted([0, 2, 1, 3]) : values
        var scores = attentionScores(query: q.permuted([0, 2, 1, 3]), key: headKeys, scale: scale)
        if let softcap { scores = scores.softCapped(softcap) }
        scores = hooks.apply(names.attnScores, scores + mask)
        let pattern = hooks.apply(names.pattern, scores.softmax(axis: -1))
        return attentionOutput(pattern: pattern, value: headValues).permuted([0, 2, 1, 3])
    }
}

/// The keys and values one attention layer has seen, for incremental decoding.
public struct LayerKeyValueCache {
    /// `[batch, kvHeads, past, headDim]`, after rotary embedding.
    public private(set) var keys: Tensor?
    public private(set) var values: Tensor?

    public init() {}

    public var length: Int { keys?.shape[2] ?? 0 }

    /// Appends new keys and values along the position axis and returns all keys.
    mutating func append(keys newKeys: Tensor, values newValues: Tensor) -> Tensor {
        keys = keys.map { Tensor.concatenate([$0, newKeys], axis: 2) } ?? newKeys
        values = values.map { Tensor.concatenate([$0, newValues], axis: 2) } ?? newValues
        return keys!
    }
}
