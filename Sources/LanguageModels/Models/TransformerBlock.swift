/// One pre-norm decoder block: `resid_mid = resid_pre + attn(ln1(resid_pre))`,
/// `resid_post = resid_mid + mlp(ln2(resid_mid))`. Attention-only blocks have no MLP: `resid_post = resid_mid`.
///
/// With ``parallelResidual`` (GPT-NeoX, GPT-J) attention and MLP both read the block input:
/// `resid_post = resid_pre + attn(ln1(resid_pre)) + mlp(ln2(resid_pre))`; `hook_resid_mid` does not exist and
/// `hook_mlp_in` is `resid_pre`.
///
/// Besides the forward pass, the block computes its parts alone for circuit analyses (``headResult(_:queryInput:keyInput:valueInput:context:mask:)``,
/// ``mlpOutput(_:)``, ``attentionInputGradients(at:projectionGradients:)``) and says which residual stream
/// each part reads (``mlpReadsAttentionOutput``), so that analyses need not know how the block is built.
public struct TransformerBlock {
    public var ln1: Normalization
    /// The MLP's norm and the MLP; nil in an attention-only block.
    public var ln2: Normalization?
    public var attention: Attention
    public var mlp: FeedForward?
    /// Whether attention and MLP read the same block input (GPT-NeoX `use_parallel_residual`).
    public var parallelResidual: Bool
    /// The block's index in the model.
    public let layer: Int
    /// The hook point names of this block.
    public let names: BlockHookNames

    public init(layer: Int, ln1: Normalization, attention: Attention, ln2: Normalization?, mlp: FeedForward?,
                parallelResidual: Bool = false) {
        precondition((ln2 == nil) == (mlp == nil), "an MLP needs its norm and a norm needs its MLP")
        self.ln1 = ln1; self.attention = attention; self.ln2 = ln2; self.mlp = mlp
        self.parallelResidual = parallelResidual
        self.layer = layer
        names = BlockHookNames(layer: layer)
    }

    /// Runs the block on the residual stream `[batch, pos, dModel]`.
    public func callAsFunction(_ residual: Tensor, context: AttentionContext, mask: Tensor,
                               cache: inout LayerKeyValueCache?, hooks: ForwardHooks?) -> Tensor {
        let residPre = hooks.apply(names.residPre, residual)
        let (qIn, kIn, vIn) = attentionInputs(residPre, hooks: hooks)
        let attnOut = hooks.apply(names.attnOut, attention(
            queryInput: qIn, keyInput: kIn, valueInput: vIn, context: context, mask: mask, cache: &cache,
            hooks: hooks, names: names))
        // The residual stream the MLP reads: resid_mid, or in a parallel block resid_pre.
        let mlpResidual = parallelResidual ? residPre : hooks.apply(names.residMid, residPre + attnOut)
        var residPost = parallelResidual ? residPre + attnOut : mlpResidual
        if let ln2, let mlp {
            let mlpIn = hooks.apply(names.mlpIn, mlpResidual)
            let normalized = ln2(mlpIn, hooks: hooks, scaleName: names.ln2Scale, normalizedName: names.ln2Normalized)
            residPost = residPost + hooks.apply(names.mlpOut, mlp(normalized, hooks: hooks, names: names))
        }
        return hooks.apply(names.residPost, residPost)
    }

    /// The hook points this block calls, in forward order (optional ones included).
    public var hookPoints: [HookPoint] {
        let l = layer
        var points: [HookPoint] = [.residPre(l), .qInput(l), .kInput(l), .vInput(l), .ln1Scale(l), .ln1Normalized(l),
                                   .q(l), .k(l), .v(l)]
        if attention.rotary != nil { points += [.rotQ(l), .rotK(l)] }
        points += [.attnScores(l), .pattern(l), .z(l), .result(l), .attnOut(l)]
        if !parallelResidual { points.append(.residMid(l)) }
        if let mlp {
            points += [.mlpIn(l), .ln2Scale(l), .ln2Normalized(l), .mlpPre(l)]
            if mlp.gate != nil { points.append(.mlpPreLinear(l)) }
            points += [.mlpPost(l), .mlpOut(l)]
        }
        points.append(.residPost(l))
        return points
    }

