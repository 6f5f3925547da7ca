/// One forward and backward pass of a gradient-based attribution method (EAP, EAP-IG, clean-corrupted): which
/// prompts run, and whether a group of senders writes a fixed interpolation of its outputs instead of its own.
enum GradientRun: Equatable {
    /// The clean prompts.
    case clean
    /// The corrupted prompts (clean-corrupted's second run).
    case corrupted
    /// The clean prompts, with the outputs of `group` replaced by `source + α (clean − source)`, a constant.
    case interpolated(SenderGroup, alpha: Float)

    /// The senders whose outputs one hook point holds: the embeddings, one block's heads, or one block's MLP.
    enum SenderGroup: Equatable {
        case input
        case heads(layer: Int)
        case mlp(layer: Int)
    }
}

extension EdgePatching {
    /// The hook point a run replaces and the constant it writes there: the interpolated outputs of its group,
    /// `[B, P, d]` (`resid_pre` 0, `hook_mlp_out`) or `[B, P, heads, d]` (`hook_result`).
    func replacement(for run: GradientRun) -> (HookPoint, Tensor)? {
        guard case let .interpolated(group, alpha) = run else { return nil }
        func interpolated(_ s: Int) -> Tensor {
            sourceOutputs[s] - senderDeltas.select(axis: 0, s).reshaped(sourceOutputs[s].shape) * alpha
        }
        switch group {
        case .input:
            return (.residPre(0), interpolated(0))
        case let .heads(l):
            let first = graph.index(of: .head(layer: l, head: 0))
            return (.result(l), Tensor.stack((first..<(first + graph.headCount)).map(interpolated), axis: 2))
        case let .mlp(l):
            return (.mlpOut(l), interpolated(graph.index(of: ComputationGraph.Sender.mlp(layer: l))))
        }
    }
}
