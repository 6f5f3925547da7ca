import ArgumentParser
import Circuits
import Foundation

/// What patched edges carry, as written on the command line (MIB's ablation names; `corrupted` = `counterfactual`).
enum AblationArgument: String, ExpressibleByArgument, CaseIterable {
    case corrupted, counterfactual, zero, mean, meanPositional = "mean-positional"

    /// Whether removed edges carry the corrupted run's outputs (zero and mean ablations ignore the corrupted prompts).
    var readsCorruptedPrompts: Bool { self == .corrupted || self == .counterfactual }

    func source(_ pairs: PromptPairs) -> EdgePatching.Source {
        switch self {
        case .corrupted, .counterfactual: return .corrupted
        case .zero: return .zero
        case .mean: return .meanOverPositions(pairs.clean)
        case .meanPositional: return .meanPerPosition(pairs.clean)
        }
    }
}

/// Options shared by the circuit commands.
struct CircuitOptions: ParsableArguments {
    @Option(help: "logit_diff, prob_diff, kl, loss, l2 or cosine.") var metric: MetricKind?
    @Option(help: """
        What a removed edge carries: corrupted (= counterfactual, the default), zero, mean (each sender's output averaged \
        over the clean prompts and their positions) or mean-positional (averaged over the clean prompts per position).
        """)
    var ablation: AblationArgument = .corrupted

    /// Edge patching of the pairs; refused when the clean and all-patched metrics (nearly) coincide, as
    /// faithfulness and the normalized figures divide by their difference.
    func patching(_ lm: LanguageModel, _ pairs: PromptPairs, defaultMetric: MetricKind, positions: PositionBuckets? = nil) throws -> EdgePatching {
        let patching = try EdgePatching(model: lm.model, pairs: pairs, source: ablation.source(pairs), positions: positions,
                                        metric: metric ?? defaultMetric)
        try patching.faithfulnessSpan.check(metric: (metric ?? defaultMetric).rawValue,
                                            zeroLabel: "with every edge patched (--ablation \(ablation.rawValue))")
        return patching
    }
}

