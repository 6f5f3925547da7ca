import ArgumentParser
import Circuits
import Foundation
import Reports

extension PatchComponent: ExpressibleByArgument {}
extension PatchDirection: ExpressibleByArgument {}
extension MetricKind: ExpressibleByArgument {}

/// How a sweep slices activations, as written on the command line.
enum GranularityArgument: String, ExpressibleByArgument, CaseIterable {
    case standard, byPosition = "by-position", destinationSource = "dest-src"

    var value: PatchGranularity {
        switch self {
        case .standard: return .standard
        case .byPosition: return .byPosition
        case .destinationSource: return .destinationSource
        }
    }
}

/// `interp patch`: activation patching sweeps.
struct PatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch", abstract: "Activation patching: replace one activation at a time with the other run's and measure the metric.",
        discussion: """
        Components: resid_pre, resid_mid, resid_post, attn_out, mlp_out (layer x position); head_out, q, k, v, pattern
        (layer x head over all positions; --granularity by-position for layer x position x head; pattern also dest-src).
        Examples:
          interp patch --model ~/models/gpt2 --clean "When Mary and John went to the store, John gave a drink to" \\
              --corrupted "When Mary and John went to the store, Mary gave a drink to" --answer " Mary" --wrong " John" \\
              --component resid_pre --html resid.html
          interp patch --task ioi.json --component head_out --metric logit_diff --direction noising --json
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var pairs: PairOptions
    @Option(help: "The activation to patch.") var component: PatchComponent = .residPre
    @Option(help: "standard, by-position or dest-src.") var granularity: GranularityArgument = .standard
    @Option(help: "logit_diff, prob_diff, kl, loss, l2 or cosine.") var metric: MetricKind = .logitDiff
    @Option(help: "denoising (clean into corrupted) or noising (corrupted into clean).") var direction: PatchDirection = .denoising
    @Option(help: ArgumentHelp("Positions by label (comma-separated, from the task file's positions) instead of every index.", valueName: "labels"))
    var positions: String?
    @Flag(help: "Show values normalized: 0 = corrupted run, 1 = clean run.") var normalized = false
    @OptionGroup var html: HTMLOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let lm = try model.load()
        let prompts = try pairs.pairs(for: lm)
        let patching = try ActivationPatching(model: lm.model, pairs: prompts, metric: metric.metric(for: prompts, model: lm.model),
                                              direction: direction, components: [component])
        let where_: PatchPositions = positions.map { .labels($0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }) } ?? .all
        var result = try patching.sweep(component, granularity: granularity.value, positions: where_)
        if case .all = where_, prompts.count == 1 {
            result = result.labellingPositions(prompts.clean.tokens[0].map(lm.text(of:)))
        }
        try Report.emit(result, normalized: normalized, html: html.html, json: output.json)
    }
}

/// `interp attribute`: attribution patching.
struct AttributeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribute", abstract: "Attribution patching: the first-order estimate of every patch at once, from true gradients.",
        discussion: """
        Each cell is the estimated metric of the patched run: (a_source − a_target) · ∂m/∂a at the target run, plus the
        target run's metric. Example:
          interp attribute --task ioi.json --component resid_pre --component head_out --direction noising --json
        With --atp-star (or --qk-fix, --grad-drop) it attributes nodes instead (head outputs, queries, keys, values,
        MLPs; per position with --granularity by-position) by AtP* (Kramár et al. 2024); --compare-exact adds exact
        activation patching of every node, the rank correlation of each estimate with it and the nodes it misses:
          interp attribute --task ioi.json --atp-star --compare-exact --json
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var pairs: PairOptions
    @Option(name: .customLong("component"), help: "Components to attribute; repeatable (default: resid_pre, head_out).")
    var components: [PatchComponent] = []
    @Option(help: "standard, by-position or dest-src.") var granularity: GranularityArgument = .standard
    @Option(help: "logit_diff, prob_diff, loss, l2 or cosine (kl has zero gradient at the clean run).") var metric: MetricKind = .logitDiff
    @Option(help: "noising (gradient at the clean run) or denoising (at the corrupted run).") var direction: PatchDirection = .noising
    @Flag(help: "Show values normalized: 0 = corrupted run, 1 = clean run.") var normalized = false
    @OptionGroup var nodes: NodeAttributionOptions
    @OptionGroup var html: HTMLOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let lm = try model.load()
        let prompts = try pairs.pairs(for: lm)
        if nodes.isRequested {
            return try nodes.run(model: lm.model, pairs: prompts, metric: metric.metric(for: prompts, model: lm.model),
                                 direction: direction, byPosition: granularity == .byPosition, json: output.json)
        }
        let attribution = AttributionPatching(model: lm.model, pairs: prompts, metric: metric.metric(for: prompts, model: lm.model),
                                              direction: direction)
        var results = try attribution.attribute(components.isEmpty ? [.residPre, .headOut] : components, granularity: granularity.value)
        if prompts.count == 1 { results = results.map { $0.labellingPositions(prompts.clean.tokens[0].map(lm.text(of:))) } }
        try Report.emit(results, normalized: normalized, html: html.html, json: output.json)
    }
}

extension PatchingResult {
    /// The same result with position labels `index:token`.
    func labellingPositions(_ tokens: [String]) -> PatchingResult {
        let axes = self.axes.map { axis in
            axis.isPosition && axis.labels.count == tokens.count
                ? Axis(name: axis.name, labels: tokens.enumerated().map { "\($0.offset):\(Markup.visibleToken($0.element))" }) : axis
        }
        return PatchingResult(component: component, axes: axes, values: values, metric: metric, direction: direction,
                              cleanValue: cleanValue, corruptedValue: corruptedValue)
    }
}
