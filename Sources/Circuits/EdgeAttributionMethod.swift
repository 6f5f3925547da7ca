/// How ``EdgePatching/edgeAttribution(_:progress:)`` scores edges: the attribution methods of the EAP-IG library
/// (github.com/hannamw/EAP-IG, `eap/attribute.py`, `attribute()`'s `method`).
///
/// The gradient methods score `u → v` by `Σ_positions Δ_u · ∂m/∂in_v`, `Δ_u` = sender `u`'s output under the
/// patch source minus its clean output, with the gradient averaged over the method's runs; `m` is the metric
/// (mean over examples), so a score approximates the change of the mean metric when the edge is patched.
public enum EdgeAttributionMethod: Equatable, Sendable {
    /// EAP (Syed et al. 2023): the gradient of the clean run (`get_scores_eap`).
    case eap
    /// EAP-IG (Hanna et al. 2024): gradients averaged over runs whose input embeddings are interpolated,
    /// `source + α (clean − source)`, `α = k / steps` for `k = 0 ..< steps` (`get_scores_eap_ig`; at node level
    /// `k = 1 ... steps`, as `attribute_node.py` does).
    case eapIGInputs(steps: Int)
    /// EAP-IG-activations (`get_scores_ig_activations`): for each sender group in turn — the embeddings, one
    /// block's heads, one block's MLP — and `k = 1 ... steps`, the group's outputs are replaced by the constant
    /// `source + (k / steps)(clean − source)` on the clean prompts; gradients are averaged over all these runs.
    case eapIGActivations(steps: Int)
    /// Clean-corrupted (`get_scores_clean_corrupted`): gradients averaged over the clean run and the corrupted run
    /// (the metric is still compared with the clean logits).
    case cleanCorrupted
    /// Exact patching (`get_scores_exact`): the metric with only that edge patched, minus the clean metric. Edges are
    /// batched many per pass, each run computed from the edge's receiver on (``EdgePatching/exactEdgeScores(progress:)``).
    case exact
    /// Information flow routes (Ferrando & Voita 2024, `get_scores_information_flow_routes`): no patch source and no
    /// gradient. At every position, with `x` the receiver's clean input and `o_u` the sender's clean output,
    /// `proximity(u) = max(0, ‖x‖₁ − ‖o_u − x‖₁)`; the score is `proximity(u) / Σ_w proximity(w)` (over the
    /// receiver's senders), averaged over the real positions of each example, then over examples.
    case informationFlowRoutes

    /// The name the CLI and circuit files use: `eap`, `eap-ig-inputs`, `eap-ig-activations`, `clean-corrupted`,
    /// `exact`, `information-flow-routes`.
    public var name: String {
        switch self {
        case .eap: return "eap"
        case .eapIGInputs: return "eap-ig-inputs"
        case .eapIGActivations: return "eap-ig-activations"
        case .cleanCorrupted: return "clean-corrupted"
        case .exact: return "exact"
        case .informationFlowRoutes: return "information-flow-routes"
        }
    }

    /// Every method name, for help texts.
    public static let names = ["eap", "eap-ig-inputs", "eap-ig-activations", "clean-corrupted", "exact", "information-flow-routes"]

    /// The method called `name`; `steps` is the interpolation steps of the EAP-IG methods (default 5).
    public init(name: String, steps: Int? = nil) throws {
        switch name {
        case "eap": self = .eap
        case "eap-ig-inputs", "eap-ig": self = .eapIGInputs(steps: steps ?? 5)
        case "eap-ig-activations": self = .eapIGActivations(steps: steps ?? 5)
        case "clean-corrupted": self = .cleanCorrupted
        case "exact": self = .exact
        case "information-flow-routes": self = .informationFlowRoutes
        default:
            throw CircuitError.invalidArgument("unknown attribution method '\(name)' (one of \(Self.names.joined(separator: ", ")))")
        }
        switch self {
        case .eapIGInputs, .eapIGActivations: try validate()
        default:
            if steps != nil { throw CircuitError.invalidArgument("interpolation steps apply to eap-ig-inputs and eap-ig-activations, not \(name)") }
        }
    }

    /// The forward and backward passes of a gradient method (nil for exact and information flow routes).
    func gradientRuns(_ graph: ComputationGraph, nodeLevel: Bool) -> [GradientRun]? {
        switch self {
        case .eap: return [.clean]
        case let .eapIGInputs(steps):
            return (nodeLevel ? Array(1...steps) : Array(0..<steps)).map { .interpolated(.input, alpha: Float($0) / Float(steps)) }
        case let .eapIGActivations(steps):
            let groups: [GradientRun.SenderGroup] = [.input] + (0..<graph.layerCount).flatMap { l in
                [.heads(layer: l)] + (graph.hasMLPs ? [.mlp(layer: l)] : [])
            }
            return groups.flatMap { group in (1...steps).map { .interpolated(group, alpha: Float($0) / Float(steps)) } }
        case .cleanCorrupted: return [.clean, .corrupted]
        case .exact, .informationFlowRoutes: return nil
        }
    }

    /// Whether the steps are valid.
    func validate() throws {
        switch self {
        case let .eapIGInputs(steps), let .eapIGActivations(steps):
            if steps < 1 { throw CircuitError.invalidArgument("\(name) needs at least 1 interpolation step, not \(steps)") }
        default: break
        }
    }
}

extension EdgePatching {
    /// Scores every edge with `method` (see ``EdgeAttributionMethod``); `progress` hears after each forward and
    /// backward pass (gradient methods) or each batched patched pass (exact).
    ///
    /// - Throws: ``CircuitError/invalidArgument(_:)`` for fewer than one interpolation step, and for information
    ///   flow routes on a position-aware graph (they score plain edges only).
    public func edgeAttribution(_ method: EdgeAttributionMethod, progress: ProgressReporter = .silent) throws -> EdgeScores {
        try method.validate()
        if positionBuckets != nil, method == .informationFlowRoutes {
            throw CircuitError.invalidArgument("\(method.name) scores plain edges only; drop --positions / --per-position")
        }
        switch method {
        case .exact:
            return try exactEdgeScores(progress: progress)
        case .informationFlowRoutes:
            return informationFlowRoutes()
        default:
            let runs = method.gradientRuns(graph, nodeLevel: false)!
            return edgeScores(gradientScoreMatrix(runs, progress: progress, step: method.name).scores, method: method.name)
        }
    }
}
