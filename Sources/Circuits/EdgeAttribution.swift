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
        let layers = model.layerCount
        let cleanInput = sourceOutputs[0] - baseDeltas[0]
        var gradients: [String: Tensor] = [:]
        let runs = steps ?? 1
        for k in 0..<runs {
            let alpha: Float? = steps.map { Float(k) / Float($0) }
            withGradients { tape in
                let hooks = ForwardHooks()
                var watched: [String: Tensor] = [:]
                if let alpha {
                    let input = sourceOutputs[0] + (cleanInput - sourceOutputs[0]) * alpha
                    hooks.add("blocks.0.hook_resid_pre") { _, _ in input }
                }
                var names: [String] = []
                for l in 0..<layers {
                    let n = BlockHookNames(layer: l)
                    names += [n.qInput, n.kInput, n.vInput] + (graph.hasMLPs ? [n.mlpIn] : [])
                }
                names.append("blocks.\(layers - 1).hook_resid_post")
                for name in names {
                    hooks.add(name) { x, _ in
                        let w = tape.watch(x)
                        watched[name] = w
                        return w
                    }
                }
                let logits = model.forward(pairs.clean, hooks: hooks, logitPositions: .last)
                let grads = tape.gradients(of: metric(logits), withRespectTo: names.map { watched[$0]! })
                for (name, g) in zip(names, grads) { gradients[name] = gradients[name].map { $0 + g } ?? g }
            }
        }
        let receiverGradients = receiverGradientRows(gradients, scale: 1 / Float(runs))  // [R, BPd]
        let senderDeltas = Tensor.stack(baseDeltas).reshaped([graph.senders.count, -1])    // [S, BPd]
        let scores = senderDeltas.matmul(receiverGradients, transposeOther: true)         // [S, R]
        var values: [Float] = []
        values.reserveCapacity(graph.edges.count)
        for r in graph.receivers.indices {
            for s in 0..<graph.upstreamCount(of: r) { values.append(scores[s, r]) }
        }
        return EdgeScores(graph: graph, values: values, method: steps == nil ? "eap" : "eap-ig")
    }

    /// The gradient with respect to each receiver's input, one flattened `[batch * pos * d]` row per receiver.
    private func receiverGradientRows(_ gradients: [String: Tensor], scale: Float) -> Tensor {
        var rows: [Tensor] = []
        for l in 0..<model.layerCount {
            let n = BlockHookNames(layer: l)
            for (name, count) in [(n.qInput, graph.headCount), (n.kInput, graph.keyValueHeadCount), (n.vInput, graph.keyValueHeadCount)] {
                let g = gradients[name]!
                rows += (0..<count).map { g.select(axis: 2, $0).reshaped([-1]) }
            }
            if graph.hasMLPs { rows.append(gradients[n.mlpIn]!.reshaped([-1])) }
        }
        rows.append(gradients["blocks.\(model.layerCount - 1).hook_resid_post"]!.reshaped([-1]))
        return Tensor.stack(rows) * scale
    }
}
