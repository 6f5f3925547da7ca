/// One point of a faithfulness curve.
public struct FaithfulnessPoint: Codable, Equatable {
    /// Edges in the circuit.
    public let edgeCount: Int
    /// `edgeCount` as a fraction of the graph's edges.
    public let fraction: Float
    /// The metric with every other edge patched, normalized: 0 = corrupted run, 1 = clean run.
    public let faithfulness: Float
}

/// Faithfulness over circuit sizes and its areas, as in the MIB benchmark.
public struct FaithfulnessCurve: Codable {
    public let points: [FaithfulnessPoint]
    /// Area under the curve over the edge fraction (CPR; higher is better).
    public let area: Float
    /// Area between the curve and 1 (CMD; lower is better).
    public let areaFromOne: Float
}

extension EdgePatching {
    /// The normalized metric of a circuit: every edge outside it patched.
    public func faithfulness(of circuit: Circuit) -> Float {
        faithfulness(ofEdgeSets: [circuit.edges])[0]
    }

    /// The normalized metric of several circuits, evaluated in batched passes: NaN for every circuit when the
    /// clean and all-patched values (nearly) coincide (``faithfulnessSpan``; check it first).
    public func faithfulness(ofEdgeSets sets: [Set<ComputationGraph.Edge>]) -> [Float] {
        let masks = sets.map { EdgeMask(graph: graph, edges: $0).complement(in: graph) }
        return metrics(masks).map(faithfulnessSpan.fraction)
    }

    /// m(N) − m(∅), the clean value minus the value with every edge patched, which faithfulness divides by.
    public var faithfulnessSpan: MetricSpan { MetricSpan(zero: corruptedValue, one: cleanValue) }

    /// Faithfulness of the top-n circuits of `scores` for each size in `sizes` (pruned when `prune`), with
    /// the areas under the curve over the edge fraction (integrated as MIB does), the empty graph counting 0 and
    /// the full graph 1.
    public func faithfulnessCurve(_ scores: EdgeScores, sizes: [Int], prune: Bool = true) -> FaithfulnessCurve {
        let total = graph.edges.count
        let circuits = sizes.map { n -> Circuit in
            let circuit = Circuit.top(scores, count: n)
            return prune ? circuit.pruned() : circuit
        }
        let values = faithfulness(ofEdgeSets: circuits.map(\.edges))
        let points = zip(sizes, values).map {
            FaithfulnessPoint(edgeCount: $0, fraction: Float($0) / Float(total), faithfulness: $1)
        }
        let curve = [FaithfulnessPoint(edgeCount: 0, fraction: 0, faithfulness: 0)]
            + points.sorted { $0.fraction < $1.fraction }
            + [FaithfulnessPoint(edgeCount: total, fraction: 1, faithfulness: 1)]
        let areas = MIBCurve.areas(fractions: curve.map { Double($0.fraction) },
                                   faithfulness: curve.map { Double($0.faithfulness) })
        return FaithfulnessCurve(points: points, area: Float(areas.under), areaFromOne: Float(areas.fromOne))
    }
}
