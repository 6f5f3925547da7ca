import ArgumentParser
import Circuits
import Foundation

/// `interp methods-benchmark`: every edge-scoring method's AUROC against a planted circuit.
struct MethodsBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "methods-benchmark", abstract: "Each edge method's AUROC against the known circuit of a hand-built model.",
        discussion: """
        Builds the planted induction model (3 layers of 2 heads and an MLP; a previous-token head and an induction head \
        form the circuit, every other component is a seeded random distractor writing a subspace nothing reads: see \
        PlantedCircuit), scores its edges with each method (EAP, EAP-IG, edge patching, ACDC, mask optimization) on its \
        task and prints each method's area under the ROC curve against the 4 true edges, and its time.
        """)

    @Option(help: "Seed of the distractor weights.") var seed: UInt64 = 0
    @Option(help: "Prompt pairs of the task (1-24).") var examples = 8
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if !(1...24).contains(examples) { throw ValidationError("--examples must be 1 to 24") }
    }

    func run() throws {
        let model = PlantedCircuit.model(seed: seed)
        let patching = try EdgePatching(model: model, pairs: try PlantedCircuit.pairs(count: examples), metric: .logitDiff)
        let bar = ProgressBar("methods", forced: output.progress)
        let results = try patching.knownCircuitScores(EdgeScoringMethod.standard, trueEdges: PlantedCircuit.trueEdges(in: patching.graph),
                                                      progress: { bar.update($0, of: $1, unit: "methods") })
        if output.json {
            return try Output.json(results.map { ["method": $0.method, "auroc": String(format: "%.4f", $0.area),
                                                  "seconds": String(format: "%.3f", $0.seconds)] })
        }
        print("planted induction circuit: \(PlantedCircuit.trueEdgeNames.count) true edges of \(patching.graph.edges.count)")
        let width = max(6, results.map(\.method.count).max() ?? 0) + 1
        print("method".padding(toLength: width, withPad: " ", startingAt: 0) + " AUROC   seconds")
        for r in results {
            print(r.method.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: " %.4f  %.3f", r.area, r.seconds))
        }
    }
}