/// `interp path-patch`: path patching between components.
struct PathPatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path-patch", abstract: "Path patching: the effect of senders on receivers through direct paths only.",
        discussion: """
        Senders: input, a3.h7, m5, or whole layers blocks.7.attn / layers.7.self_attn / blocks.7.mlp. Receivers: the same,
        a head's input a9.h9<q> / <k> / <v>, or logits. Several of each give the matrix of all pairs.
        Example: interp path-patch --task ioi.json --sender a0.h1 --sender layers.1.self_attn --receiver logits --receiver a2.h3<k>
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var pairs: PairOptions
    @Option(name: .customLong("sender"), help: "Sender component; repeatable.") var senders: [String]
    @Option(name: .customLong("receiver"), help: "Receiver component; repeatable.") var receivers: [String]
    @OptionGroup var circuit: CircuitOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let lm = try model.load()
        let patching = try circuit.patching(lm, try pairs.pairs(for: lm, counterfactual: circuit.ablation.readsCorruptedPrompts), defaultMetric: .logitDiff)
        let results = try patching.pathPatchingSweep(senders: senders, receivers: receivers)
        if output.json { return try Output.json(["paths": results.flatMap { $0 }]) }
        print("metric \(patching.metric.name): clean \(Output.number(patching.cleanValue)), corrupted \(Output.number(patching.corruptedValue))")
        print("effect = (patched − clean) / (corrupted − clean)")
        print("sender\\receiver".padding(toLength: 22, withPad: " ", startingAt: 0) + receivers.map { $0.padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
        for (sender, row) in zip(senders, results) {
            print(sender.padding(toLength: 22, withPad: " ", startingAt: 0) + row.map { Output.number($0.effect).padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
        }
    }
}

/// `interp acdc`: automatic circuit discovery.
struct ACDCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acdc", abstract: "ACDC: remove every edge whose removal worsens the metric by less than the threshold.",
        discussion: """
        Example: interp acdc --task ioi.json --threshold 0.05 --metric kl --out circuit.json --html circuit.html
        Several --threshold values run a sweep (one circuit each; files get the threshold in their name).
        Position-aware: --positions IO,S1,S2,END (the task file's labels) or --per-position give edges per position, \
        named a5.h1@S2->a9.h9<k>@S2.
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var pairs: PairOptions
    @Option(name: .customLong("threshold"), help: "τ; repeatable for a sweep.") var thresholds: [Float]
    @Flag(help: "Compare |change| with τ instead of the signed worsening.") var absolute = false
    @Flag(help: "Test heads and MLPs as units instead of single edges.") var nodes = false
    @OptionGroup var circuit: CircuitOptions
    @OptionGroup var positions: PositionOptions
    @OptionGroup var checkpoints: CheckpointOptions
    @Option(help: ArgumentHelp("Write the circuit JSON here.", valueName: "file")) var out: String?
    @OptionGroup var html: HTMLOptions
    @OptionGroup var view: CircuitViewOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if thresholds.isEmpty { throw ValidationError("give at least one --threshold") }
        if checkpoints.checkpoint != nil && (thresholds.count > 1 || nodes) {
            throw ValidationError("--checkpoint needs edge-level ACDC with one --threshold")
        }
        if let bad = thresholds.first(where: { $0 < 0 || !$0.isFinite }) {
            throw ValidationError("--threshold must be a non-negative number, got \(bad)")
        }
    }

    func run() throws {
        let lm = try model.load()
        let prompts = try pairs.pairs(for: lm, counterfactual: circuit.ablation.readsCorruptedPrompts)
        let patching = try circuit.patching(lm, prompts, defaultMetric: .kl, positions: try positions.buckets(prompts))
        var summaries: [CircuitSummary] = []
        for threshold in thresholds {
            let bar = ProgressBar("ACDC τ=\(threshold)", forced: output.progress)
            let options = ACDCOptions(threshold: threshold, absoluteValue: absolute, nodeLevel: nodes)
            let result: ACDCResult
            if let writer: CheckpointWriter<ACDCState> = checkpoints.writer() {
                let saved = try checkpoints.saved(ACDCState.self, kind: "an ACDC checkpoint")
                result = try patching.acdcEdges(options, resumingFrom: saved, checkpoint: writer.offer,
                                                progress: { bar.update($0, of: $1, unit: "tests") }).result
                writer.finish()
            } else {
                result = patching.acdc(options) { bar.update($0, of: $1, unit: options.nodeLevel ? "nodes" : "tests") }
            }
            var found = result.circuit.pruned()
            found.metadata.merge(try Provenance.metadata(lm, pairs, patching), uniquingKeysWith: { $1 })
            let faithfulness = patching.faithfulness(of: found)
            found.metadata["faithfulness"] = Output.number(faithfulness)
            let suffix = thresholds.count > 1 ? "-\(threshold)" : ""
            if let out { try Output.write(try found.jsonData(), to: Paths.suffixed(out, suffix)) }
            if let path = html.html { try Views.write(circuit: found, title: "ACDC τ=\(threshold)", style: view.style, to: Paths.suffixed(path, suffix)) }
            summaries.append(CircuitSummary(found, faithfulness: faithfulness, tests: result.testCount, threshold: threshold))
        }
        try CircuitSummary.emit(summaries, json: output.json)
    }
}

