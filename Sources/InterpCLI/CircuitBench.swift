import Circuits

/// The circuit suites: `eap` (edge attribution patching over every edge) and `acdc` (the cost of one ACDC
/// edge test on the loaded model, and a complete edge-level ACDC run on an attention-only model).
struct CircuitBench {
    let models: ModelBench
    var report: BenchReport { models.report }
    var model: TransformerModel { models.model }

    /// The prompt pairs of the circuit suites: 10 examples of 15 tokens.
    func pairs() throws -> PromptPairs { try BenchInputs.promptPairs(examples: 10, vocabulary: model.vocabularySize) }

    /// EAP over every edge: the setup (caching the clean and corrupted runs' sender outputs, which any edge
    /// method reuses), the scoring after it, and the two together.
    func eap() throws {
        let pairs = try pairs()
        let reference = models.pairsReference(pairs)
        var patching: EdgePatching?
        let setup = try report.time("eap", "edge patching setup \(pairs.count)x\(pairs.length)", reference: reference,
                                    detail: "caches the clean and corrupted runs") {
            patching = try EdgePatching(model: model, pairs: pairs, metric: { _ in BenchInputs.logitDifference(pairs) })
        }
        let edges = patching!.graph.edges.count
        let scoring = report.time("eap", "EAP over \(edges) edges \(pairs.count)x\(pairs.length)", reference: reference,
                                  goal: "<= 5x", detail: "after setup: one forward and backward pass, per-head gradients, scores") {
            _ = patching!.edgeAttribution()
        }
        report.record("eap", "EAP from the prompts, \(pairs.count)x\(pairs.length)", value: setup.median + scoring.median, unit: "s",
                      reference: (reference.name, reference.seconds), goal: "<= 5x", detail: "setup + scoring (medians)")
    }

