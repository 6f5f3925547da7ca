import Foundation

/// How many upcoming edges batched ACDC tests in one pass, from the keep rate observed so far.
///
/// A batch of k variants costs about `overhead + k` variant-units (the overhead: the receiver's nodes and
/// the logits run once per pass whatever k), and yields `E(k) = (1 − (1 − p)^k) / p` decided tests when each
/// edge is kept with probability p (the tests after the first kept edge are discarded). The size chosen
/// minimizes `(overhead + k) / E(k)` for the recent keep rate, an exponentially weighted average with a
/// prior of one kept edge in ten. Only speed depends on it, never a decision.
///
/// A pass also holds every recomputed node's output and receiver input once per variant: 100–220 MB per variant
/// for a test deep in a 30-layer graph (smollm2-135m shape, 10x15). A batch holding more than ``memoryBudget``
/// runs slower per variant than one at a time (measured 1.2–2.5x there at 4–18 variants): the allocator hands
/// memory beyond what it retains back to the system and faults it in again on every pass (see `AllocatorPolicy`,
/// which the CLI sets to keep 512 MB), and the working set outgrows every cache. So the size is also capped at
/// the budget over the last pass's bytes per variant, and the first pass, whose bytes are unknown, tests one edge.
public struct ACDCBatchSize: Sendable {
    public let maximum: Int
    /// Relative cost of a pass beyond its variants, in variants.
    public var overhead: Double = 1
    /// The most bytes of tensors a pass should hold: half of what the CLI's allocator retains, leaving room for
    /// the run's own state.
    public var memoryBudget = 256 << 20
    private var bytesPerVariant: Int?
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

    /// Records the bytes of tensors that a pass of `variants` variants held.
    public mutating func record(bytes: Int, variants: Int) {
        precondition(variants >= 1, "a pass has at least one variant")
        bytesPerVariant = bytes / variants
    }

    /// The batch size for the next pass.
    public var next: Int {
        guard let bytesPerVariant else { return 1 }
        let affordable = Swift.max(1, Swift.min(maximum, memoryBudget / Swift.max(bytesPerVariant, 1)))
        let p = Swift.min(Swift.max(keepRate, 1e-4), 1)
        func costPerDecision(_ k: Int) -> Double {
            let decided = p >= 1 ? 1 : (1 - Foundation.pow(1 - p, Double(k))) / p
            return (overhead + Double(k)) / decided
        }
        return (1...affordable).min { costPerDecision($0) < costPerDecision($1) }!
    }
}