    /// Whether the MLP reads this block's attention output (`resid_mid`); false in a parallel block, whose MLP
    /// reads the block input like the heads do. This decides which senders feed the MLP in a circuit graph.
    public var mlpReadsAttentionOutput: Bool { !parallelResidual }

    /// The residual stream the MLP reads: `resid_mid`, or `resid_pre` in a parallel block.
    public var mlpInputPoint: HookPoint { parallelResidual ? .residPre(layer) : .residMid(layer) }

    /// The normalized inputs of the query, key and value projections.
    ///
    /// When a hook or cache wants `hook_q_input`, `hook_k_input` or `hook_v_input`, each head reads its own
    /// copy of the residual stream (`[batch, pos, heads, dModel]`, TransformerLens' split q/k/v input) and
    /// `ln1` normalizes each copy; otherwise all heads share one normalized residual.
    func attentionInputs(_ residPre: Tensor, hooks: ForwardHooks?) -> (Tensor, Tensor, Tensor) {
        let split = hooks.wants(names.qInput) || hooks.wants(names.kInput) || hooks.wants(names.vInput)
        guard split else {
            let shared = ln1(residPre, hooks: hooks, scaleName: names.ln1Scale, normalizedName: names.ln1Normalized)
            return (shared, shared, shared)
        }
        func perHead(_ name: String, _ count: Int) -> Tensor {
            let copies = residPre.unsqueezed(2).broadcast(to: [residPre.shape[0], residPre.shape[1], count, residPre.shape[2]])
            return ln1(hooks.apply(name, copies), hooks: hooks, scaleName: names.ln1Scale, normalizedName: names.ln1Normalized)
        }
        return (perHead(names.qInput, attention.heads), perHead(names.kInput, attention.keyValueHeads),
                perHead(names.vInput, attention.keyValueHeads))
    }

    /// One head's write into the residual stream (its `hook_result`, without the output bias) when its query,
    /// key and value inputs are the residual streams `[batch, pos, dModel]` given (each normalized by `ln1`
    /// here, as with split q/k/v inputs): a node of the edge graph, computed alone.
    public func headResult(_ head: Int, queryInput: Tensor, keyInput: Tensor, valueInput: Tensor,
                           context: AttentionContext, mask: Tensor) -> Tensor {
        func normalized(_ x: Tensor) -> Tensor { ln1(x, hooks: nil, scaleName: names.ln1Scale, normalizedName: names.ln1Normalized) }
        var cache: LayerKeyValueCache?
        return attention.restricted(toHead: head)(
            queryInput: normalized(queryInput), keyInput: normalized(keyInput), valueInput: normalized(valueInput),
            context: context, mask: mask, cache: &cache, hooks: nil, names: names)
    }

    /// The MLP's write into the residual stream for the input `[batch, pos, dModel]` (normalized by `ln2`
    /// here), or nil in an attention-only block.
    public func mlpOutput(_ input: Tensor) -> Tensor? {
        guard let ln2, let mlp else { return nil }
        return mlp(ln2(input, hooks: nil, scaleName: names.ln2Scale, normalizedName: names.ln2Normalized), hooks: nil, names: names)
    }

    /// The hook points (the query, key and value projections' outputs) whose gradients
    /// ``attentionInputGradients(at:projectionGradients:)`` takes back to the residual stream, in that order.
    public var attentionGradientPoints: [HookPoint] { [.q(layer), .k(layer), .v(layer)] }

    /// The gradient with respect to each head's own copy of the residual stream it reads (TransformerLens'
    /// split `hook_q_input` / `hook_k_input` / `hook_v_input`), from the gradients at ``attentionGradientPoints``
    /// of one plain forward pass: each head's gradient is taken back through its block of the projection and
    /// through `ln1` at `residual` (the block's `resid_pre`), which is what the split forward pass would give.
    ///
    /// - Returns: query, key and value input gradients, head-major: `[heads or kvHeads, batch, pos, dModel]`.
    public func attentionInputGradients(at residual: Tensor, projectionGradients: [Tensor]) -> [Tensor] {
        precondition(projectionGradients.count == 3, "query, key and value gradients expected")
        return zip(projectionGradients, [attention.query, attention.key, attention.value]).map { gradient, linear in
            ln1.inputGradients(at: residual, upstream: gradient.groupMajorInputGradients(rowBlocksOf: linear.weight))
        }
    }
}