/// `interp eap`: edge attribution patching.
struct EAPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eap", abstract: "EAP / EAP-IG: score every edge from gradients, then keep the top edges.",
        discussion: """
        Example: interp eap --task ioi.json --ig-steps 5 --top-n 200 --out circuit.json --html circuit.html
        Without --ig-steps, plain EAP (two forward passes and one backward pass).
        --method picks one of EAP-IG's attribution methods: eap, eap-ig-inputs, eap-ig-activations, clean-corrupted, exact \
        (every edge patched alone, batched), information-flow-routes (no corrupted run). Node and neuron scores: interp eap-nodes.
        The --out file is also an EAP-IG / MIB importance file (Graph.from_json reads it); its scores are of the metric, \
        MIB's of the loss (minus the metric): see interp evaluate --mib --negate-scores.
        Position-aware: --positions IO,S1,S2,END or --per-position score each edge per position (no EAP-IG cfg is written).
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var pairs: PairOptions
    @Option(help: "EAP-IG interpolation steps (default: plain EAP).") var igSteps: Int?
    @Option(help: "eap, eap-ig-inputs, eap-ig-activations, clean-corrupted, exact or information-flow-routes (default: eap, or eap-ig-inputs with --ig-steps).")
    var method: String?
    @Option(name: .customLong("top-n"), help: "Keep the n highest-|score| edges.") var topN = 100
    @Option(help: ArgumentHelp("Instead of --top-n, keep the top-n circuit whose faithfulness reaches this (bisection on n).",
                               valueName: "f")) var targetFaithfulness: Float?
    @Option(help: "The largest circuit --target-faithfulness considers (default: every edge).") var maxEdges: Int?
    @Flag(help: "Grow the circuit greedily from the logits instead of taking the global top n.") var greedy = false
    @Option(help: ArgumentHelp("Also print a faithfulness curve at these sizes (comma-separated).", valueName: "sizes")) var curve: String?
    @OptionGroup var circuit: CircuitOptions
    @OptionGroup var positions: PositionOptions
    @Option(help: ArgumentHelp("Write the circuit JSON here.", valueName: "file")) var out: String?
    @OptionGroup var html: HTMLOptions
    @OptionGroup var view: CircuitViewOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let igSteps, igSteps < 1 { throw ValidationError("--ig-steps must be at least 1") }
        if topN < 1 { throw ValidationError("--top-n must be at least 1") }
        if let targetFaithfulness, !targetFaithfulness.isFinite { throw ValidationError("--target-faithfulness must be a number") }
        if targetFaithfulness != nil && greedy { throw ValidationError("--target-faithfulness selects top-n circuits; drop --greedy") }
        if let maxEdges, maxEdges < 1 { throw ValidationError("--max-edges must be at least 1") }
    }

    func run() throws {
        let lm = try model.load()
        let prompts = try pairs.pairs(for: lm, counterfactual: circuit.ablation.readsCorruptedPrompts)
        let patching = try circuit.patching(lm, prompts, defaultMetric: .logitDiff, positions: try positions.buckets(prompts))
        let method = try EdgeAttributionMethod(name: self.method ?? (igSteps == nil ? "eap" : "eap-ig-inputs"), steps: igSteps)
        let scores = try patching.edgeAttribution(method, progress: ProgressBar("EAP", forced: output.progress).reporter)
        var found = (greedy ? Circuit.greedy(scores, count: topN) : Circuit.top(scores, count: topN)).pruned()
        let sizes = try curve.map(Paths.sizes) ?? []
        let faithfulnessCurve = sizes.isEmpty ? nil : patching.faithfulnessCurve(scores, sizes: sizes)
        if let targetFaithfulness {
            let bar = ProgressBar("EAP", forced: output.progress)
            let target = patching.circuit(reaching: targetFaithfulness, scores: scores, maxSize: maxEdges,
                                          known: faithfulnessCurve?.points ?? [], progress: bar.reporter)
            found = target.circuit ?? Circuit.top(scores, count: target.maxSize).pruned()
            found.metadata["faithfulness_target"] = target.summary
            if !output.json {
                print("target faithfulness \(targetFaithfulness): \(target.summary)")
                print("sizes evaluated: " + target.points.map { "\($0.edgeCount): \(Output.number($0.faithfulness, digits: 3))" }.joined(separator: ", "))
            }
        }
        found.metadata.merge(try Provenance.metadata(lm, pairs, patching), uniquingKeysWith: { $1 })
        let faithfulness = patching.faithfulness(of: found)
        found.metadata["faithfulness"] = Output.number(faithfulness)
        if let out { try Output.write(try found.jsonData(modelWidth: lm.model.dModel), to: out) }
        if let path = html.html { try Views.write(circuit: found, title: found.metadata["method"] ?? "EAP", curve: faithfulnessCurve, style: view.style, to: path) }
        try CircuitSummary.emit([CircuitSummary(found, faithfulness: faithfulness, tests: nil, threshold: nil, curve: faithfulnessCurve)], json: output.json)
    }
}

/// `interp evaluate`: faithfulness of a saved circuit.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate", abstract: "Faithfulness of a circuit: the normalized metric with every edge outside it patched.",
        discussion: """
        Example: interp evaluate --task ioi.json --circuit circuit.json --metric logit_diff
        With --mib, the circuit file's edge scores (ours or an EAP-IG / MIB importance file) are evaluated as the MIB \
        circuit track does: faithfulness of the top-n edges at fractions .001 … 1 of all edges, CPR and CMD.
        Example: interp evaluate --task ioi.json --circuit importances.json --mib --ablation mean-positional
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var pairs: PairOptions
    @Option(help: ArgumentHelp("A circuit JSON file.", valueName: "file")) var circuit: String
    @OptionGroup var circuitOptions: CircuitOptions
    @OptionGroup var positions: PositionOptions
    @OptionGroup var mibOptions: MIBOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if !mibOptions.mib && (mibOptions.ranking != nil || mibOptions.trueCircuit != nil || mibOptions.negateScores) {
            throw ValidationError("--ranking, --true-circuit and --negate-scores need --mib")
        }
    }

    func run() throws {
        let lm = try model.load()
        let found = try Circuit.read(from: URL(fileURLWithPath: circuit))
        let prompts = try pairs.pairs(for: lm, counterfactual: circuitOptions.ablation.readsCorruptedPrompts)
        let patching = try circuitOptions.patching(lm, prompts, defaultMetric: .logitDiff,
                                                   positions: try positions.buckets(prompts, circuit: found.graph, file: circuit))
        guard found.graph.layerCount == patching.graph.layerCount, found.graph.headCount == patching.graph.headCount,
              found.graph.keyValueHeadCount == patching.graph.keyValueHeadCount, found.graph.hasMLPs == patching.graph.hasMLPs else {
            throw CLIError("\(circuit): the circuit's graph (\(found.graph.layerCount) layers, \(found.graph.headCount) heads) does not match the model's (\(patching.graph.layerCount) layers, \(patching.graph.headCount) heads)")
        }
        let same = Circuit(graph: patching.graph, edges: found.edges, scores: found.scores, metadata: found.metadata)
        if mibOptions.mib {
            return try MIBReport.run(same, from: circuit, patching: patching, options: mibOptions, ablation: circuitOptions.ablation, json: output.json)
        }
        try CircuitSummary.emit([CircuitSummary(same, faithfulness: patching.faithfulness(of: same), tests: nil, threshold: nil)], json: output.json)
    }
}

