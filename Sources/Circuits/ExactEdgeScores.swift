extension EdgePatching {
    /// Every edge's exact patching effect, ``EdgeAttributionMethod/exact``: the metric with that edge alone patched
    /// minus the clean metric (the EAP-IG library's `get_scores_exact`, which runs one full forward pass per edge).
    ///
    /// Edges into one block are patched together as the variants of batched passes (``metrics(_:)``, at most
    /// ``maxRowsPerPass`` rows each) that start from the cached clean residual stream before that block; edges into
    /// the logits only re-read the final residual stream.
    func exactEdgeScores(progress: ProgressReporter) -> EdgeScores {
        let edges = graph.edges, perPass = Swift.max(1, maxRowsPerPass / pairs.count)
        let layers = edges.map { $0.receiver.layer(layerCount: graph.layerCount) }
        var values = [Float](repeating: 0, count: edges.count), start = 0
        while start < edges.count {
            var end = start + 1
            while end < edges.count && end - start < perPass && layers[end] == layers[start] { end += 1 }
            let masks = (start..<end).map { EdgeMask(graph: graph, edges: [edges[$0]]) }
            for (e, value) in zip(start..<end, metrics(masks)) { values[e] = value - cleanValue }
            progress.report("exact", done: end, total: edges.count, unit: "edges")
            start = end
        }
        return EdgeScores(graph: graph, values: values, method: EdgeAttributionMethod.exact.name)
    }
}
