import Foundation

/// How many upcoming edges batched ACDC tests in one pass, from the keep rate observed so far.
///
/// A batch of k variants costs about `overhead + k` variant-units (the overhead: the receiver's nodes and
/// the logits run once per pass whatever k), and yields `E(k) = (1 − (1 − p)^k) / p` decided tests when each
/// edge is kept with probability p (the tests after the first kept edge are discarded). The size chosen
/// minimizes `(overhead + k) / E(k)` for the recent keep rate, an exponentially weighted average with a
/// prior of one kept edge in ten. Only speed depends on it, never a decision.
public struct ACDCBatchSize: Sendable {
    public let maximum: Int
    /// Relative cost of a pass beyond its variants, in variants.
    public var overhead: Double = 1
    private var keptWeight = 0.1, testedWeight = 1.0
    private let decay = 0.97

    public init(maximum: Int) {
        precondition(maximum >= 1, "the batch size must be at least 1")
        self.maximum = maximum
    }

    /// The observed keep rate.
    public var keepRate: Double { keptWeight / testedWeight }

    /// Records one decision.
    public mutating func record(kept: Bool) {
        keptWeight = keptWeight * decay + (kept ? 1 : 0)
        testedWeight = testedWeight * decay + 1
    }

    /// The batch size for the next pass.
    public var next: Int {
        let p = Swift.min(Swift.max(keepRate, 1e-4), 1)
        func costPerDecision(_ k: Int) -> Double {
            let decided = p >= 1 ? 1 : (1 - Foundation.pow(1 - p, Double(k))) / p
            return (overhead + Double(k)) / decided
        }
        return (1...maximum).min { costPerDecision($0) < costPerDecision($1) }!
    }
}