    /// The cost of one ACDC test deep in a run, for edges sampled evenly over the graph, one edge at a time
    /// and batched. The run is resumed at each sampled edge from the state "every edge ACDC visited before it
    /// removed except every 50th" (a run that keeps a small circuit, the usual outcome), and a test costs
    /// (time of `tests` tests − time of 0 tests) / `tests` from that state, so resuming is not counted. Each
    /// sample is followed by plain forward passes of the batch, and the ratio is taken against their median, so
    /// a machine that slows down during the run does not skew it.
    func acdcEdgeTests(samples: Int) throws {
        let pairs = try pairs()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: { _ in BenchInputs.logitDifference(pairs) })
        let graph = patching.graph
        let tests = 32
        BenchLog.note("acdc: \(samples) sampled ACDC states, \(tests) tests each, one at a time and batched ...")
        var forwards: [Double] = [], costs: [Int: [Double]] = [:]
        let last = graph.edges.count - 1
        for sample in 0..<samples {
            // Edges are visited from the last one down, so state i has tests to run before the graph ends.
            let i: Int = Swift.min(last, sample * graph.edges.count / samples + tests)
            let later: [ComputationGraph.Edge] = ((i + 1)..<graph.edges.count).filter { ($0 - i) % 50 != 0 }.map { graph.edges[$0] }
            for batch in [1, 32] {
                let options = ACDCOptions(threshold: 0.01, maxBatchSize: batch)
                let state = ACDCState(patching: patching, options: options, removed: EdgeMask(graph: graph, edges: later),
                                      resumingAt: graph.edges[i])
                let resume: Double = try report.timer.seconds { _ = try patching.acdcEdges(options, resumingFrom: state, stopAfter: 0) }
                let tested: Double = try report.timer.seconds { _ = try patching.acdcEdges(options, resumingFrom: state, stopAfter: tests) }
                costs[batch, default: []].append(Swift.max(0, tested - resume) / Double(tests))
            }
            forwards.append(report.timer.seconds { _ = model.forward(pairs.clean) })
            forwards.append(report.timer.seconds { _ = model.forward(pairs.clean) })
        }
        let forward = BenchSamples(seconds: forwards).median
        for (batch, label) in [(1, "one at a time"), (32, "batched")] {
            let values = costs[batch]!, mean = values.reduce(0, +) / Double(values.count)
            report.record("acdc", "ACDC cost per tested edge, \(label), \(pairs.count)x\(pairs.length)", value: mean, unit: "s",
                          reference: ("forward \(pairs.count)x\(pairs.length), interleaved", forward), goal: "<= 0.1x",
                          detail: String(format: "mean over %d states spread over %d edges (%.1f-%.1f ms); %.1f tests/s; forward median %.1f ms",
                                         samples, graph.edges.count, values.min()! * 1e3, values.max()! * 1e3, 1 / mean, forward * 1e3))
        }
    }

    /// A complete edge-level ACDC run (KL metric, batched) on the loaded model with `examples` prompts of 15 tokens.
    func acdcModelRun(examples: Int, threshold: Float) throws {
        let pairs = try BenchInputs.promptPairs(examples: examples, vocabulary: model.vocabularySize)
        BenchLog.note("acdc: full edge-level run on the loaded model, \(examples)x15, τ \(threshold) ...")
        try fullACDCRun(on: model, pairs: pairs, shape: "the model, \(pairs.count)x\(pairs.length)", threshold: threshold,
                        runGoal: "<= 300 s", perTestGoal: "<= 0.1x")
    }

    /// A complete edge-level ACDC run (KL metric against the clean run) on a random attention-only model.
    func acdcFullRun(threshold: Float) throws {
        let attentionOnly = BenchInputs.attentionOnlyModel()
        let pairs = try BenchInputs.promptPairs(examples: 20, vocabulary: attentionOnly.vocabularySize)
        let shape = "attention-only \(attentionOnly.layerCount)L \(attentionOnly.headCount)H d\(attentionOnly.dModel), "
            + "\(pairs.count)x\(pairs.length)"
        try fullACDCRun(on: attentionOnly, pairs: pairs, shape: shape, threshold: threshold, runGoal: "< 60 s",
                        perTestGoal: "<= 0.6x")
    }

    /// Times a whole ACDC run (setup included) on `model`, then its cost per tested edge against forward passes of
    /// the same batch timed just before and just after it (medians of both), in wall time and in processor time
    /// (user + system, which a loaded machine distorts less).
    private func fullACDCRun(on model: TransformerModel, pairs: PromptPairs, shape: String, threshold: Float,
                             runGoal: String, perTestGoal: String) throws {
        func forwards() -> [(wall: Double, cpu: Double)] {
            (0..<3).map { _ in BenchTimer.wallAndCPUSeconds { _ = model.forward(pairs.clean) } }
        }
        var detail = "", tests = 0
        var forward = forwards()
        BenchLog.note("acdc: full edge-level ACDC, \(shape) ...")
        let run = try BenchTimer.wallAndCPUSeconds {
            let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
            let result = patching.acdc(ACDCOptions(threshold: threshold))
            tests = result.testCount
            detail = "τ \(threshold): \(result.testCount) tests, kept \(result.kept.count) of \(patching.graph.edges.count) edges, "
                + "KL of the corrupted run \(patching.corruptedValue), of the circuit \(result.finalValue)"
        }
        forward += forwards()
        BenchLog.note("acdc: \(detail)")
        report.record("acdc", "full edge-level ACDC, \(shape)", samples: BenchSamples(seconds: [run.wall]), goal: runGoal,
                      detail: detail + String(format: "; processor time %.1f s", run.cpu))
        let forwardWall = BenchSamples(seconds: forward.map(\.wall)).median, forwardCPU = BenchSamples(seconds: forward.map(\.cpu)).median
        report.record("reference", "forward \(shape)", samples: BenchSamples(seconds: forward.map(\.wall)),
                      detail: "3 before and 3 after the run")
        let perTest = Double(Swift.max(tests, 1))
        report.record("acdc", "full ACDC run, \(shape), cost per tested edge", value: run.wall / perTest,
                      unit: "s", reference: ("forward \(shape)", forwardWall), goal: perTestGoal,
                      detail: "whole run (setup included) / \(tests) tests, wall time")
        report.record("acdc", "full ACDC run, \(shape), processor time per tested edge", value: run.cpu / perTest,
                      unit: "s", reference: ("forward \(shape), processor time", forwardCPU), goal: perTestGoal,
                      detail: "whole run (setup included) / \(tests) tests, user + system time of both cores")
    }
}
