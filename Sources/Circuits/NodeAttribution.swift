/// A score for every sender node of a ``ComputationGraph`` (`input`, each head, each MLP).
public struct NodeScores {
    public let graph: ComputationGraph
    /// One score per node, in the order of `graph.senders`.
    public let values: [Float]
    /// `eap`, `eap-ig-inputs`, `exact`, ...
    public let method: String

    /// The score of one node.
    public subscript(node: ComputationGraph.Sender) -> Float { values[graph.index(of: node)] }

    /// Nodes ordered by |score|, largest first (ties in graph order).
    public var ranked: [(node: ComputationGraph.Sender, score: Float)] {
        values.indices.sorted { Swift.abs(values[$0]) > Swift.abs(values[$1]) || (Swift.abs(values[$0]) == Swift.abs(values[$1]) && $0 < $1) }
            .map { (graph.senders[$0], values[$0]) }
    }
}

extension EdgePatching {
    /// Scores every node as the EAP-IG library's `attribute_node` does (`eap/attribute_node.py`).
    ///
    /// Gradient methods: `score(u) = Σ_positions Δ_u · ∂m/∂out_u` averaged over the method's runs (see
    /// ``EdgeAttributionMethod``; EAP-IG-inputs interpolates with `k = 1 ... steps` at node level). Because every
    /// path from a node's output runs through the inputs of the receivers that read it, this is the sum of the
    /// node's outgoing edge scores under the same runs, which is how it is computed. (The library takes an MLP's
    /// gradient at its input, `hook_mlp_in`, against the difference of its output; here it is taken at its output,
    /// as for heads and the embeddings.) Exact: the metric with every outgoing edge of the node patched (the node's
    /// output patched everywhere it is read), minus the clean metric, batched as edge patching is.
    ///
    /// - Throws: ``CircuitError/invalidArgument(_:)`` for information flow routes (an edge method) or fewer than one
    ///   interpolation step.
    public func nodeAttribution(_ method: EdgeAttributionMethod, progress: ProgressReporter = .silent) throws -> NodeScores {
        guard positionBuckets == nil else { throw CircuitError.invalidArgument("node and neuron scores are for plain graphs; drop --positions / --per-position") }
        try method.validate()
        let values: [Float]
        switch method {
        case .informationFlowRoutes:
            throw CircuitError.invalidArgument("information flow routes score edges only; pick another method for node scores")
        case .exact:
            values = exactNodeScores(progress: progress)
        default:
            let matrix = gradientScoreMatrix(method.gradientRuns(graph, nodeLevel: true)!, progress: progress, step: method.name).scores
            let receiverCount = graph.receivers.count
            values = graph.senders.indices.map { s in
                graph.receivers.indices.reduce(Float(0)) { sum, r in
                    s < graph.upstreamCount(of: r) ? sum + matrix[s * receiverCount + r] : sum
                }
            }
        }
        return NodeScores(graph: graph, values: values, method: method.name)
    }

    /// Each node's outgoing edges patched together, minus the clean metric, in batched passes of consecutive nodes.
    private func exactNodeScores(progress: ProgressReporter) -> [Float] {
        let count = graph.senders.count, perPass = Swift.max(1, maxRowsPerPass / pairs.count)
        var values: [Float] = []
        for start in stride(from: 0, to: count, by: perPass) {
            let nodes = start..<Swift.min(count, start + perPass)
            let masks = nodes.map { s in EdgeMask(graph: graph, edges: graph.edges.filter { graph.index(of: $0.sender) == s }) }
            values += metrics(masks).map { $0 - cleanValue }
            progress.report("exact", done: nodes.upperBound, total: count, unit: "nodes")
        }
        return values
    }

    /// Scores every MLP neuron (hidden unit after the activation, `mlp.hook_post`) of every block:
    /// `Σ_positions (post(corrupted) − post(clean)) · ∂m/∂post`, the gradient averaged over the runs of `method`
    /// as for ``nodeAttribution(_:progress:)``; always patched from the corrupted prompts. `[layer][neuron]`.
    ///
    /// - Throws: ``CircuitError/invalidArgument(_:)`` for exact and information flow routes (gradient methods only),
    ///   or a model without MLPs or with mixture-of-experts MLPs (whose neurons belong to their experts).
    public func neuronAttribution(_ method: EdgeAttributionMethod, progress: ProgressReporter = .silent) throws -> [[Float]] {
        guard positionBuckets == nil else { throw CircuitError.invalidArgument("node and neuron scores are for plain graphs; drop --positions / --per-position") }
        try method.validate()
        guard graph.hasMLPs else { throw CircuitError.invalidArgument("the model has no MLPs, so no neurons to score") }
        if let block = model.blocks.first(where: { $0.mixture != nil }) {
            throw CircuitError.invalidArgument("layer \(block.layer)'s MLP is a mixture of experts, whose neurons belong to its experts (blocks.\(block.layer).mlp.experts.E.hook_post); score its node instead")
        }
        guard let runs = method.gradientRuns(graph, nodeLevel: true) else {
            throw CircuitError.invalidArgument("neuron scores come from gradients; \(method.name) is not a gradient method")
        }
        let points = (0..<model.layerCount).map { HookPoint.mlpPost($0) }
        let gradients = gradientScoreMatrix(runs, watching: points, progress: progress, step: method.name).watched
        let clean = try model.runWithCache(pairs.clean, filter: .points(points), logitPositions: .last).cache
        let corrupted = try model.runWithCache(pairs.corrupted, filter: .points(points), logitPositions: .last).cache
        return try points.map { point in
            let product = (try corrupted[point] - clean[point]) * gradients[point]!
            return product.reshaped([-1, product.shape.last!]).sum(axis: 0).scalars
        }
    }
}
