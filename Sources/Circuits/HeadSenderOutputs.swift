import LanguageModels
import Tensors

extension TransformerBlock {
    /// The outputs of this block's head senders in the edge graph, `[..., heads, dModel]`, from the heads'
    /// results and the post-attention norm's divisor of the same run (see ``TransformerBlock/headWrites(results:postNormDivisor:)``).
    ///
    /// Without a post-attention norm a head's output is its `hook_result` (the output bias is a constant of the
    /// residual stream). With one (Gemma-2/3, OLMo-2) it is the head's share of the normalized attention output,
    /// `g ⊙ (result_h + b_O / heads) / s` (+ the norm's bias / heads), with `s` the divisor of that run's summed
    /// output: the layer's senders sum exactly to what the block adds to the residual stream, in every run. All
    /// heads of such a layer share `s`, so changing one head's inputs changes every head's output of its layer.
    public func headSenderOutputs(results: Tensor, postNormDivisor: Tensor?) -> Tensor {
        let writes = headWrites(results: results, postNormDivisor: postNormDivisor)
        guard postAttentionNorm != nil, let bias = attentionBiasWrite(postNormDivisor: postNormDivisor) else { return writes }
        return writes + (bias / Float(attention.heads)).unsqueezed(bias.rank - 1)
    }

    /// ``headSenderOutputs(results:postNormDivisor:)`` when the results `[..., heads, dModel]` are all of one run.
    func headSenderOutputs(results: Tensor) -> Tensor {
        headSenderOutputs(results: results, postNormDivisor: postAttentionNormDivisor(results: results))
    }

    /// Whether the heads of this block are coupled through a shared post-attention norm (a head's output then
    /// depends on the inputs of every head of the block).
    var headsShareNorm: Bool { postAttentionNorm != nil }
}

extension EdgePatching {
    /// The senders whose outputs change together with sender `node`'s when its inputs change: every head of its
    /// layer when the heads share a post-attention norm, else the node alone. A head of such a layer matters
    /// while any head of the layer is read (its result moves the shared divisor).
    func coupledNodes(of node: Int) -> Range<Int> {
        guard case let .head(l, _) = graph.senders[node], model.blocks[l].headsShareNorm else { return node..<(node + 1) }
        let first = graph.index(of: .head(layer: l, head: 0))
        return first..<(first + graph.headCount)
    }
}
