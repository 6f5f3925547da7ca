/// A score for every edge of a ``ComputationGraph``.
public struct EdgeScores {
    public let graph: ComputationGraph
    /// One score per edge, in the order of `graph.edges`.
    public let values: [Float]
    /// `eap`, `eap-ig`, `acdc`, ...
    public let method: String

    /// The score of one edge.
    public subscript(edge: ComputationGraph.Edge) -> Float {
        values[graph.edgeOffsets[graph.index(of: edge.receiver)] + graph.index(of: edge.sender)]
    }

    /// Edges ordered by |score|, largest first (ties in graph order).
    public var ranked: [(edge: ComputationGraph.Edge, score: Float)] {
        values.indices.sorted { Swift.abs(values[$0]) > Swift.abs(values[$1]) || (Swift.abs(values[$0]) == Swift.abs(values[$1]) && $0 < $1) }
            .map { (graph.edges[$0], values[$0]) }
    }
}

extension EdgePatching {
    /// Edge attribution patching (Syed et al. 2023) and, with `integratedGradientSteps`, EAP-IG (Hanna et al. 2024).
    ///
    /// `score(u → v) = Σ_positions (out_u(source) − out_u(clean)) · ∂m/∂in_v`, with the gradient taken on the
    /// clean run (EAP) or averaged over runs whose input embeddings are interpolated from the corrupted to
    /// the clean ones, `α = k / steps` for `k = 0 ..< steps` (EAP-IG). The metric averages over examples, so
    /// scores are averaged over examples. Two forward passes and one backward pass score every edge (EAP-IG:
    /// one forward and backward pass per step).
    ///
    /// With the KL metric the clean-run gradient is zero (KL is minimal there): use a task metric such as the
    /// logit difference for EAP, or EAP-IG.
    public func edgeAttribution(integratedGradientSteps steps: Int? = nil) -> EdgeScores {
        let cleanInput = sourceOutputs[0] - senderDeltas.slice(axis: 0, 0..<1).reshaped(sourceOutputs[0].shape)
        var gradients: [String: Tensor] = [:]
        let runs = steps ?? 1
        for k in 0..<runs {
            let alpha: Float? = steps.map { Float(k) / Float($0) }
            let input = alpha.map { sourceOutputs[0] + (cleanInput - sourceOutputs[0]) * $0 }
            for (name, g) in receiverGradients(embeddings: input) {
                gradients[name] = gradients[name].map { $0 + g } ?? g
            }
        }
        let scores = edgeScores(gradients, scale: 1 / Float(runs))
        var values: [Float] = []
        values.reserveCapacity(graph.edges.count)
        let receiverCount = graph.receivers.count
        for r in graph.receivers.indices {
            for s in 0..<graph.upstreamCount(of: r) { values.append(scores[s * receiverCount + r]) }
        }
        return EdgeScores(graph: graph, values: values, method: steps == nil ? "eap" : "eap-ig")
    }

