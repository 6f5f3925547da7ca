/// Settings of an ACDC run.
public struct ACDCOptions: Sendable {
    /// τ: an edge is removed when removing it worsens the metric by less than this.
    public var threshold: Float
    /// Compare |change| with τ instead of the signed worsening.
    public var absoluteValue: Bool
    /// Test heads and MLPs as units (all of a node's outgoing edges at once) instead of single edges.
    public var nodeLevel: Bool

    public init(threshold: Float, absoluteValue: Bool = false, nodeLevel: Bool = false) {
        self.threshold = threshold
        self.absoluteValue = absoluteValue
        self.nodeLevel = nodeLevel
    }
}

/// The outcome of ACDC: the edges kept, the effect measured for each tested edge, and the run's cost.
public struct ACDCResult {
    public let graph: ComputationGraph
    /// The edges that remain (the circuit), before pruning of unreachable nodes.
    public let kept: Set<ComputationGraph.Edge>
    /// For each tested edge (or each edge of a tested node), the metric's worsening when it was removed.
    public let effects: [ComputationGraph.Edge: Float]
    /// The metric of the final circuit (all removed edges patched).
    public let finalValue: Float
    public let testCount: Int
    public let options: ACDCOptions
}

extension EdgePatching {
    /// Automatic circuit discovery (Conmy et al. 2023).
    ///
    /// Starting from the full graph, receivers are visited in reverse topological order from the logits.
    /// For each incoming edge (latest sender first), the edge is patched on top of the current graph and
    /// the metric recomputed; if it worsens by less than τ the edge is removed for good, otherwise kept.
    /// A receiver whose node has no outgoing edge left is skipped and its incoming edges removed. Each test
    /// recomputes only from the receiver's block on. The order is deterministic.
    ///
    /// Known limit (the method's, shown in the ACDC blog post): behaviour spread over many small edges is
    /// lost — five heads each adding 1 with τ = 2 keep no edge.
    public func acdc(_ options: ACDCOptions, progress: ((_ tested: Int, _ total: Int) -> Void)? = nil) -> ACDCResult {
        options.nodeLevel ? acdcNodes(options, progress: progress) : acdcEdges(options, progress: progress)
    }

    /// How much worse `value` is than `current` for the metric's direction.
    func worsening(_ value: Float, from current: Float, absolute: Bool) -> Float {
        let change = metric.higherIsBetter ? current - value : value - current
        return absolute ? Swift.abs(value - current) : change
    }

    private func acdcEdges(_ options: ACDCOptions, progress: ((Int, Int) -> Void)?) -> ACDCResult {
        var removed = EdgeMask(graph: graph)
        var current = cleanValue
        var effects: [ComputationGraph.Edge: Float] = [:]
        var tested = 0
        let total = graph.edges.count
        var alive = Set<ComputationGraph.Sender>()          // senders with a kept outgoing edge
        for r in graph.receivers.indices.reversed() {
            let receiver = graph.receivers[r]
            let upstream = graph.upstreamCount(of: r)
            let nodes = graph.nodes(reading: receiver)
            let reached = receiver == .logits || nodes.contains { alive.contains($0) }
            for s in (0..<upstream).reversed() {
                let sender = graph.senders[s]
                if !reached {
                    removed[s, r] = 1
                    continue
                }
                var candidate = removed
                candidate[s, r] = 1
                let value = metrics([candidate])[0]
                tested += 1
                progress?(tested, total)
                let change = worsening(value, from: current, absolute: options.absoluteValue)
                effects[ComputationGraph.Edge(sender: sender, receiver: receiver)] = change
                if change < options.threshold {
                    removed = candidate
                    current = value
                } else {
                    alive.insert(sender)
                }
            }
        }
        return result(removed: removed, effects: effects, finalValue: current, tested: tested, options: options)
    }

    private func acdcNodes(_ options: ACDCOptions, progress: ((Int, Int) -> Void)?) -> ACDCResult {
        var removed = EdgeMask(graph: graph)
        var current = cleanValue
        var effects: [ComputationGraph.Edge: Float] = [:]
        let candidates = graph.senders.filter { $0 != .input }.reversed()
        var tested = 0
        for node in candidates {
            let outgoing = graph.edges.filter { $0.sender == node }
            var candidate = removed
            for edge in outgoing { candidate[graph.index(of: edge.sender), graph.index(of: edge.receiver)] = 1 }
            let value = metrics([candidate])[0]
            tested += 1
            progress?(tested, candidates.count)
            let change = worsening(value, from: current, absolute: options.absoluteValue)
            for edge in outgoing { effects[edge] = change }
            if change < options.threshold {
                removed = candidate
                current = value
            }
        }
        return result(removed: removed, effects: effects, finalValue: current, tested: tested, options: options)
    }

    private func result(removed: EdgeMask, effects: [ComputationGraph.Edge: Float], finalValue: Float, tested: Int,
                        options: ACDCOptions) -> ACDCResult {
        let kept = Set(graph.edges.filter { removed[graph.index(of: $0.sender), graph.index(of: $0.receiver)] == 0 })
        return ACDCResult(graph: graph, kept: kept, effects: effects, finalValue: finalValue, testCount: tested, options: options)
    }
}
