/// One decoder block. In its usual (sequential, pre-norm) form `resid_mid = resid_pre + attn(ln1(resid_pre))`
/// and `resid_post = resid_mid + mlp(ln2(resid_mid))`; attention-only blocks have no MLP
/// (`resid_post = resid_mid`).
///
/// Options of the other families:
/// - ``parallelResidual`` (GPT-NeoX `use_parallel_residual`): attention and MLP both read `resid_pre`,
///   `resid_post = resid_pre + attn_out + mlp_out`; there is no `hook_resid_mid`, and `hook_mlp_in` is `resid_pre`.
/// - ``postAttentionNorm`` / ``postFeedForwardNorm`` (Gemma-2/3, OLMo-2): normalize the attention / MLP output
///   before it is added to the residual stream; `hook_attn_out` / `hook_mlp_out` are after them (TransformerLens'
///   `ln1_post` / `ln2_post`).
/// - No pre-norms (OLMo-2): ``ln1`` / ``ln2`` nil, the attention / MLP read the residual stream itself.
///
/// Besides the forward pass, the block computes its parts alone for circuit analyses (``headResult(_:queryInput:keyInput:valueInput:context:mask:)``,
/// ``mlpOutput(_:)``, ``attentionInputGradients(at:projectionGradients:)``) and says which residual stream
/// each part reads (``mlpReadsAttentionOutput``), so that analyses need not know how the block is built.
public struct TransformerBlock {
    /// The attention's input norm; nil when the attention reads the residual stream itself (OLMo-2).
    public var ln1: Normalization?
    /// The MLP's input norm; nil in an attention-only block or when the MLP reads the residual stream itself.
    public var ln2: Normalization?
    public var attention: Attention
    /// The MLP; nil in an attention-only block or when the MLP is a ``mixture``.
    public var mlp: FeedForward?
    /// The mixture-of-experts MLP (OLMoE) in place of a dense ``mlp``; it is the block's MLP node everywhere (its
    /// input `hook_mlp_in`, its write `hook_mlp_out`).
    public var mixture: MixtureOfExperts?
    /// Whether attention and MLP read the same `resid_pre` (GPT-NeoX / Pythia's parallel block).
    public var parallelResidual: Bool
    /// Applied to the attention output before the residual add (Gemma-2/3 `post_attention_layernorm`).
    public var postAttentionNorm: Normalization?
    /// Applied to the MLP output before the residual add (Gemma-2/3 and OLMo-2 `post_feedforward_layernorm`).
    public var postFeedForwardNorm: Normalization?
    /// The block's index in the model.
    public let layer: Int
    /// The hook point names of this block.
    public let names: BlockHookNames

    public init(layer: Int, ln1: Normalization?, attention: Attention, ln2: Normalization?, mlp: FeedForward?,
                mixture: MixtureOfExperts? = nil, parallelResidual: Bool = false, postAttentionNorm: Normalization? = nil,
                postFeedForwardNorm: Normalization? = nil) {
        precondition(mlp == nil || mixture == nil, "a block has a dense MLP or a mixture of experts, not both")
        let hasMLP = mlp != nil || mixture != nil
        precondition(hasMLP || (ln2 == nil && postFeedForwardNorm == nil), "an MLP norm needs its MLP")
        precondition(hasMLP || !parallelResidual, "a parallel block needs an MLP")
        self.ln1 = ln1; self.attention = attention; self.ln2 = ln2; self.mlp = mlp; self.mixture = mixture
        self.parallelResidual = parallelResidual
        self.postAttentionNorm = postAttentionNorm; self.postFeedForwardNorm = postFeedForwardNorm
        self.layer = layer
        names = BlockHookNames(layer: layer)
    }