    /// ∂m/∂(input of every receiver) on the clean prompts, or with the input embeddings replaced by
    /// `embeddings`, keyed by the receiver's hook point: per-head `hook_q_input`/`hook_k_input`/`hook_v_input`
    /// laid out head-major, `[heads, B, P, d]`; `hook_mlp_in` and the final `hook_resid_post`, `[B, P, d]`.
    ///
    /// One plain forward and backward pass (no per-head copies of the residual stream) gives ∂m/∂q, ∂m/∂k,
    /// ∂m/∂v and the MLP and logits input gradients; each head's input gradient is then its q/k/v gradient
    /// taken back through its block of the projection and through `ln1` at the head's own copy of the
    /// residual, which is what the split forward pass would have computed.
    func receiverGradients(embeddings: Tensor?) -> [String: Tensor] {
        let layers = model.layerCount
        let finalName = "blocks.\(layers - 1).hook_resid_post"
        var residuals = [Tensor](repeating: Tensor.zeros([0]), count: layers)
        let pointGradients: [String: Tensor] = withGradients { tape in
            let hooks = ForwardHooks()
            if let embeddings { hooks.add("blocks.0.hook_resid_pre") { _, _ in embeddings } }
            var names: [String] = []
            for l in 0..<layers {
                let n = BlockHookNames(layer: l)
                hooks.add(n.residPre) { x, _ in
                    residuals[l] = x.detached
                    return x
                }
                names += [n.q, n.k, n.v] + (graph.hasMLPs ? [n.mlpIn] : [])
            }
            names.append(finalName)
            let watched = WatchedActivations(names, hooks: hooks, tape: tape)
            let logits = model.forward(pairs.clean, hooks: hooks, logitPositions: .last)
            return watched.gradients(of: metric(logits), on: tape)
        }
        var result = [finalName: pointGradients[finalName]!]
        for l in 0..<layers {
            let n = BlockHookNames(layer: l), block = model.blocks[l], attention = block.attention
            // Back through each head's rows of W_Q, W_K, W_V ([groups, B, P, d]), then through its copy of ln1.
            for (output, linear, input) in [(n.q, attention.query, n.qInput), (n.k, attention.key, n.kInput),
                                            (n.v, attention.value, n.vInput)] {
                let projected = pointGradients[output]!.groupMajorInputGradients(rowBlocksOf: linear.weight)
                result[input] = block.ln1?.inputGradients(at: residuals[l], upstream: projected) ?? projected
            }
            if graph.hasMLPs { result[n.mlpIn] = pointGradients[n.mlpIn]! }
        }
        return result
    }

    /// `[senders, receivers]` scores `scale · Σ (source − clean output of s) · ∂m/∂(input of r)`.
    ///
    /// One GEMM per block, `[senders up to the block's MLP, B·P·d] × [B·P·d, receivers of the block]`: the
    /// stacked deltas are streamed once per block (not once per q/k/v group), and the many senders are the
    /// GEMM's rows. Products of senders a receiver does not read (the block's MLP into its heads) are dropped.
    private func edgeScores(_ gradients: [String: Tensor], scale: Float) -> [Float] {
        let size = senderDeltas.shape[1], receiverCount = graph.receivers.count
        var scores = [Float](repeating: 0, count: graph.senders.count * receiverCount)
        for l in 0..<model.layerCount {
            let n = BlockHookNames(layer: l)
            let (q, k, v, mlp) = receiverGroups(layer: l)
            // [count, B, P, d] per q/k/v group -> rows [count, BPd]; the MLP input and the logits are one row each.
            var rows = [(n.qInput, q), (n.kInput, k), (n.vInput, v)].map { name, range in
                gradients[name]!.reshaped([range.count, -1])
            }
            var receivers = Array(q.lowerBound..<v.upperBound)
            if let mlp {
                rows.append(gradients[n.mlpIn]!.reshaped([1, -1]))
                receivers.append(mlp)
            }
            if l == model.layerCount - 1 {
                rows.append(gradients["blocks.\(l).hook_resid_post"]!.reshaped([1, -1]))
                receivers.append(receiverCount - 1)
            }
            let gradientRows = Tensor.concatenate(rows, axis: 0)
            let upstream = receivers.map { graph.upstreamCount(of: $0) }.max()!
            var products = [Float](repeating: 0, count: upstream * receivers.count)          // [upstream, receivers]
            senderDeltas.scalars.withUnsafeBufferPointer { deltas in
                gradientRows.scalars.withUnsafeBufferPointer { gradients in
                    products.withUnsafeMutableBufferPointer { c in
                        GEMM.multiply(m: upstream, n: receivers.count, k: size, a: deltas.baseAddress!, lda: size,
                                      b: gradients.baseAddress!, ldb: size, transposeB: true, c: c.baseAddress!,
                                      ldc: receivers.count, alpha: scale)
                    }
                }
            }
            for (column, r) in receivers.enumerated() {
                for s in 0..<graph.upstreamCount(of: r) { scores[s * receiverCount + r] = products[s * receivers.count + column] }
            }
        }
        return scores
    }
}