/// `interp graph`: draw a saved circuit.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph", abstract: "Draw a circuit file as self-contained HTML/SVG (and Graphviz DOT).",
        discussion: "Example: interp graph --circuit circuit.json --html circuit.html --dot circuit.dot")

    @Option(help: ArgumentHelp("A circuit JSON file.", valueName: "file")) var circuit: String
    @OptionGroup var html: HTMLOptions
    @OptionGroup var view: CircuitViewOptions
    @Option(help: ArgumentHelp("Write Graphviz DOT here.", valueName: "file")) var dot: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if html.html == nil && dot == nil && !output.json { throw ValidationError("give --html FILE, --dot FILE or --json") }
    }

    func run() throws {
        let found = try Circuit.read(from: URL(fileURLWithPath: circuit))
        if let path = html.html { try Views.write(circuit: found, title: found.metadata["method"] ?? "circuit", style: view.style, to: path) }
        if let dot { try Output.write(Data(found.dot().utf8), to: dot) }
        if output.json {
            try Output.json(CircuitSummary(found, faithfulness: found.metadata["faithfulness"].flatMap(Float.init), tests: nil, threshold: nil))
        }
    }
}

/// The printed and JSON summary of a found circuit.
struct CircuitSummary: Encodable {
    let method: String?, threshold: Float?, edges: Int, totalEdges: Int, nodes: [String], faithfulness: Float?, tests: Int?
    let topEdges: [String]
    let curve: FaithfulnessCurve?

