/// Position-aware circuits (see ``PositionBuckets``): nodes per position, and one position's edges.
///
/// Pruning (``Circuit/pruned()``) treats a node as one unit across positions (reached when it is reached at
/// any position): it never drops an edge that lies on a positional path, and may keep a few that do not.
extension Circuit {
    /// The nodes at positions the circuit touches, e.g. `a5.h1@S2`, in forward order then by position: a node
    /// is at position p when an edge leaves it at p or enters one of its inputs at p (`logits@p` for an edge
    /// into the logits at p). Empty for a plain graph.
    public var positionalNodes: [String] {
        guard graph.isPositional else { return [] }
        var touched = Set<String>()
        for edge in edges {
            touched.insert(graph.name(of: edge.sender.name, at: edge.position))
            for node in graph.nodes(reading: edge.receiver) { touched.insert(graph.name(of: node.name, at: edge.position)) }
            if edge.receiver == .logits { touched.insert(graph.name(of: "logits", at: edge.position)) }
        }
        return (graph.senders.map(\.name) + ["logits"]).flatMap { node in
            graph.positions.indices.map { graph.name(of: node, at: $0) }.filter(touched.contains)
        }
    }

    /// The position buckets the circuit's edges use, in order (empty for a plain graph).
    public var positionsUsed: [Int] {
        Set(edges.compactMap(\.position)).sorted()
    }

    /// The circuit's edges at position bucket `position` as a circuit of the plain graph, with their scores.
    public func edges(atPosition position: Int) -> Circuit {
        let chosen = edges.filter { $0.position == position }
        var plainScores: [Edge: Float] = [:]
        for (edge, score) in scores where edge.position == position { plainScores[edge.unpositioned] = score }
        var plainMetadata = metadata
        plainMetadata["position"] = graph.positions[position]
        return Circuit(graph: graph.unpositioned, edges: Set(chosen.map(\.unpositioned)), scores: plainScores, metadata: plainMetadata)
    }
}
