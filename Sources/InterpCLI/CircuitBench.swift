import Circuits

/// The circuit suites: `eap` (edge attribution patching over every edge) and `acdc` (the cost of one ACDC
/// edge test on the loaded model, and a complete edge-level ACDC run on an attention-only model).
struct CircuitBench {
    let models: ModelBench
    var report: BenchReport { models.report }
    var model: TransformerModel { models.model }

    /// The prompt pairs of the circuit suites: 10 examples of 15 tokens.
    func pairs() throws -> PromptPairs { try BenchInputs.promptPairs(examples: 10, vocabulary: model.vocabularySize) }

    func eap() throws {
        let pairs = try pairs()
        let reference = models.pairsReference(pairs)
        var patching: EdgePatching?
        try report.time("eap", "edge patching setup \(pairs.count)x\(pairs.length)", reference: reference,
                    detail: "caches clean and corrupted runs, runs the all-edges-patched pass") {
            patching = try EdgePatching(model: model, pairs: pairs, metric: { _ in BenchInputs.logitDifference(pairs) })
        }
        let edges = patching!.graph.edges.count
        report.time("eap", "EAP over \(edges) edges \(pairs.count)x\(pairs.length)", reference: reference, goal: "<= 5x",
                    detail: "after setup") {
            _ = patching!.edgeAttribution()
        }
    }

    /// The cost of one ACDC test (patch one more edge on top of the current graph, recompute from the
    /// receiver's block on) for edges sampled evenly over the graph. ACDC visits edges in the reverse of
    /// `graph.edges`, so the state before testing edge `i` is taken as "every later edge removed except
    /// every 50th" (a run that keeps a small circuit, the usual outcome); a test patches edge `i` on top.
    func acdcEdgeTests(samples: Int) throws {
        let pairs = try pairs()
        let reference = models.pairsReference(pairs)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: { _ in BenchInputs.logitDifference(pairs) })
        let graph = patching.graph
        let picked = (0..<samples).map { $0 * graph.edges.count / samples }
        let masks = picked.map { i in
            EdgeMask(graph: graph, edges: graph.edges.indices[i...].filter { $0 == i || ($0 - i) % 50 != 0 }.map { graph.edges[$0] })
        }
        BenchLog.note("acdc: \(samples) sampled edge tests ...")
        _ = patching.metrics([masks[0]])
        let times = masks.map { mask in BenchTimer.seconds { _ = patching.metrics([mask]) } }
        let mean = times.reduce(0, +) / Double(times.count)
        report.record("acdc", "ACDC cost per tested edge \(pairs.count)x\(pairs.length)", value: mean, unit: "s",
                      reference: (reference.name, reference.seconds), goal: "<= 0.6x",
                      detail: String(format: "mean of %d edges sampled evenly over %d (%.1f-%.1f ms)", samples,
                                     graph.edges.count, times.min()! * 1e3, times.max()! * 1e3))
    }

    /// A complete edge-level ACDC run (KL metric against the clean run) on a random attention-only model.
    func acdcFullRun(threshold: Float) throws {
        let attentionOnly = BenchInputs.attentionOnlyModel()
        let pairs = try BenchInputs.promptPairs(examples: 20, vocabulary: attentionOnly.vocabularySize)
        var detail = ""
        let name = "full edge-level ACDC, attention-only \(attentionOnly.layerCount)L \(attentionOnly.headCount)H "
            + "d\(attentionOnly.dModel), \(pairs.count)x\(pairs.length)"
        try report.time("acdc", name, goal: "< 60 s") {
            let patching = try EdgePatching(model: attentionOnly, pairs: pairs, metric: .kl)
            let result = patching.acdc(ACDCOptions(threshold: threshold))
            detail = "τ \(threshold): \(result.testCount) tests, kept \(result.kept.count) of \(patching.graph.edges.count) edges, "
                + "KL of the corrupted run \(patching.corruptedValue), of the circuit \(result.finalValue)"
        }
        BenchLog.note("acdc: \(detail)")
        if let last = report.measurements.indices.last { report.annotate(last, detail: detail) }
    }
}
