import Foundation

/// The result of ``AtPStar``: every node's estimated effect on the metric (AtP, AtP with the QK fix, the
/// GradDrop score), its exact activation-patching effect when asked, and how well each estimate ranks the nodes.
public struct NodeAttribution: Codable {
    /// One node's numbers; effects are changes of the metric, `m(patched) − m(target)`.
    public struct Entry: Codable, Equatable {
        /// The node's name (``AttributionNode/name(groupedQuery:)``).
        public let node: String
        public let kind: AttributionNode.Kind
        public let layer: Int
        public let position: Int?
        /// Plain attribution patching.
        public let atp: Float
        /// AtP with the QK fix (equal to ``atp`` except for queries and keys); nil when off.
        public let atpQKFix: Float?
        /// The GradDrop score `Σ_ℓ |ĉ_AtP+GD_ℓ|` (a magnitude); nil when off.
        public let gradDrop: Float?
        /// The exact activation-patching effect; nil unless asked.
        public let exact: Float?
    }

    /// How an estimator's ranking of the nodes agrees with exact activation patching.
    public struct Comparison: Codable, Equatable {
        /// `atp`, `atp_qk_fix` or `grad_drop`.
        public let estimator: String
        /// Spearman rank correlation of |estimate| with |exact effect| over all nodes (ties share their mean
        /// rank); nil when either has no spread.
        public let spearman: Float?
        /// The important nodes (|exact| ≥ threshold · max |exact|) that the estimator puts below
        /// threshold · max |estimate|: its false negatives.
        public let missed: [String]
        public let threshold: Float

        public init(estimator: String, estimates: [Double], exact: [Double], names: [String], threshold: Double) {
            precondition(estimates.count == exact.count && exact.count == names.count, "one estimate and effect per node")
            let magnitudes = estimates.map(Swift.abs), exactMagnitudes = exact.map(Swift.abs)
            let topEstimate = magnitudes.max() ?? 0, topExact = exactMagnitudes.max() ?? 0
            self.estimator = estimator
            self.threshold = Float(threshold)
            spearman = Self.spearman(magnitudes, exactMagnitudes).map(Float.init)
            missed = names.indices.filter { i in
                topExact > 0 && exactMagnitudes[i] >= threshold * topExact && magnitudes[i] < threshold * topEstimate
            }.map { names[$0] }
        }

        /// Pearson correlation of the ranks; nil when either list is constant.
        static func spearman(_ a: [Double], _ b: [Double]) -> Double? {
            let (ra, rb) = (ranks(a), ranks(b))
            let n = Double(a.count), meanA = ra.reduce(0, +) / n, meanB = rb.reduce(0, +) / n
            var covariance = 0.0, varianceA = 0.0, varianceB = 0.0
            for (x, y) in zip(ra, rb) {
                covariance += (x - meanA) * (y - meanB)
                varianceA += (x - meanA) * (x - meanA)
                varianceB += (y - meanB) * (y - meanB)
            }
            guard varianceA > 0, varianceB > 0 else { return nil }
            return covariance / (varianceA * varianceB).squareRoot()
        }

        /// 1-based ranks in increasing order, ties sharing their mean rank.
        static func ranks(_ values: [Double]) -> [Double] {
            let order = values.indices.sorted { values[$0] < values[$1] }
            var ranks = [Double](repeating: 0, count: values.count)
            var start = 0
            while start < order.count {
                var end = start
                while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
                for i in start...end { ranks[order[i]] = Double(start + end) / 2 + 1 }
                start = end + 1
            }
            return ranks
        }
    }

    public let metric: String
    /// `noising` (the paper's: the clean run patched with corrupted activations) or `denoising`.
    public let direction: String
    public let cleanValue: Float
    public let corruptedValue: Float
    public let entries: [Entry]
    /// One per estimate computed, when exact effects were computed.
    public let comparisons: [Comparison]?
    /// Wall-clock seconds of each stage: `forward` (one plain forward pass of both runs' batch, the unit of
    /// comparison), `gradients` (the batched forward and backward pass), `atp`, `qk_fix`, `grad_drop`, `exact`.
    public let seconds: [String: Double]

    /// The entry of the node named `name`.
    public subscript(name: String) -> Entry? { entries.first { $0.node == name } }

    /// JSON encoding of the result.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
