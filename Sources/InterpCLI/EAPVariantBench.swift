import Circuits

extension CircuitBench {
    /// EAP-IG's attribution methods over every edge (after the setup that caches the clean and corrupted runs),
    /// each against a forward pass of its batch; exact also per edge, and against the one-masked-pass-per-edge route
    /// (sampled). Exact runs first and once (it is long on a large model); the others are timed as usual.
    func eapVariants() throws {
        let pairs = try pairs()
        let reference = models.pairsReference(pairs)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: { _ in BenchInputs.logitDifference(pairs) })
        let edges = patching.graph.edges.count, shape = "\(pairs.count)x\(pairs.length)"
        let methods: [(EdgeAttributionMethod, String)] = [
            (.eap, "one forward and backward pass"), (.eapIGInputs(steps: 5), "5 forward and backward passes"),
            (.eapIGActivations(steps: 5), "\(5 * (1 + 2 * model.layerCount)) forward and backward passes"),
            (.cleanCorrupted, "2 forward and backward passes"), (.informationFlowRoutes, "no pass: the cached clean run"),
        ]
        BenchLog.note("eap-variants: exact over \(edges) edges \(shape) (one run) ...")
        let exact = try report.timer.seconds { _ = try patching.edgeAttribution(.exact) }
        BenchLog.note("eap-variants: exact took \(exact) s (a forward of the batch: \(reference.seconds) s)")
        report.record("eap-variants", "exact over \(edges) edges \(shape)", value: exact, unit: "s", reference: (reference.name, reference.seconds),
                      detail: "one run; batched passes of \(Swift.max(1, patching.maxRowsPerPass / pairs.count)) edges from the receiving block on")
        report.record("eap-variants", "exact per edge \(shape)", value: exact / Double(edges), unit: "s",
                      reference: (reference.name, reference.seconds), goal: "<< 1x", detail: "exact time / edges")
        // The route exact scores used to take, sampled: one patched pass per edge with a mask holding that edge
        // alone, from the receiving block on (EdgePatching.metrics); one batch of edges per block, scaled up.
        let graph = patching.graph, perPass = Swift.max(1, patching.maxRowsPerPass / pairs.count)
        var masked = 0.0
        for layer in 0...graph.layerCount {
            let into = graph.edges.filter { $0.receiver.layer(layerCount: graph.layerCount) == layer }
            let sample = Array(into.prefix(perPass))
            masked += report.timer.seconds { _ = patching.metrics(sample.map { EdgeMask(graph: graph, edges: [$0]) }) }
                * Double(into.count) / Double(sample.count)
        }
        BenchLog.note("eap-variants: one masked pass per edge, estimated \(masked) s")
        report.record("eap-variants", "one masked pass per edge \(shape), estimated", value: masked, unit: "s",
                      reference: (reference.name, reference.seconds),
                      detail: "\(perPass) edges per block timed, scaled to the block's edges; exact is \(String(format: "%.1f", masked / exact))x faster")
        for (method, detail) in methods {
            _ = try report.time("eap-variants", "\(method.name) over \(edges) edges \(shape)", reference: reference, detail: detail) {
                _ = try patching.edgeAttribution(method)
            }
        }
    }
}
