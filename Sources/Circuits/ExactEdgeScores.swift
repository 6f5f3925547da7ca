extension EdgePatching {
    /// Every edge's exact patching effect, ``EdgeAttributionMethod/exact``: the metric with that edge alone patched
    /// minus the clean metric (the EAP-IG library's `get_scores_exact`, which runs one full forward pass per edge).
    /// In a position-aware graph the edge `s@b → r@b` patches `s`'s delta into `r`'s input at bucket `b`'s
    /// positions only. See ``exactEffects(of:progress:)``.
    func exactEdgeScores(progress: ProgressReporter) throws -> EdgeScores {
        EdgeScores(graph: graph, values: try exactEffects(of: graph.edges, progress: progress), method: EdgeAttributionMethod.exact.name)
    }

    /// The exact patching effect of each of `edges` alone (the metric with that edge patched minus the clean
    /// metric), in the order given: ``EdgeAttributionMethod/exact`` for some edges only, e.g. to check the top
    /// edges of an attribution method.
    ///
    /// Each run is computed from the edge's receiver on (``SingleEdgeRuns``): the edges into one block, by
    /// position bucket, are the variants of batched passes of at most ``maxRowsPerPass`` rows; edges into the
    /// logits only re-read the final residual stream; in the last block only the read positions are queried and
    /// computed on. An edge whose sender's delta is zero at the edge's positions (in a position-aware graph, a
    /// bucket before the first changed token) has effect 0 without a run.
    public func exactEffects(of edges: [ComputationGraph.Edge], progress: ProgressReporter = .silent) throws -> [Float] {
        var runs = try SingleEdgeRuns(self)
        let perPass = Swift.max(1, maxRowsPerPass / pairs.count)
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
                    values[item.index] = value - cleanValue
                }
                start += chunk.count
                done += chunk.count
                progress.report("exact", done: done, total: values.count, unit: "edges")
            }
        }
        return values
    }
}
