import Tensors

/// Exact effects of single edges (the metric with one edge alone patched minus the clean metric) with the clean
/// run's parts prepared once, for asking about many sets of edges in turn: ``EdgePatching/exactEffects(of:progress:)``
/// prepares and asks once.
///
/// ```swift
/// var exact = try ExactEdgeEffects(patching)
/// let top = try exact.effects(of: Array(scores.ranked.prefix(100)))
/// ```
public struct ExactEdgeEffects {
    public let patching: EdgePatching
    private var runs: SingleEdgeRuns

    /// Caches the clean run's residual streams, attention outputs, head results and MLP outputs.
    public init(_ patching: EdgePatching) throws {
        self.patching = patching
        runs = try SingleEdgeRuns(patching)
    }

    /// The exact patching effect of each of `edges` alone, in the order given.
    ///
    /// Each run is computed from the edge's receiver on (``SingleEdgeRuns``): the edges into one block, by
    /// position bucket, are the variants of batched passes of at most ``EdgePatching/maxRowsPerPass`` rows; edges
    /// into the logits only re-read the final residual stream; in the last block only the read positions are
    /// queried and computed on. An edge whose sender's delta is zero at the edge's positions (in a position-aware
    /// graph, a bucket before the first changed token) has effect 0 without a run.
    public mutating func effects(of edges: [ComputationGraph.Edge], progress: ProgressReporter = .silent) throws -> [Float] {
        let graph = patching.graph, pairs = patching.pairs
        let perPass = Swift.max(1, patching.maxRowsPerPass / pairs.count)
        let indexed = try edges.enumerated().map { i, edge -> (index: Int, edge: SingleEdgeRuns.Edge) in
            guard let s = graph.senderIndex[edge.sender], let r = graph.receiverIndex[edge.receiver], s < graph.upstreamCount(of: r),
                  (edge.position ?? 0) < graph.positionCount else {
                throw CircuitError.invalidArgument("\(edge) is not an edge of the graph")
            }
            return (i, SingleEdgeRuns.Edge(sender: s, receiver: r, position: edge.position ?? 0))
        }
        var values = [Float](repeating: 0, count: edges.count), done = 0
        // An edge whose delta is zero at its bucket leaves the clean run as it is: its effect is 0.
        let changing = indexed.filter { runs.changes($0.edge) }
        done += indexed.count - changing.count
        let groups = Dictionary(grouping: changing) { item in
            [graph.receivers[item.edge.receiver].layer(layerCount: graph.layerCount), item.edge.position]
        }
        for key in groups.keys.sorted(by: { ($0[0], $0[1]) < ($1[0], $1[1]) }) {
            // Edges into one receiver follow each other, so that they share its clean inputs.
            let group = groups[key]!.sorted { ($0.edge.receiver, $0.edge.sender) < ($1.edge.receiver, $1.edge.sender) }
            var start = 0
            while start < group.count {
                let chunk = Array(group[start..<Swift.min(start + perPass, group.count)])
                for (item, value) in zip(chunk, runs.metrics(chunk.map(\.edge), layer: key[0])) {
                    values[item.index] = value - patching.cleanValue
                }
                start += chunk.count
                done += chunk.count
                progress.report("exact", done: done, total: values.count, unit: "edges")
            }
        }
        return values
    }
}
