import Circuits

extension CircuitBench {
    /// One mask optimization step (sampling, the masked forward and backward pass over every edge, the Adam
    /// update) against a plain forward pass of the batch, and EAP's one forward and backward pass for scale.
    func masks() throws {
        let pairs = try pairs()
        let reference = models.pairsReference(pairs)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        let edges = patching.graph.edges.count
        let steps = 3
        let run = try report.time("masks", "mask optimization, \(steps) steps over \(edges) edges, \(pairs.count)x\(pairs.length)",
                                  detail: "hard concrete; setup cached") {
            _ = try patching.optimizeMasks(MaskOptimizationOptions(steps: steps))
        }
        report.record("masks", "mask optimization step, \(pairs.count)x\(pairs.length)", value: run.median / Double(steps), unit: "s",
                      reference: (reference.name, reference.seconds), goal: "<= 10x",
                      detail: "one masked forward and backward pass with every edge's fraction, and the Adam update")
    }
}
