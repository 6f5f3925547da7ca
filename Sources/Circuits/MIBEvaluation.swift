/// How a top-n circuit ranks edges: by |score| or by signed score (largest first).
///
/// The MIB leaderboard reports CPR from circuits ranked by signed score and CMD from circuits ranked by |score|
/// (`print_results.py` prefers the `abs-False` results for `cpr` and the `abs-True` ones for `cmd`).
public enum EdgeRanking: String, Codable, Sendable, CaseIterable {
    case absolute, signed
}

/// One point of an MIB faithfulness curve.
public struct MIBPoint: Codable, Equatable, Sendable {
    /// The fraction of the graph's edges asked for.
    public let fraction: Double
    /// `Int(fraction × edge count)`, the n of the top-n circuit.
    public let edgeCount: Int
    /// Edges left after pruning (MIB's `weighted_edge_count`).
    public let keptEdges: Int
    /// f(C) = (m(C) − m(∅)) / (m(N) − m(∅)).
    public let faithfulness: Float

    public init(fraction: Double, edgeCount: Int, keptEdges: Int, faithfulness: Float) {
        self.fraction = fraction
        self.edgeCount = edgeCount
        self.keptEdges = keptEdges
        self.faithfulness = faithfulness
    }
}

/// Faithfulness of top-n circuits at MIB's edge fractions, with the MIB circuit track's areas.
///
/// Transcribed from `evaluate_area_under_curve` in `MIB_circuit_track/evaluation.py` of
/// github.com/hannamw/MIB-circuit-track (commit b759df3; EAP-IG submodule at 7af394a):
///
/// - fractions `(.001, .002, .005, .01, .02, .05, .1, .2, .5, 1)`, n = `int(pct * n_edges)` (truncated, in
///   double precision);
/// - each circuit is `graph.apply_topn(n, absolute, prune=True)`: the n highest (|score| or signed) edges, then
///   nodes and edges pruned until every edge lies on a path from `input` to `logits` (``Circuit/pruned()``);
/// - f = `(ablated − corrupted) / (baseline − corrupted)` on the means over examples of the metric: baseline is
///   the clean run, corrupted the run with every edge ablated (`apply_topn(0)`);
/// - the areas are trapezoids between consecutive fractions on a linear axis, with no point added at 0:
///   `area_under += (x₂ − x₁)(f₁ + f₂)/2` (CPR) and `area_from_1 += (x₂ − x₁)(|1 − f₁| + |1 − f₂|)/2` (CMD);
///   `average` is the plain mean of the ten values.
public struct MIBCurve: Codable, Sendable {
    /// MIB's edge fractions.
    public static let fractions: [Double] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]

    public let ranking: EdgeRanking
    public let points: [MIBPoint]
    /// Area under the curve (CPR; higher is better).
    public let areaUnder: Double
    /// Area between the curve and 1, of |1 − f| (CMD; lower is better).
    public let areaFromOne: Double
    /// The mean faithfulness over the fractions.
    public let average: Double

    public init(ranking: EdgeRanking, points: [MIBPoint]) {
        self.ranking = ranking
        self.points = points
        let areas = Self.areas(fractions: points.map(\.fraction), faithfulness: points.map { Double($0.faithfulness) })
        areaUnder = areas.under
        areaFromOne = areas.fromOne
        average = points.isEmpty ? 0 : points.reduce(0) { $0 + Double($1.faithfulness) } / Double(points.count)
    }

    /// MIB's n for a fraction of `total` edges: `int(pct * total)`.
    public static func edgeCount(fraction: Double, of total: Int) -> Int {
        Int(fraction * Double(total))
    }

    /// The trapezoid areas under the curve and between it and 1, between consecutive points, as MIB integrates.
    public static func areas(fractions: [Double], faithfulness: [Double]) -> (under: Double, fromOne: Double) {
        var under = 0.0, fromOne = 0.0
        for i in 0..<Swift.max(0, Swift.min(fractions.count, faithfulness.count) - 1) {
            let width = fractions[i + 1] - fractions[i]
            fromOne += width * ((Swift.abs(1 - faithfulness[i]) + Swift.abs(1 - faithfulness[i + 1])) / 2)
            under += width * ((faithfulness[i] + faithfulness[i + 1]) / 2)
        }
        return (under, fromOne)
    }
}

/// An MIB evaluation of one set of edge scores: the curve under each ranking and the figures MIB reports.
public struct MIBEvaluation: Codable, Sendable {
    /// The metric on the clean run, m(N).
    public let cleanValue: Float
    /// The metric with every edge ablated, m(∅).
    public let emptyValue: Float
    public let totalEdges: Int
    /// One curve per ranking evaluated.
    public let curves: [MIBCurve]

