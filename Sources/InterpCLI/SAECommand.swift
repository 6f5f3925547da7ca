import ArgumentParser
import Circuits
import Foundation
import Reports

/// `interp sae`: a SAELens sparse autoencoder on a prompt (top features, reconstruction error, the cost of splicing
/// it in), or its features' attribution on clean/corrupted prompt pairs.
struct SAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae", abstract: "Read a SAELens SAE's features on a prompt, or attribute a metric to them.",
        discussion: """
        --sae names a SAELens directory (cfg.json + sae_weights.safetensors; standard, jumprelu, topk or gated), \
        spliced at its cfg's hook, or a Gemma Scope params.npz followed by its hook \
        (layer_12/width_16k/average_l0_82/params.npz:blocks.12.hook_resid_post). With --prompt: the top features per position, the reconstruction's fraction of \
        variance unexplained, and the next-token loss and last-position logits with the activation replaced by the \
        reconstruction (no error term). With --clean/--corrupted/--answer/--wrong or --task: attribution patching \
        of every feature and error node (Marks et al. 2024), (f(corrupted) − f(clean)) · ∂m/∂f at the clean run, \
        m the logit difference, with the error terms kept; --sae may be repeated.
        Examples:
          interp sae --model ~/models/gpt2 --sae saes/blocks.8.hook_resid_pre --prompt "The Eiffel Tower is in"
          interp sae --model ~/models/gpt2 --sae saes/l8 --task ioi.json --top-n 20
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: ArgumentHelp("A SAELens SAE directory, or a Gemma Scope params.npz:HOOK (repeat for several; one with --prompt).", valueName: "dir")) var sae: [String]
    @Option(help: "The prompt whose features to show.") var prompt: String?
    @Option(help: "The prompt that shows the behaviour.") var clean: String?
    @Option(help: "The contrasting prompt (same token length).") var corrupted: String?
    @Option(help: "The expected next token, e.g. \" Mary\" (or #id).") var answer: String?
    @Option(help: "The contrasting wrong token, e.g. \" John\" (or #id).") var wrong: String?
    @Option(help: ArgumentHelp("A task file (JSON or JSONL of {clean, corrupted, answer, wrong}).", valueName: "file")) var task: String?
    @Option(help: "Use at most this many examples of the task file.") var limit: Int?
    @Option(name: .customLong("top-k"), help: "Features shown per position (--prompt).") var topK = 5
    @Option(name: .customLong("top-n"), help: "Nodes shown by attribution (pairs).") var topN = 20
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if sae.isEmpty { throw ValidationError("give --sae DIR") }
        let pairGiven = [clean, corrupted, answer, wrong, task].contains { $0 != nil }
        if (prompt == nil) == !pairGiven { throw ValidationError("give either --prompt, or --clean/--corrupted/--answer/--wrong or --task") }
        if prompt != nil && sae.count > 1 { throw ValidationError("--prompt reads one SAE; give --sae once") }
        if topK < 1 || topN < 1 { throw ValidationError("--top-k and --top-n must be at least 1") }
    }

    func run() throws {
        let lm = try model.load()
        let saes = try sae.map { try Self.load($0, model: lm.model) }
        if let prompt { try features(lm, saes[0], prompt: prompt) } else { try attribution(lm, saes) }
    }

    /// A SAELens directory, or a Gemma Scope `params.npz` with its hook after a colon.
    static func load(_ argument: String, model: TransformerModel) throws -> SparseAutoencoder {
        if let colon = argument.range(of: ".npz:", options: .backwards) {
            return try SparseAutoencoder(gemmaScope: URL(fileURLWithPath: String(argument[..<colon.lowerBound]) + ".npz"),
                                         hook: String(argument[colon.upperBound...]), model: model)
        }
        if argument.hasSuffix(".npz") {
            throw ValidationError("--sae \(argument): a Gemma Scope params.npz does not record its hook; give it after a colon, e.g. --sae \(argument):blocks.12.hook_resid_post")
        }
        return try SparseAutoencoder(contentsOf: URL(fileURLWithPath: argument), model: model)
    }

    /// The pair options of the other causal commands, from this command's flags.
    private func pairOptions() -> PairOptions {
        var options = PairOptions()
        (options.clean, options.corrupted, options.answer, options.wrong, options.task, options.limit) = (clean, corrupted, answer, wrong, task, limit)
        return options
    }

    private func features(_ lm: LanguageModel, _ sae: SparseAutoencoder, prompt: String) throws {
        let ids = try lm.tokens(prompt)
        let report = try SAEReconstruction(model: lm.model, sae: sae, tokens: ids)
        let width = sae.configuration.dSAE
        let top = report.features.topK(min(topK, width))
        let positions = ids.indices.map { p in
            PositionJSON(position: p, token: lm.text(of: ids[p]),
                         features: zip(top.indices[p], top.values.scalars[(p * top.indices[p].count)...]).filter { $0.1 > 0 }
                             .map { FeatureJSON(feature: $0.0, activation: $0.1) })
        }
        let predicted = (report.logits.argmax(), report.splicedLogits.argmax())
        let result = FeaturesJSON(hook: sae.hookName, architecture: sae.configuration.architecture.rawValue, dSAE: width,
                                  fractionOfVarianceUnexplained: report.fractionOfVarianceUnexplained,
                                  meanSquaredError: report.meanSquaredError, l0: report.l0, loss: report.loss,
                                  splicedLoss: report.splicedLoss,
                                  maxLogitChange: (report.splicedLogits - report.logits).abs().scalars.max() ?? 0,
                                  prediction: lm.text(of: predicted.0), splicedPrediction: lm.text(of: predicted.1), positions: positions)
        if output.json { return try Output.json(result) }
        print("SAE at \(result.hook) (\(result.architecture), \(width) features) on \(ids.count) tokens")
        print("reconstruction: FVU \(Output.number(result.fractionOfVarianceUnexplained)), MSE \(Output.number(result.meanSquaredError, digits: 6)), "
            + "L0 \(Output.number(result.l0, digits: 1)) features per position")
        print("spliced without the error term: loss \(Output.number(result.loss)) -> \(Output.number(result.splicedLoss)) "
            + "(\(result.splicedLoss >= result.loss ? "+" : "")\(Output.number(result.splicedLoss - result.loss))); last position: "
            + "max |Δ logit| \(Output.number(result.maxLogitChange)), top token \(Markup.visibleToken(result.prediction)) -> \(Markup.visibleToken(result.splicedPrediction))")
        print("top features per position:")
        for position in positions {
            let label = "\(position.position) \(Markup.visibleToken(position.token))".padding(toLength: 16, withPad: " ", startingAt: 0)
            print("  \(label) " + position.features.map { "f\($0.feature) \(Output.number($0.activation, digits: 3))" }.joined(separator: "  "))
        }
    }

    private func attribution(_ lm: LanguageModel, _ saes: [SparseAutoencoder]) throws {
        let options = pairOptions()
        try options.validate()
        let pairs = try options.pairs(for: lm)
        let attribution = try SAEFeatureAttribution(model: lm.model, saes: saes, pairs: pairs,
                                                    metric: .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs))
        let result = try attribution.attribute()
        let byPosition = result.top(topN), totals = result.top(topN, byPosition: false)
        if output.json {
            return try Output.json(AttributionJSON(metric: "logit_diff", cleanValue: result.cleanValue, corruptedValue: result.corruptedValue,
                                                   byPosition: byPosition.map { NodeJSON($0) }, total: totals.map { NodeJSON($0) }))
        }
        print("SAE feature attribution (logit difference: clean \(Output.number(result.cleanValue)), corrupted \(Output.number(result.corruptedValue)))")
        for (title, entries) in [("summed over positions", totals), ("per position", byPosition)] {
            print("top nodes \(title):")
            for entry in entries { print("  \(entry.node.padding(toLength: 40, withPad: " ", startingAt: 0)) \(Output.number(entry.score))") }
        }
    }
}

private struct FeatureJSON: Encodable { let feature: Int; let activation: Float }
private struct PositionJSON: Encodable { let position: Int; let token: String; let features: [FeatureJSON] }
private struct FeaturesJSON: Encodable {
    let hook: String
    let architecture: String
    let dSAE: Int
    let fractionOfVarianceUnexplained: Float
    let meanSquaredError: Float
    let l0: Float
    let loss: Float
    let splicedLoss: Float
    let maxLogitChange: Float
    let prediction: String
    let splicedPrediction: String
    let positions: [PositionJSON]
}
private struct NodeJSON: Encodable {
    let node: String, hook: String, feature: Int?, position: Int?, score: Float
    init(_ entry: SAEFeatureAttribution.Entry) {
        (node, hook, feature, position, score) = (entry.node, entry.hook, entry.feature, entry.position, entry.score)
    }
}
private struct AttributionJSON: Encodable {
    let metric: String
    let cleanValue: Float, corruptedValue: Float
    let byPosition: [NodeJSON], total: [NodeJSON]
}
