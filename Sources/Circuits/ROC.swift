/// The ROC curve of scores against known labels, and the area under it.
///
/// As scikit-learn's `roc_curve` / `roc_auc_score`: one point per distinct score, from the highest down (every
/// item scoring at least the threshold counts as predicted positive, so tied items enter together), after a
/// first point (0, 0); the area is the trapezoid rule over these points. With ties this equals the
/// Mann–Whitney statistic with average ranks, `P(score⁺ > score⁻) + ½ P(score⁺ = score⁻)`.
///
/// ```swift
/// let roc = try scores.roc(trueEdges: knownCircuit.edges)
/// print(roc.area)
/// ```
public struct ROCCurve: Codable, Equatable, Sendable {
    /// One threshold of the curve.
    public struct Point: Codable, Equatable, Sendable {
        /// The score at or above which items count as positive (nil for the first point, where none do).
        public let threshold: Float?
        public let falsePositiveRate: Double
        public let truePositiveRate: Double
    }

    public let points: [Point]
    /// The area under the curve (AUROC).
    public let area: Double

    /// The ROC curve of `scores` (higher = more likely positive) against `labels`.
    ///
    /// - Throws: ``CircuitError/invalidArgument(_:)`` when the counts differ, a score is NaN, or the labels are
    ///   all positive or all negative (the curve is then undefined).
    public init(scores: [Float], labels: [Bool]) throws {
        guard scores.count == labels.count else {
            throw CircuitError.invalidArgument("ROC: \(scores.count) scores for \(labels.count) labels")
        }
        if let bad = scores.firstIndex(where: \.isNaN) { throw CircuitError.invalidArgument("ROC: score \(bad) is NaN") }
        let positives = labels.filter { $0 }.count, negatives = labels.count - positives
        guard positives > 0, negatives > 0 else {
            throw CircuitError.invalidArgument("ROC: needs both positive and negative items, got \(positives) positive and \(negatives) negative")
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points = [Point(threshold: nil, falsePositiveRate: 0, truePositiveRate: 0)]
        var truePositives = 0, falsePositives = 0, area = 0.0
        for (rank, item) in order.enumerated() {
            if labels[item] { truePositives += 1 } else { falsePositives += 1 }
            guard rank == order.count - 1 || scores[order[rank + 1]] != scores[item] else { continue }
            let point = Point(threshold: scores[item], falsePositiveRate: Double(falsePositives) / Double(negatives),
                              truePositiveRate: Double(truePositives) / Double(positives))
            let previous = points[points.count - 1]
            area += (point.falsePositiveRate - previous.falsePositiveRate) * (point.truePositiveRate + previous.truePositiveRate) / 2
            points.append(point)
        }
        self.points = points
        self.area = area
    }
}

extension EdgeScores {
    /// The ROC curve of these scores (by |score| or signed) against a known circuit's edges.
    ///
    /// - Throws: ``CircuitError/invalidArgument(_:)`` when a true edge is not in this graph, or when the true
    ///   edges are none or all of the graph's.
    public func roc(trueEdges: Set<ComputationGraph.Edge>, ranking: EdgeRanking = .absolute) throws -> ROCCurve {
        if let stranger = trueEdges.first(where: { !graph.contains($0) }) {
            throw CircuitError.invalidArgument("ROC: true edge '\(graph.name(of: stranger))' is not in the scored graph")
        }
        return try ROCCurve(scores: ranking == .absolute ? values.map(Swift.abs) : values,
                            labels: graph.edges.map(trueEdges.contains))
    }
}

/// The ROC the MIB circuit track reports against a known circuit (its InterpBench column).
///
/// Transcribed from github.com/hannamw/MIB-circuit-track (commit b759df3): `evaluate_area_under_roc` in
/// `MIB_circuit_track/evaluation.py` takes, at each of MIB's fractions, `apply_greedy(pct * n_edges)` (the float
/// count makes ⌈pct · n_edges⌉ greedy steps by |score|, grown from the logits, then pruned: ``Circuit/greedy(_:count:)``
/// and ``Circuit/pruned()``) and counts true and false positives edge by edge; `print_results.py`'s
/// `area_under_curve(FPR, TPR)` sums trapezoids between consecutive points with the false-positive rates divided
/// by the last one, and no point at (0, 0). ``ROCCurve`` is the exact curve over every threshold.
public struct MIBROCCurve: Codable, Equatable, Sendable {
    public struct Point: Codable, Equatable, Sendable {
        public let fraction: Double
        /// Edges in the pruned greedy circuit.
        public let edgeCount: Int
        public let truePositiveRate: Double
        public let falsePositiveRate: Double
        /// 0 when the circuit is empty (as MIB).
        public let precision: Double
    }

    public let points: [Point]
    public let area: Double
}

extension EdgeScores {
    /// MIB's ROC of these scores against a known circuit's edges.
    ///
    /// - Throws: ``CircuitError/invalidArgument(_:)`` when a true edge is not in this graph, or when the true
    ///   edges are none or all of the graph's.
    public func mibROC(trueEdges: Set<ComputationGraph.Edge>) throws -> MIBROCCurve {
        if let stranger = trueEdges.first(where: { !graph.contains($0) }) {
            throw CircuitError.invalidArgument("ROC: true edge '\(graph.name(of: stranger))' is not in the scored graph")
        }
        let positives = trueEdges.count, negatives = graph.edges.count - positives
        guard positives > 0, negatives > 0 else {
            throw CircuitError.invalidArgument("ROC: needs both true and other edges, got \(positives) true of \(graph.edges.count)")
        }
        let points = MIBCurve.fractions.map { fraction in
            let steps = Int((fraction * Double(graph.edges.count)).rounded(.up))
            let found = Circuit.greedy(self, count: steps).pruned().edges
            let truePositives = found.intersection(trueEdges).count, falsePositives = found.count - truePositives
            return MIBROCCurve.Point(fraction: fraction, edgeCount: found.count,
                                     truePositiveRate: Double(truePositives) / Double(positives),
                                     falsePositiveRate: Double(falsePositives) / Double(negatives),
                                     precision: found.isEmpty ? 0 : Double(truePositives) / Double(found.count))
        }
        let last = points[points.count - 1].falsePositiveRate
        let area = zip(points, points.dropFirst()).reduce(0.0) { sum, pair in
            sum + (pair.1.falsePositiveRate / last - pair.0.falsePositiveRate / last) * ((pair.1.truePositiveRate + pair.0.truePositiveRate) / 2)
        }
        return MIBROCCurve(points: points, area: area)
    }
}
