import ArgumentParser
import Circuits

/// `interp eap-nodes`: node or MLP-neuron scores with EAP-IG's attribution methods.
struct NodeAttributionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eap-nodes", abstract: "Score every node (embeddings, heads, MLPs) or every MLP neuron with EAP / EAP-IG / exact patching.",
        discussion: """
        Node scores as the EAP-IG library's attribute_node: (source − clean output) · ∂m/∂output summed over positions, the \
        gradient averaged over the method's runs; exact patches the node's output everywhere it is read. With --neurons, \
        every MLP hidden unit (after the activation), patched from the corrupted prompts (gradient methods only).
        Example: interp eap-nodes --task ioi.json --method eap-ig-inputs --ig-steps 5 --top-n 20
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var pairs: PairOptions
    @Option(help: "eap, eap-ig-inputs, eap-ig-activations, clean-corrupted or exact (default: eap, or eap-ig-inputs with --ig-steps).")
    var method: String?
    @Option(help: "EAP-IG interpolation steps.") var igSteps: Int?
    @Flag(help: "Score MLP neurons instead of nodes.") var neurons = false
    @Option(name: .customLong("top-n"), help: "Print the n highest-|score| nodes or neurons (text output).") var topN = 20
    @OptionGroup var circuit: CircuitOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if topN < 1 { throw ValidationError("--top-n must be at least 1") }
    }

    func run() throws {
        let lm = try model.load()
        let patching = try circuit.patching(lm, try pairs.pairs(for: lm, counterfactual: circuit.ablation.readsCorruptedPrompts), defaultMetric: .logitDiff)
        let method = try EdgeAttributionMethod(name: self.method ?? (igSteps == nil ? "eap" : "eap-ig-inputs"), steps: igSteps)
        let progress = ProgressBar("EAP", forced: output.progress).reporter
        let ranked: [(name: String, score: Float)]
        var all: [String: [Float]] = [:]
        if neurons {
            let scores = try patching.neuronAttribution(method, progress: progress)
            for (l, row) in scores.enumerated() { all["m\(l)"] = row }
            ranked = scores.enumerated().flatMap { l, row in row.enumerated().map { ("m\(l).n\($0.offset)", $0.element) } }
                .sorted { Swift.abs($0.1) > Swift.abs($1.1) }
        } else {
            let scores = try patching.nodeAttribution(method, progress: progress)
            for (node, score) in zip(scores.graph.senders, scores.values) { all[node.name] = [score] }
            ranked = scores.ranked.map { ($0.node.name, $0.score) }
        }
        if output.json { return try Output.json(NodeScoresJSON(method: method.name, level: neurons ? "neuron" : "node", scores: all)) }
        print("\(method.name) \(neurons ? "neuron" : "node") scores (metric \(Output.number(patching.cleanValue)) on the clean prompts):")
        for (name, score) in ranked.prefix(topN) { print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(Output.number(score))") }
    }
}

/// The JSON of `interp eap-nodes`: scores by node name (one value), or by MLP (one value per neuron).
private struct NodeScoresJSON: Encodable {
    let method: String
    let level: String
    let scores: [String: [Float]]
}
