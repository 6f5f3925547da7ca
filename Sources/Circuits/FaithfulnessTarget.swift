/// A circuit size chosen by faithfulness: the top-n circuit of a set of edge scores whose faithfulness
/// reaches a target, with every size evaluated on the way.
///
/// Faithfulness f(n) of the pruned top-n circuit is not monotone in n, so "the smallest n with
/// f(n) ≥ target" would need every n. What is returned instead is a *crossing*: a size n with
/// f(n) ≥ target and f(n − 1) < target, found by bisection between a size known to fall short (0, the empty
/// circuit, or any smaller evaluated size) and the smallest evaluated size that reaches the target. When f
/// is monotone this is the smallest such circuit; otherwise a smaller crossing may exist below the bracket.
public struct FaithfulnessTarget {
    public let target: Float
    /// The largest size considered.
    public let maxSize: Int
    /// The chosen size n (edges taken from the ranking, before pruning), or nil when f(maxSize) < target.
    public let size: Int?
    /// The pruned top-n circuit, when a size was found.
    public let circuit: Circuit?
    /// Every size evaluated (including the curve passed in), by size.
    public let points: [FaithfulnessPoint]

    public var reached: Bool { size != nil }

    /// The faithfulness of the chosen circuit.
    public var faithfulness: Float? { size.flatMap { n in points.first { $0.edgeCount == n }?.faithfulness } }

    /// One plain sentence: the size found, or that no circuit up to `maxSize` edges reaches the target.
    public var summary: String {
        if let size, let faithfulness, let circuit {
            return "top \(size) edges (\(circuit.edges.count) after pruning) reach faithfulness "
                + String(format: "%.3f", faithfulness) + " ≥ \(target); top \(size - 1) do not"
        }
        let best = points.filter { $0.edgeCount <= maxSize }.max { $0.faithfulness < $1.faithfulness }
        return "no circuit of up to \(maxSize) edges reaches faithfulness \(target)"
            + (best.map { " (best " + String(format: "%.3f", $0.faithfulness) + " at \($0.edgeCount) edges)" } ?? "")
    }
}

extension EdgePatching {
    /// The top-n circuit of `scores` whose faithfulness reaches `target` (see ``FaithfulnessTarget`` for
    /// exactly which n), searching sizes up to `maxSize` (default: every edge).
    ///
    /// `known` points (a faithfulness curve already computed on the same scores, with the same pruning) are
    /// reused. Each round evaluates three sizes inside the bracket in one batched pass, so about
    /// log₄(maxSize) passes are needed.
    public func circuit(reaching target: Float, scores: EdgeScores, maxSize: Int? = nil, known: [FaithfulnessPoint] = [],
                        prune: Bool = true, progress: ProgressReporter = .silent) -> FaithfulnessTarget {
        let total = graph.edges.count, limit = Swift.min(maxSize ?? total, total)
        let ranked = scores.ranked.map(\.edge)
        func candidate(_ n: Int) -> Circuit {
            var circuit = Circuit(graph: graph, edges: Set(ranked.prefix(n)), scores: scores.dictionary,
                                  metadata: ["method": scores.method, "selection": "top-\(n)"])
            if prune { circuit = circuit.pruned() }
            return circuit
        }
        var values = Dictionary(known.map { ($0.edgeCount, $0.faithfulness) }, uniquingKeysWith: { a, _ in a })
        // The empty circuit patches every edge: the all-patched value that faithfulness normalizes to 0.
        if values[0] == nil { values[0] = 0 }
        var rounds = 0
        func evaluate(_ sizes: [Int]) {
            let missing = Array(Set(sizes.filter { values[$0] == nil })).sorted()
            guard !missing.isEmpty else { return }
            for (n, value) in zip(missing, faithfulness(ofEdgeSets: missing.map { candidate($0).edges })) { values[n] = value }
            rounds += 1
            progress.report("faithfulness target", done: rounds, total: rounds + 1, unit: "passes")
        }
        evaluate([0, limit])
        func points() -> [FaithfulnessPoint] {
            values.keys.sorted().map { FaithfulnessPoint(edgeCount: $0, fraction: Float($0) / Float(total), faithfulness: values[$0]!) }
        }
        guard values[limit]! >= target else {
            return FaithfulnessTarget(target: target, maxSize: limit, size: nil, circuit: nil, points: points())
        }
        // Bracket: f(high) ≥ target, f(low) < target, low < high.
        var high = values.filter { $0.key <= limit && $0.value >= target }.keys.min()!
        if high == 0 { return FaithfulnessTarget(target: target, maxSize: limit, size: 0, circuit: candidate(0), points: points()) }
        var low = values.filter { $0.key < high && $0.value < target }.keys.max() ?? 0
        while high - low > 1 {
            let probes = (1...3).map { low + ($0 * (high - low) + 2) / 4 }.filter { $0 > low && $0 < high }
            evaluate(probes)
            high = ([high] + probes.filter { values[$0]! >= target }).min()!
            low = ([low] + probes.filter { $0 < high && values[$0]! < target }).max()!
        }
        progress.report("faithfulness target", done: rounds, total: rounds, unit: "passes")
        return FaithfulnessTarget(target: target, maxSize: limit, size: high, circuit: candidate(high), points: points())
    }
}