    init(_ circuit: Circuit, faithfulness: Float?, tests: Int?, threshold: Float?, curve: FaithfulnessCurve? = nil) {
        method = circuit.metadata["method"]
        self.threshold = threshold
        edges = circuit.edges.count
        totalEdges = circuit.graph.edges.count
        nodes = circuit.graph.isPositional ? circuit.positionalNodes : circuit.nodes
        self.faithfulness = faithfulness
        self.tests = tests
        topEdges = circuit.edges.sorted { Swift.abs(circuit.scores[$0] ?? 0) > Swift.abs(circuit.scores[$1] ?? 0) }
            .prefix(12).map(circuit.graph.name(of:))
        self.curve = curve
    }

    static func emit(_ summaries: [CircuitSummary], json: Bool) throws {
        if json { return try Output.json(summaries.count == 1 ? AnyEncodable(summaries[0]) : AnyEncodable(summaries)) }
        for s in summaries {
            var line = "\(s.method ?? "circuit")\(s.threshold.map { " τ=\($0)" } ?? ""): \(s.nodes.count) nodes, \(s.edges) of \(s.totalEdges) edges"
            if let f = s.faithfulness { line += ", faithfulness \(Output.number(f))" }
            if let t = s.tests { line += ", \(t) edges tested" }
            print(line)
            print("  nodes: " + s.nodes.joined(separator: " "))
            if !s.topEdges.isEmpty { print("  top edges: " + s.topEdges.joined(separator: ", ")) }
            if let curve = s.curve {
                print("  faithfulness curve: " + curve.points.map { "\($0.edgeCount): \(Output.number($0.faithfulness, digits: 3))" }.joined(separator: ", "))
                print("  area under curve \(Output.number(curve.area)), area from 1 \(Output.number(curve.areaFromOne))")
            }
        }
    }
}

/// Type erasure for printing one value or a list as JSON.
struct AnyEncodable: Encodable {
    let encodeValue: (Encoder) throws -> Void
    init(_ value: some Encodable) { encodeValue = value.encode }
    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}

/// Metadata recorded in circuit files.
enum Provenance {
    static func metadata(_ lm: LanguageModel, _ pairs: PairOptions, _ patching: EdgePatching) throws -> [String: String] {
        ["model": lm.directory.lastPathComponent, "task": pairs.task ?? "command line", "metric": patching.metric.name,
         "examples": "\(patching.pairs.count)"]
    }
}

/// Small helpers for file names and lists on the command line.
enum Paths {
    /// `circuit.json` + `-0.1` → `circuit-0.1.json`.
    static func suffixed(_ path: String, _ suffix: String) -> String {
        guard !suffix.isEmpty else { return path }
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        return url.deletingPathExtension().path + suffix + (ext.isEmpty ? "" : "." + ext)
    }

    /// `10,100,1000` → `[10, 100, 1000]`.
    static func sizes(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { part in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n > 0 else {
                throw CLIError("--curve: '\(part)' is not a positive edge count")
            }
            return n
        }
    }
}