    /// Runs the block on the residual stream `[batch, pos, dModel]`.
    public func callAsFunction(_ residual: Tensor, context: AttentionContext, mask: Tensor,
                               cache: inout LayerKeyValueCache?, hooks: ForwardHooks?) -> Tensor {
        let residPre = hooks.apply(names.residPre, residual)
        let (qIn, kIn, vIn) = attentionInputs(residPre, hooks: hooks)
        var attended = attention(queryInput: qIn, keyInput: kIn, valueInput: vIn, context: context, mask: mask,
                                 cache: &cache, hooks: hooks, names: names)
        if let postAttentionNorm {
            attended = postAttentionNorm(attended, hooks: hooks, scaleName: names.ln1PostScale,
                                         normalizedName: names.ln1PostNormalized)
        }
        let attnOut = hooks.apply(names.attnOut, attended)
        if parallelResidual {
            let mlpOut = hooks.apply(names.mlpOut, feedForward(hooks.apply(names.mlpIn, residPre), context: context, hooks: hooks))
            return hooks.apply(names.residPost, residPre + attnOut + mlpOut)
        }
        let residMid = hooks.apply(names.residMid, residPre + attnOut)
        guard hasMLP else { return hooks.apply(names.residPost, residMid) }
        let mlpOut = hooks.apply(names.mlpOut, feedForward(hooks.apply(names.mlpIn, residMid), context: context, hooks: hooks))
        return hooks.apply(names.residPost, residMid + mlpOut)
    }

    /// The hook points this block calls, in forward order (optional ones included).
    public var hookPoints: [HookPoint] {
        let l = layer
        var points: [HookPoint] = [.residPre(l), .qInput(l), .kInput(l), .vInput(l)]
        if ln1 != nil { points += [.ln1Scale(l), .ln1Normalized(l)] }
        points += [.q(l), .k(l), .v(l)]
        if attention.rotary != nil { points += [.rotQ(l), .rotK(l)] }
        points += [.attnScores(l), .pattern(l), .z(l), .result(l)]
        if postAttentionNorm != nil { points += [.ln1PostScale(l), .ln1PostNormalized(l)] }
        points.append(.attnOut(l))
        if !parallelResidual { points.append(.residMid(l)) }
        if hasMLP {
            points.append(.mlpIn(l))
            if ln2 != nil { points += [.ln2Scale(l), .ln2Normalized(l)] }
            if mixture != nil { points += [.routerLogits(l), .expertWeights(l), .expertIndices(l), .topKWeights(l)] }
            if let mlp {
                points.append(.mlpPre(l))
                if mlp.gate != nil { points.append(.mlpPreLinear(l)) }
                points.append(.mlpPost(l))
            }
            if postFeedForwardNorm != nil { points += [.ln2PostScale(l), .ln2PostNormalized(l)] }
            points.append(.mlpOut(l))
        }
        points.append(.residPost(l))
        return points
    }

    /// Whether the block has an MLP, dense or a mixture of experts (false in an attention-only block).
    public var hasMLP: Bool { mlp != nil || mixture != nil }

    /// Whether the MLP reads this block's attention output (`resid_mid`); false in a parallel block, whose MLP
    /// reads the block input like the heads do. This decides which senders feed the MLP in a circuit graph.
    public var mlpReadsAttentionOutput: Bool { !parallelResidual }

    /// The residual stream the MLP reads: `resid_mid`, or `resid_pre` in a parallel block.
    public var mlpInputPoint: HookPoint { parallelResidual ? .residPre(layer) : .residMid(layer) }

    /// `ln2`, the MLP and the post-MLP norm on the MLP's input: the MLP's write into the residual stream.
    /// With ``AttentionContext/outputRows`` or ``AttentionContext/computedRows``, a dense MLP whose inner points no
    /// hook wants runs on those rows only. A mixture of experts does whatever its weights' type: its tokens are routed
    /// one by one, and its products' row counts (each expert's tokens) differ between row sets anyway.
    private func feedForward(_ input: Tensor, context: AttentionContext, hooks: ForwardHooks?) -> Tensor {
        let inner = [names.ln2Scale, names.ln2Normalized, names.mlpPre, names.mlpPreLinear, names.mlpPost, names.ln2PostScale,
                     names.ln2PostNormalized, names.routerLogits, names.expertWeights, names.expertIndices, names.topKWeights]
        let dense = mlp.map { $0.input.isDense && $0.output.isDense && $0.gate?.isDense != false } ?? true
        let expertHooked = mixture?.expertHookPointNames.contains { hooks.wants($0) } ?? false
        let rows = dense && !expertHooked && !inner.contains(where: { hooks.wants($0) }) ? context.outputRows(of: input) : nil
        return input.onRows(rows) { feedForward($0, hooks: hooks) }
    }