    /// CPR as the MIB leaderboard reports it: the area under the signed-ranking curve (or the only curve).
    public var cpr: Double? { (curve(.signed) ?? curves.first)?.areaUnder }
    /// CMD as the MIB leaderboard reports it: the area from 1 of the |score|-ranking curve (or the only curve).
    public var cmd: Double? { (curve(.absolute) ?? curves.first)?.areaFromOne }

    public func curve(_ ranking: EdgeRanking) -> MIBCurve? { curves.first { $0.ranking == ranking } }
}

extension EdgeScores {
    /// Edges ordered by |score| or by signed score, largest first (ties in graph order).
    public func ranked(by ranking: EdgeRanking) -> [(edge: ComputationGraph.Edge, score: Float)] {
        switch ranking {
        case .absolute: return ranked
        case .signed:
            return values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
                .map { (graph.edges[$0], values[$0]) }
        }
    }
}

extension EdgeScores {
    /// Minus every score: MIB's importance files score the loss (−m), so that larger is more important under
    /// signed ranking, while ``EdgePatching/edgeAttribution(integratedGradientSteps:)`` scores the metric m.
    public func negated() -> EdgeScores {
        EdgeScores(graph: graph, values: values.map { -$0 }, method: method)
    }
}

extension Circuit {
    /// The `count` edges ranked first by `ranking`, unpruned (MIB's `apply_topn(n, absolute, prune=False)`).
    public static func top(_ scores: EdgeScores, count: Int, ranking: EdgeRanking) -> Circuit {
        Circuit(graph: scores.graph, edges: Set(scores.ranked(by: ranking).prefix(count).map(\.edge)),
                scores: scores.dictionary, metadata: ["method": scores.method, "selection": "top-\(count)-\(ranking.rawValue)"])
    }
}

extension EdgePatching {
    /// The MIB curve of `scores`: faithfulness of the pruned top-n circuit at each of MIB's edge fractions, with
    /// CPR and CMD. The ablation is this patching's source (counterfactual, zero, mean or mean-positional).
    public func mibCurve(_ scores: EdgeScores, ranking: EdgeRanking) -> MIBCurve {
        let total = graph.edges.count
        let ranked = scores.ranked(by: ranking).map(\.edge)
        let circuits = MIBCurve.fractions.map { fraction in
            Circuit(graph: graph, edges: Set(ranked.prefix(MIBCurve.edgeCount(fraction: fraction, of: total)))).pruned()
        }
        let values = faithfulness(ofEdgeSets: circuits.map(\.edges))
        let points = zip(MIBCurve.fractions, zip(circuits, values)).map { fraction, evaluated in
            MIBPoint(fraction: fraction, edgeCount: MIBCurve.edgeCount(fraction: fraction, of: total),
                     keptEdges: evaluated.0.edges.count, faithfulness: evaluated.1)
        }
        return MIBCurve(ranking: ranking, points: points)
    }

    /// The MIB evaluation of `scores` under each ranking in `rankings` (the leaderboard uses both).
    public func mibEvaluation(_ scores: EdgeScores, rankings: [EdgeRanking] = EdgeRanking.allCases) -> MIBEvaluation {
        MIBEvaluation(cleanValue: cleanValue, emptyValue: corruptedValue, totalEdges: graph.edges.count,
                      curves: rankings.map { mibCurve(scores, ranking: $0) })
    }
}

extension Circuit {
    /// Every edge's score, for ranking a circuit file's edges (an importance file scores every edge).
    ///
    /// - Throws: ``CircuitError/invalidArgument(_:)`` naming an unscored edge when some edges have no score.
    public func edgeScores() throws -> EdgeScores {
        let missing = graph.edges.filter { scores[$0] == nil }
        if let first = missing.first {
            throw CircuitError.invalidArgument("\(missing.count) of \(graph.edges.count) edges have no score (e.g. '\(graph.name(of: first))'); "
                + "ranking edges needs a score for every edge, as in an EAP-IG importance file")
        }
        if let bad = graph.edges.first(where: { !scores[$0]!.isFinite }) {
            throw CircuitError.invalidArgument("edge '\(graph.name(of: bad))' has score \(scores[bad]!); scores must be finite numbers")
        }
        return EdgeScores(graph: graph, values: graph.edges.map { scores[$0]! }, method: metadata["method"] ?? "scores")
    }
}
