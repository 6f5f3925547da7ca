extension EdgePatching {
    /// Every edge's exact patching effect, ``EdgeAttributionMethod/exact``: the metric with that edge alone patched
    /// minus the clean metric (the EAP-IG library's `get_scores_exact`, which runs one full forward pass per edge).
    /// In a position-aware graph the edge `s@b → r@b` patches `s`'s delta into `r`'s input at bucket `b`'s
    /// positions only.
    ///
    /// Each run is computed from the edge's receiver on (``SingleEdgeRuns``): the edges into one block, by
    /// position bucket, are the variants of batched passes of at most ``maxRowsPerPass`` rows; edges into the
    /// logits only re-read the final residual stream.
    func exactEdgeScores(progress: ProgressReporter) throws -> EdgeScores {
        var runs = try SingleEdgeRuns(self)
        let offsets = graph.edgeOffsets, positions = graph.positionCount, perPass = Swift.max(1, maxRowsPerPass / pairs.count)
        var values = [Float](repeating: 0, count: graph.edges.count), done = 0
        for layer in 0...graph.layerCount {
            let receivers = graph.receivers.indices.filter { graph.receivers[$0].layer(layerCount: graph.layerCount) == layer }
            for position in 0..<positions {
                let edges = receivers.flatMap { r in
                    (0..<graph.upstreamCount(of: r)).map { SingleEdgeRuns.Edge(sender: $0, receiver: r, position: position) }
                }
                var start = 0
                while start < edges.count {
                    let chunk = Array(edges[start..<Swift.min(start + perPass, edges.count)])
                    for (edge, value) in zip(chunk, runs.metrics(chunk, layer: layer)) {
                        values[offsets[edge.receiver] + edge.sender * positions + edge.position] = value - cleanValue
                    }
                    start += chunk.count
                    done += chunk.count
                    progress.report("exact", done: done, total: values.count, unit: "edges")
                }
            }
        }
        return EdgeScores(graph: graph, values: values, method: EdgeAttributionMethod.exact.name)
    }
}
