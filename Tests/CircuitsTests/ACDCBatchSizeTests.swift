import Testing
import Circuits

/// The batch size of batched ACDC: the keep-rate optimum, capped by the memory a pass holds.
@Suite struct ACDCBatchSizeTests {
    /// With the prior keep rate p = 0.1 and an overhead of one variant, (1 + k) / ((1 − 0.9^k) / 0.1) is
    /// 1.476 at k = 3, 1.454 at k = 4 and 1.465 at k = 5, so 4 is the optimum once the pass bytes are known.
    @Test func keepRateOptimumWithinTheBudget() {
        var size = ACDCBatchSize(maximum: 32)
        #expect(size.next == 1, "the first pass, whose bytes are unknown, tests one edge")
        size.record(bytes: 4 * (10 << 20), variants: 4)
        #expect(size.next == 4)
    }

    /// 256 MB over 100 MB per variant affords 2 variants (the optimum 4 is capped); 200 MB per variant affords 1.
    @Test func memoryCapsTheBatch() {
        var size = ACDCBatchSize(maximum: 32)
        size.record(bytes: 100 << 20, variants: 1)
        #expect(size.next == 2)
        size.record(bytes: 2 * (200 << 20), variants: 2)
        #expect(size.next == 1)
        size.memoryBudget = 1 << 30
        #expect(size.next == 4)
    }
}