    private func feedForward(_ input: Tensor, hooks: ForwardHooks?) -> Tensor {
        let normalized = ln2.map { $0(input, hooks: hooks, scaleName: names.ln2Scale, normalizedName: names.ln2Normalized) } ?? input
        let output = mixture.map { $0(normalized, hooks: hooks, names: names) } ?? mlp!(normalized, hooks: hooks, names: names)
        guard let postFeedForwardNorm else { return output }
        return postFeedForwardNorm(output, hooks: hooks, scaleName: names.ln2PostScale, normalizedName: names.ln2PostNormalized)
    }

    /// `ln1` on an attention input (the identity without a pre-norm).
    private func attentionNorm(_ x: Tensor, hooks: ForwardHooks?) -> Tensor {
        ln1.map { $0(x, hooks: hooks, scaleName: names.ln1Scale, normalizedName: names.ln1Normalized) } ?? x
    }

    /// The normalized inputs of the query, key and value projections.
    ///
    /// When a hook or cache wants `hook_q_input`, `hook_k_input` or `hook_v_input`, each head reads its own
    /// copy of the residual stream (`[batch, pos, heads, dModel]`, TransformerLens' split q/k/v input) and
    /// `ln1` normalizes each copy; otherwise all heads share one normalized residual.
    func attentionInputs(_ residPre: Tensor, hooks: ForwardHooks?) -> (Tensor, Tensor, Tensor) {
        let split = hooks.wants(names.qInput) || hooks.wants(names.kInput) || hooks.wants(names.vInput)
        guard split else {
            let shared = attentionNorm(residPre, hooks: hooks)
            return (shared, shared, shared)
        }
        func perHead(_ name: String, _ count: Int) -> Tensor {
            let copies = residPre.unsqueezed(2).broadcast(to: [residPre.shape[0], residPre.shape[1], count, residPre.shape[2]])
            return attentionNorm(hooks.apply(name, copies), hooks: hooks)
        }
        return (perHead(names.qInput, attention.heads), perHead(names.kInput, attention.keyValueHeads),
                perHead(names.vInput, attention.keyValueHeads))
    }

    /// One head's `hook_result` (its `z · W_O` block, without the output bias) when its query, key and value
    /// inputs are the residual streams `[batch, pos, dModel]` given (each normalized by `ln1` here, as with
    /// split q/k/v inputs): a node of the edge graph, computed alone.
    ///
    /// Without a ``postAttentionNorm`` this is the head's write into the residual stream, and the heads' results
    /// plus the output bias sum to `hook_attn_out`. With one (Gemma-2/3, OLMo-2) it is the head's contribution
    /// *before* the post-attention norm, as TransformerLens' `hook_result`: the layer writes
    /// `postAttentionNorm(Σ heads + bias)`, whose split into per-head writes needs every head's result
    /// (``headWrites(results:postNormDivisor:)``, ``headResults(queryInputs:keyInputs:valueInputs:context:mask:)``).
    /// When the q/k norms span all heads (OLMo-2) the head's query and key are normalized with every head's
    /// projection of its inputs.
    public func headResult(_ head: Int, queryInput: Tensor, keyInput: Tensor, valueInput: Tensor,
                           context: AttentionContext, mask: Tensor) -> Tensor {
        let (q, k, v) = (attentionNorm(queryInput, hooks: nil), attentionNorm(keyInput, hooks: nil), attentionNorm(valueInput, hooks: nil))
        var cache: LayerKeyValueCache?
        if let single = attention.restricted(toHead: head) {
            return single(queryInput: q, keyInput: k, valueInput: v, context: context, mask: mask, cache: &cache,
                          hooks: nil, names: names)
        }
        let hooks = ForwardHooks()
        hooks.cache([names.z])
        _ = attention(queryInput: q, keyInput: k, valueInput: v, context: context, mask: mask, cache: &cache,
                      hooks: hooks, names: names)
        return attention.headResults(hooks.cached[names.z]!).select(axis: 2, head)
    }

