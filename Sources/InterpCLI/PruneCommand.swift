import ArgumentParser
import Circuits
import Foundation

/// `interp prune`: mask optimization (edge pruning / UGS).
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Mask optimization: learn a keep probability per edge with a sparsity penalty, keep those above ½.",
        discussion: """
        Example: interp prune --task ioi.json --steps 300 --sparsity 0.01 --seed 0 --checkpoint masks.json --out circuit.json
        --sampler hard-concrete is edge pruning (Bhaskar et al. 2024: hard concrete masks, L0 penalty); --sampler ugs is \
        MIB's uniform gradient sampling baseline (Li & Janson 2024). The loss is the metric (KL to the clean run by \
        default; negated when higher is better) plus λ·(expected edge count). Runs are deterministic under --seed; with \
        --checkpoint the state is saved every 50 steps (at most once every 5 seconds) and a rerun continues from it (--resume). --target-edges N or \
        --target-sparsity f makes λ a Lagrange multiplier (edge pruning's targeted sparsity): it rises while more than \
        the target are kept and falls while fewer are; the circuit is then exactly the target's number of highest mask \
        logits (not pruned further). --positions IO,S1,S2,END or --per-position learns one mask per positional edge.
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var pairs: PairOptions
    @OptionGroup var positions: PositionOptions
    @Option(help: "Optimization steps.") var steps = 200
    @Option(help: "λ, the sparsity penalty per edge (with a target: λ's starting value).") var sparsity: Float = 0.01
    @Option(help: "Steer λ (a Lagrange multiplier) so that about this many edges remain.") var targetEdges: Int?
    @Option(help: "Steer λ so that this fraction of the edges is removed (0-1).") var targetSparsity: Double?
    @Option(help: "λ's ascent rate when steering to a target.") var multiplierLearningRate: Float = 0.01
    @Option(help: "hard-concrete (edge pruning) or ugs (uniform gradient sampling).") var sampler: MaskOptimizationOptions.Sampler = .hardConcrete
    @Option(help: "Adam's learning rate on the mask logits.") var learningRate: Float = 0.1
    @Option(help: "Seed of the mask samples.") var seed: UInt64 = 0
    @Option(name: .customLong("top-n"), help: "Keep the n most probable edges instead of those above ½.") var topN: Int?
    @Option(help: ArgumentHelp("Also print a faithfulness curve at these sizes (comma-separated).", valueName: "sizes")) var curve: String?
    @OptionGroup var circuit: CircuitOptions
    @OptionGroup var checkpoints: CheckpointOptions
    @Option(help: ArgumentHelp("Write the circuit JSON here.", valueName: "file")) var out: String?
    @OptionGroup var html: HTMLOptions
    @OptionGroup var view: CircuitViewOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if !(sparsity >= 0) || !sparsity.isFinite { throw ValidationError("--sparsity must be a non-negative number") }
        if !(learningRate > 0) || !learningRate.isFinite { throw ValidationError("--learning-rate must be positive") }
        if let topN, topN < 1 { throw ValidationError("--top-n must be at least 1") }
        if targetEdges != nil && targetSparsity != nil { throw ValidationError("give --target-edges or --target-sparsity, not both") }
        if let targetEdges, targetEdges < 0 { throw ValidationError("--target-edges must not be negative") }
        if let targetSparsity, !(0...1).contains(targetSparsity) { throw ValidationError("--target-sparsity must be 0 to 1") }
        if !(multiplierLearningRate > 0) || !multiplierLearningRate.isFinite {
            throw ValidationError("--multiplier-learning-rate must be positive")
        }
    }

    func run() throws {
        let lm = try model.load()
        let prompts = try pairs.pairs(for: lm, counterfactual: circuit.ablation.readsCorruptedPrompts)
        let patching = try circuit.patching(lm, prompts, defaultMetric: .kl, positions: try positions.buckets(prompts))
        let edgeCount = patching.graph.edges.count
        let target = targetEdges ?? targetSparsity.map { Int(((1 - $0) * Double(edgeCount)).rounded()) }
        if let target, target > edgeCount { throw CLIError("--target-edges \(target) exceeds the graph's \(edgeCount) edges") }
        let options = MaskOptimizationOptions(sampler: sampler, steps: steps, sparsity: sparsity, learningRate: learningRate, seed: seed,
                                              targetEdges: target, multiplierLearningRate: multiplierLearningRate)
        let saved = try checkpoints.saved(MaskOptimizationState.self, kind: "a mask optimization checkpoint")
        let bar = ProgressBar("prune", forced: output.progress)
        let writer: CheckpointWriter<MaskOptimizationState>? = checkpoints.writer()
        let result = try patching.optimizeMasks(options, resumingFrom: saved, checkpoint: writer.map { $0.offer },
                                                progress: { bar.update($0, of: $1, unit: "steps") })
        writer?.finish()
        let chosen = topN.map { Circuit.top(result.scores, count: $0) } ?? result.circuit
        // A target count is exact: its edges are not pruned to the paths from input to logits.
        var found = target != nil && topN == nil ? chosen : chosen.pruned()
        found.metadata.merge(try Provenance.metadata(lm, pairs, patching), uniquingKeysWith: { $1 })
        let faithfulness = patching.faithfulness(of: found)
        found.metadata["faithfulness"] = Output.number(faithfulness)
        let sizes = try curve.map(Paths.sizes) ?? []
        let faithfulnessCurve = sizes.isEmpty ? nil : patching.faithfulnessCurve(result.scores, sizes: sizes)
        if let out { try Output.write(try found.jsonData(modelWidth: lm.model.dModel), to: out) }
        if let path = html.html { try Views.write(circuit: found, title: found.metadata["method"] ?? "prune", curve: faithfulnessCurve, style: view.style, to: path) }
        if !output.json {
            print("final loss \(Output.number(result.state.loss)) after \(result.state.step) steps"
                  + (target.map { ", λ \(Output.number(result.state.multiplier)), \(result.circuit.edges.count) edges kept for the target of \($0)" } ?? ""))
        }
        try CircuitSummary.emit([CircuitSummary(found, faithfulness: faithfulness, tests: nil, threshold: nil, curve: faithfulnessCurve)], json: output.json)
    }
}

extension MaskOptimizationOptions.Sampler: ExpressibleByArgument {}
