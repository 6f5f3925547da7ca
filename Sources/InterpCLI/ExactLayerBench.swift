import Circuits

extension CircuitBench {
    /// Exact edge scores' cost without the full run: per receiving layer (the logits last), one batched pass of
    /// edges into it is timed and scaled to the layer's edges; the setup (the clean run with cache) is timed
    /// apart and counted once. Each sample also reports its cost per edge against a forward pass of the batch.
    func exactByLayer() throws {
        let pairs = try pairs()
        let reference = models.pairsReference(pairs)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: { _ in BenchInputs.logitDifference(pairs) })
        let graph = patching.graph, shape = "\(pairs.count)x\(pairs.length)"
        let perPass = Swift.max(1, patching.maxRowsPerPass / pairs.count)
        let setup = try BenchTimer.seconds { _ = try patching.exactEffects(of: []) }
        var total = setup
        for layer in 0...graph.layerCount {
            let into = graph.edges.filter { $0.receiver.layer(layerCount: graph.layerCount) == layer }
            // Edges spread over the layer's receivers, as in the full run's passes.
            let stride = Swift.max(1, into.count / perPass)
            let sample = Array(Swift.stride(from: 0, to: into.count, by: stride).prefix(perPass).map { into[$0] })
            let seconds = try BenchTimer.seconds { _ = try patching.exactEffects(of: sample) } - setup
            let perEdge = seconds / Double(sample.count)
            total += perEdge * Double(into.count)
            let name = layer == graph.layerCount ? "logits" : "layer \(layer)"
            BenchLog.note("exact-layers: \(name): \(sample.count) of \(into.count) edges, \(perEdge) s per edge "
                          + "(\(String(format: "%.3f", perEdge / reference.seconds))x a forward of \(reference.seconds) s)")
            report.record("exact-layers", "exact per edge into \(name) \(shape)", value: perEdge, unit: "s",
                          reference: (reference.name, reference.seconds), detail: "\(sample.count) of the layer's \(into.count) edges, one pass")
        }
        report.record("exact-layers", "exact over \(graph.edges.count) edges \(shape), estimated", value: total, unit: "s",
                      reference: (reference.name, reference.seconds), detail: "setup \(String(format: "%.2f", setup)) s + per-layer samples scaled")
    }
}