    /// ``headResult(_:queryInput:keyInput:valueInput:context:mask:)`` for query heads `heads` that share one
    /// key-value head, in one attention pass: each head reads its own query input (`queryInputs`,
    /// `[batch, pos, heads.count, dModel]`), all of them the key and value inputs `[batch, pos, dModel]`, whose keys
    /// and values are projected once (when the q/k norms span the heads, one pass per head). Returns
    /// `[batch, pos, heads.count, dModel]`, or with `cells` (flat `row · pos + position` indices) only those,
    /// `[cells.count, heads.count, dModel]`.
    public func headResults(_ heads: [Int], queryInputs: Tensor, keyInput: Tensor, valueInput: Tensor,
                            context: AttentionContext, mask: Tensor, cells: [Int]? = nil) -> Tensor {
        guard let group = attention.restricted(toHeads: heads) else {
            let results = Tensor.stack(heads.indices.map {
                headResult(heads[$0], queryInput: queryInputs.select(axis: 2, $0), keyInput: keyInput, valueInput: valueInput,
                           context: context, mask: mask)
            }, axis: 2)
            return cells.map { results.reshaped([-1, heads.count, results.shape[3]]).indexSelect(axis: 0, $0) } ?? results
        }
        var cache: LayerKeyValueCache?
        let z = group.headOutputs(queryInput: attentionNorm(queryInputs, hooks: nil), keyInput: attentionNorm(keyInput, hooks: nil),
                                  valueInput: attentionNorm(valueInput, hooks: nil), context: context, mask: mask, cache: &cache,
                                  hooks: nil, names: names)
        return group.headResults(cells.map { z.reshaped([-1, heads.count, attention.headDim]).indexSelect(axis: 0, $0) } ?? z)
    }

    /// The MLP's write into the residual stream (`hook_mlp_out`: `ln2`, the MLP and the post-MLP norm) for the
    /// MLP input `[batch, pos, dModel]` — `resid_mid`, or `resid_pre` in a ``parallelResidual`` block — or nil in
    /// an attention-only block.
    public func mlpOutput(_ input: Tensor) -> Tensor? {
        hasMLP ? feedForward(input, hooks: nil) : nil
    }

    /// The hook points (the query, key and value projections' outputs) whose gradients
    /// ``attentionInputGradients(at:projectionGradients:)`` takes back to the residual stream, in that order.
    /// When the q/k norms span all heads (OLMo-2) a head's query depends on every head's projection of its
    /// input, so these are the split inputs themselves (`hook_q_input`, `hook_k_input`, `hook_v_input`).
    public var attentionGradientPoints: [HookPoint] {
        spanningNorms ? [.qInput(layer), .kInput(layer), .vInput(layer)] : [.q(layer), .k(layer), .v(layer)]
    }

    /// Whether the attention has q/k norms over all heads' projections together.
    private var spanningNorms: Bool {
        attention.normsSpanHeads && (attention.queryNorm != nil || attention.keyNorm != nil)
    }

    /// The gradient with respect to each head's own copy of the residual stream it reads (TransformerLens'
    /// split `hook_q_input` / `hook_k_input` / `hook_v_input`), from the gradients at ``attentionGradientPoints``
    /// of one plain forward pass: each head's gradient is taken back through its block of the projection and
    /// through `ln1` at `residual` (the block's `resid_pre`), which is what the split forward pass would give.
    ///
    /// - Returns: query, key and value input gradients, head-major: `[heads or kvHeads, batch, pos, dModel]`.
    public func attentionInputGradients(at residual: Tensor, projectionGradients: [Tensor]) -> [Tensor] {
        precondition(projectionGradients.count == 3, "query, key and value gradients expected")
        // Gradients at the split inputs, [batch, pos, heads, dModel]: only the layout changes.
        if spanningNorms { return projectionGradients.map { $0.permuted([2, 0, 1, 3]) } }
        return zip(projectionGradients, [attention.query, attention.key, attention.value]).map { gradient, linear in
            let projected = gradient.groupMajorInputGradients(rowBlocksOf: linear.weight)
            return ln1?.inputGradients(at: residual, upstream: projected) ?? projected
        }
    }
}
