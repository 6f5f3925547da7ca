import ArgumentParser
import Circuits
import Foundation

/// `interp attribute --atp-star` (or `--qk-fix`, `--grad-drop`): AtP* node attribution.
struct NodeAttributionOptions: ParsableArguments {
    @Flag(name: .customLong("atp-star"), help: "AtP* node attribution: the QK fix and GradDrop (Kramár et al. 2024).")
    var atpStar = false
    @Flag(name: .customLong("qk-fix"), help: "Node attribution with the QK fix only (exact attention pattern for query and key patches).")
    var qkFix = false
    @Flag(name: .customLong("grad-drop"), help: "Node attribution with the GradDrop score only.")
    var gradDrop = false
    @Flag(help: "With node attribution: also one node per MLP neuron (mlp.hook_post).")
    var neurons = false
    @Flag(name: .customLong("compare-exact"),
          help: "With node attribution: also patch every node exactly and report each estimate's rank correlation and missed nodes.")
    var compareExact = false

    /// Whether node attribution was asked for.
    var isRequested: Bool { atpStar || qkFix || gradDrop }

    func options(byPosition: Bool) -> AtPStar.Options {
        AtPStar.Options(qkFix: atpStar || qkFix, gradDrop: atpStar || gradDrop, neurons: neurons, byPosition: byPosition)
    }

    /// Runs AtP* and prints its result: JSON, or the nodes of largest effect and the comparisons as text.
    func run(model: TransformerModel, pairs: PromptPairs, metric: Metric, direction: PatchDirection,
             byPosition: Bool, json: Bool) throws {
        let atpStar = AtPStar(model: model, pairs: pairs, metric: metric, direction: direction, options: options(byPosition: byPosition))
        let result = try atpStar.attribute(exact: compareExact)
        if json { return try Output.json(result) }
        print("AtP* nodes — \(result.metric), \(result.direction); clean \(Output.number(result.cleanValue)), corrupted \(Output.number(result.corruptedValue))")
        func score(_ e: NodeAttribution.Entry) -> Float { Swift.abs(e.exact ?? e.gradDrop ?? e.atpQKFix ?? e.atp) }
        print(["node", "atp", "atp_qk_fix", "grad_drop", "exact"].joined(separator: "\t"))
        for entry in result.entries.sorted(by: { score($0) > score($1) }).prefix(20) {
            let cells = [entry.atp, entry.atpQKFix, entry.gradDrop, entry.exact].map { $0.map { Output.number($0) } ?? "-" }
            print(([entry.node] + cells).joined(separator: "\t"))
        }
        for comparison in result.comparisons ?? [] {
            let rho = comparison.spearman.map { Output.number($0) } ?? "-"
            print("\(comparison.estimator): Spearman ρ(|estimate|, |exact|) \(rho); missed (|exact| ≥ \(comparison.threshold) max): "
                  + (comparison.missed.isEmpty ? "none" : comparison.missed.joined(separator: ", ")))
        }
        let forward = result.seconds["forward"] ?? 0
        let stages = result.seconds.filter { $0.key != "forward" }.sorted { $0.key < $1.key }
        print("time (× one forward pass of the batch, \(String(format: "%.3f", forward)) s): "
              + stages.map { "\($0.key) \(String(format: "%.1f", forward > 0 ? $0.value / forward : 0))" }.joined(separator: ", "))
    }
}
