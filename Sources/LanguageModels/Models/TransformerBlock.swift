/// One pre-norm decoder block: `resid_mid = resid_pre + attn(ln1(resid_pre))`,
/// `resid_post = resid_mid + mlp(ln2(resid_mid))`. Attention-only blocks have no MLP: `resid_post = resid_mid`.
public struct TransformerBlock {
    public var ln1: Normalization
    /// The MLP's norm and the MLP; nil in an attention-only block.
    public var ln2: Normalization?
    public var attention: Attention
    public var mlp: FeedForward?
    /// The hook point names of this block.
    public let names: BlockHookNames

    public init(layer: Int, ln1: Normalization, attention: Attention, ln2: Normalization?, mlp: FeedForward?) {
        precondition((ln2 == nil) == (mlp == nil), "an MLP needs its norm and a norm needs its MLP")
        self.ln1 = ln1; self.attention = attention; self.ln2 = ln2; self.mlp = mlp
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
        let residMid = hooks.apply(names.residMid, residPre + attnOut)
        guard let ln2, let mlp else { return hooks.apply(names.residPost, residMid) }
        let mlpIn = hooks.apply(names.mlpIn, residMid)
        let normalized = ln2(mlpIn, hooks: hooks, scaleName: names.ln2Scale, normalizedName: names.ln2Normalized)
        let mlpOut = hooks.apply(names.mlpOut, mlp(normalized, hooks: hooks, names: names))
        return hooks.apply(names.residPost, residMid + mlpOut)
    }

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
}
