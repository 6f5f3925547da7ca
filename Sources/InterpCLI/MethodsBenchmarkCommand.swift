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
        task and prints each method's area under the ROC curve against the 4 true edges, and its time. With --model DIR \
        (written by `interp train --recipe known-circuit`) the model is that trained one, its task DIR/task.json and its \
        true edges DIR/circuit.json.
        """)

    @Option(help: "Seed of the distractor weights.") var seed: UInt64 = 0
    @Option(help: "Prompt pairs of the task (1-24).") var examples = 8
    @Option(help: ArgumentHelp("A known-circuit model directory (interp train --recipe known-circuit).", valueName: "dir"))
    var model: String?
    @OptionGroup var loading: ModelLoadingOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if !(1...24).contains(examples) { throw ValidationError("--examples must be 1 to 24") }
        if model == nil && loading.compute != .float32 {
            throw ValidationError("--compute \(loading.compute) needs --model DIR: the planted model is built in float32")
        }
    }

    func run() throws {
        let (patching, trueEdges, title) = try benchmark()
        let bar = ProgressBar("methods", forced: output.progress)
        let results = try patching.knownCircuitScores(EdgeScoringMethod.standard, trueEdges: trueEdges,
                                                      progress: { bar.update($0, of: $1, unit: "methods") })
        if output.json {
            return try Output.json(results.map { ["method": $0.method, "auroc": String(format: "%.4f", $0.area),
                                                  "seconds": String(format: "%.3f", $0.seconds)] })
        }
        print("\(title): \(trueEdges.count) true edges of \(patching.graph.edges.count)")
        let width = max(6, results.map(\.method.count).max() ?? 0) + 1
        print("method".padding(toLength: width, withPad: " ", startingAt: 0) + " AUROC   seconds")
        for r in results {
            print(r.method.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: " %.4f  %.3f", r.area, r.seconds))
        }
    }

    /// The patching setup, its true edges and a title: the planted model, or the trained model of `--model`.
    func benchmark() throws -> (EdgePatching, Set<ComputationGraph.Edge>, String) {
        guard let model else {
            let patching = try EdgePatching(model: PlantedCircuit.model(seed: seed), pairs: try PlantedCircuit.pairs(count: examples),
                                            metric: .logitDiff)
            return (patching, PlantedCircuit.trueEdges(in: patching.graph), "planted induction circuit")
        }
        let directory = URL(fileURLWithPath: model)
        let lm = try loading.load(from: directory)
        let taskURL = directory.appendingPathComponent("task.json")
        let task = try TaskFile(contentsOf: taskURL)
        let pairs = try TaskFile(task: task.task, examples: Array(task.examples.prefix(examples))).promptPairs(for: lm, source: taskURL.path)
        let patching = try EdgePatching(model: lm.model, pairs: pairs, metric: .logitDiff)
        let truth = try Circuit.read(from: directory.appendingPathComponent("circuit.json"))
        let byName = patching.graph.edgesByName()
        let edges = try truth.edges.map { edge in
            let name = truth.graph.name(of: edge)
            guard let found = byName[name] else { throw CLIError("\(model)/circuit.json: edge \(name) is not in the model's graph") }
            return found
        }
        warnUnlessCarried(faithfulness: patching.faithfulness(ofEdgeSets: [Set(edges)])[0],
                          circuitFile: directory.appendingPathComponent("circuit.json").path,
                          advice: "the AUROCs below do not measure recovering it")
        return (patching, Set(edges), "known-circuit model \(model)")
    }
}
