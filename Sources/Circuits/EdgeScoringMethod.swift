import Foundation

/// A named way to score every edge of a graph, for running methods side by side (``PlantedCircuit`` benchmarks).
/// To benchmark a new method, append it to ``standard``.
public struct EdgeScoringMethod {
    public let name: String
    public let score: (EdgePatching) throws -> EdgeScores

    public init(_ name: String, score: @escaping (EdgePatching) throws -> EdgeScores) {
        self.name = name
        self.score = score
    }

    /// Every edge-scoring method of the library with default settings.
    public static var standard: [EdgeScoringMethod] {
        [
            EdgeScoringMethod("eap") { $0.edgeAttribution() },
            EdgeScoringMethod("eap-ig") { $0.edgeAttribution(integratedGradientSteps: 5) },
            EdgeScoringMethod("eap-ig-activations") { try $0.edgeAttribution(.eapIGActivations(steps: 5)) },
            EdgeScoringMethod("clean-corrupted") { try $0.edgeAttribution(.cleanCorrupted) },
            EdgeScoringMethod("information-flow-routes") { try $0.edgeAttribution(.informationFlowRoutes) },
            EdgeScoringMethod("exact") { try $0.edgeAttribution(.exact) },
            EdgeScoringMethod("acdc") { $0.acdc(ACDCOptions(threshold: 0.1)).scores },
            EdgeScoringMethod("mask-hard-concrete") { try $0.optimizeMasks(MaskOptimizationOptions(sampler: .hardConcrete)).scores },
            EdgeScoringMethod("mask-ugs") { try $0.optimizeMasks(MaskOptimizationOptions(sampler: .uniformGradient)).scores },
        ]
    }
}

extension ACDCResult {
    /// ACDC's measured worsening per tested edge as scores; untested edges (receivers nothing reads) score 0.
    public var scores: EdgeScores {
        EdgeScores(graph: graph, values: graph.edges.map { effects[$0] ?? 0 }, method: options.nodeLevel ? "acdc-nodes" : "acdc")
    }
}

/// One method's result against a known circuit.
public struct KnownCircuitScore {
    public let method: String
    /// AUROC of |score| against the true edges (NaN when a score is NaN).
    public let area: Double
    public let seconds: Double
}

extension EdgePatching {
    /// Runs each method and measures its ROC area against `trueEdges`.
    public func knownCircuitScores(_ methods: [EdgeScoringMethod], trueEdges: Set<ComputationGraph.Edge>,
                                   progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> [KnownCircuitScore] {
        try methods.enumerated().map { index, method in
            let start = Date()
            let scores = try method.score(self)
            let seconds = Date().timeIntervalSince(start)
            progress?(index + 1, methods.count)
            // A method that scores NaN (a model whose runs overflow, say) gets area NaN rather than ending the
            // benchmark.
            let area = scores.values.contains { $0.isNaN } ? Double.nan : try scores.roc(trueEdges: trueEdges).area
            return KnownCircuitScore(method: method.name, area: area, seconds: seconds)
        }
    }
}
