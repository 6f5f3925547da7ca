import Circuits

extension CircuitBench {
    /// Exact edge scores' cost per edge against a forward pass of the batch, without the full run, in CPU time
    /// (user + system of this process: run with `--threads 1` on a loaded machine).
    ///
    /// Per receiving layer (the logits last), one batched pass of edges spread over the layer's receivers is timed
    /// `repetitions` times (at most 3), each run right after a plain forward pass of the batch (logits at every
    /// position); the layer's ratio is the median pass per edge over the median of those forward passes. The
    /// full-graph estimate is the setup (the clean run with cache, counted once) plus each layer's ratio times its
    /// edge count, in forward passes and in seconds at the median forward pass.
    func exactByLayer() throws {
        let pairs = try pairs()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: { _ in BenchInputs.logitDifference(pairs) })
        let graph = patching.graph, shape = "\(pairs.count)x\(pairs.length)"
        let perPass = Swift.max(1, patching.maxRowsPerPass / pairs.count)
        let repetitions = Swift.min(3, report.timer.repetitions)
        var forwards: [Double] = []
        func forward() { forwards.append(BenchTimer.cpuSeconds { _ = model.forward(pairs.clean) }) }
        forward()
        var exact: ExactEdgeEffects?
        let setup = try BenchTimer.cpuSeconds { exact = try ExactEdgeEffects(patching) }
        let setupRatio = setup / forwards[0]
        // Warm-up: the clean key-value prefix the later blocks resume from is made on first use.
        _ = try exact!.effects(of: [graph.edges.first { $0.receiver.layer(layerCount: graph.layerCount) == graph.layerCount - 2 }!])
        var forwardsPerEdge = 0.0
        for layer in 0...graph.layerCount {
            let into = graph.edges.filter { $0.receiver.layer(layerCount: graph.layerCount) == layer }
            // Edges spread over the layer's receivers, as in the full run's passes.
            let stride = Swift.max(1, into.count / perPass)
            let sample = Array(Swift.stride(from: 0, to: into.count, by: stride).prefix(perPass).map { into[$0] })
            let before = forwards.count
            var passes: [Double] = []
            for _ in 0..<repetitions {
                forward()
                passes.append(try BenchTimer.cpuSeconds { _ = try exact!.effects(of: sample) } / Double(sample.count))
            }
            let perEdge = BenchSamples(seconds: passes), reference = BenchSamples(seconds: Array(forwards[before...])).median
            forwardsPerEdge += perEdge.median / reference * Double(into.count)
            let name = layer == graph.layerCount ? "logits" : "layer \(layer)"
            BenchLog.note("exact-layers: \(name): \(sample.count) of \(into.count) edges, \(perEdge.median) CPU s per edge "
                          + "(\(String(format: "%.3f", perEdge.median / reference))x a forward of \(reference) CPU s)")
            report.record("exact-layers", "exact per edge into \(name) \(shape), CPU", samples: perEdge,
                          reference: ("forward \(shape), CPU, interleaved", reference),
                          detail: "\(sample.count) of the layer's \(into.count) edges, one pass")
        }
        let forwardSeconds = BenchSamples(seconds: forwards).median, edges = Double(graph.edges.count)
        report.record("exact-layers", "exact per edge over all \(graph.edges.count) edges \(shape), CPU, estimated",
                      value: forwardsPerEdge / edges * forwardSeconds, unit: "s", reference: ("forward \(shape), CPU, interleaved", forwardSeconds),
                      goal: "<= 0.3x", detail: "each layer's ratio weighted by its edge count; setup not counted")
        report.record("exact-layers", "exact over \(graph.edges.count) edges \(shape), CPU, estimated",
                      value: (setupRatio + forwardsPerEdge) * forwardSeconds, unit: "s", reference: ("forward \(shape), CPU, interleaved", forwardSeconds),
                      detail: String(format: "setup %.2f forwards + per-layer ratios × edges", setupRatio))
        guard graph.edges.count <= Self.exactFullRunEdges else { return }
        // A small graph also gets the full run, to check the estimate.
        BenchLog.note("exact-layers: full run over \(graph.edges.count) edges ...")
        let full = try BenchTimer.cpuSeconds { _ = try patching.exactEffects(of: graph.edges) }
        forward()
        report.record("exact-layers", "exact over \(graph.edges.count) edges \(shape), CPU, full run", value: full, unit: "s",
                      reference: ("forward \(shape), CPU, interleaved", forwards.last!),
                      detail: String(format: "estimated above: %.1f forwards", setupRatio + forwardsPerEdge))
    }

    /// Graphs up to this many edges also get a full exact run in the `exact-layers` suite.
    static let exactFullRunEdges = 5000
}
