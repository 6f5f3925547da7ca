import Foundation
import TestModels
import Testing
import Interp

/// Activation patching that recomputes only the examples a patch changes, from the first changed position on
/// (attending to the target run's cached keys and values before it), must give the metrics of patched runs that
/// recompute every position of every example from the patched layer on, on prompts of mixed lengths (right
/// padding) whose corruptions sit at different positions, for every component and granularity, both directions.
@Suite struct ChangedPositionPatchingTests {
    static let sweeps: [(PatchComponent, PatchGranularity)] = [
        (.residPre, .standard), (.residMid, .standard), (.attnOut, .standard), (.mlpOut, .standard),
        (.headOut, .standard), (.headOut, .byPosition), (.q, .byPosition), (.k, .standard), (.v, .byPosition),
        (.pattern, .standard), (.pattern, .destinationSource),
    ]

    /// Every sweep both ways, with passes of at most `maxRowsPerPass` rows: the largest difference from full
    /// recomputation must stay below 1e-5 of the metric's scale (its largest magnitude in the sweep: rounding
    /// differs between passes of different sizes), and the patches must matter (move the metric by a tenth of
    /// the clean − corrupted gap somewhere).
    static func expectFullRecomputeValues(_ model: TransformerModel, _ pairs: PromptPairs, maxRowsPerPass: Int, label: String) throws {
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        for direction in [PatchDirection.denoising, .noising] {
            var patching = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: direction)
            patching.maxRowsPerPass = maxRowsPerPass
            var full = patching
            full.recomputesChangedPositionsOnly = false
            let gap = Swift.abs(patching.cleanValue - patching.corruptedValue)
            let unpatched = direction == .denoising ? patching.corruptedValue : patching.cleanValue
            var largestEffect: Float = 0
            for (component, granularity) in sweeps {
                let sparse = try patching.sweep(component, granularity: granularity).values
                let expected = try full.sweep(component, granularity: granularity).values
                let worst = zip(sparse, expected).map { Swift.abs($0 - $1) }.max()!
                let scale = (expected + [patching.cleanValue, patching.corruptedValue]).map { Swift.abs($0) }.max()!
                #expect(worst <= 1e-5 * scale, "\(label) \(direction) \(component) \(granularity): differs by \(worst / scale) of the scale")
                largestEffect = Swift.max(largestEffect, expected.map { Swift.abs($0 - unpatched) }.max()!)
            }
            #expect(largestEffect > 0.1 * gap, "\(label) \(direction): the patches barely matter (\(largestEffect / gap))")
        }
    }

    /// A Llama-style model with grouped-query attention (4 heads, 2 key-value heads); prompts of 8, 6 and 7 tokens,
    /// corrupted at positions 6, 5 (the read position) and 1 and 4.
    @Test(arguments: [256, 5]) func groupedQueryModelWithMixedLengths(maxRowsPerPass: Int) throws {
        let pairs = try PromptPairs(clean: [[3, 7, 1, 9, 4, 4, 12, 5], [8, 2, 2, 15, 6, 11], [5, 9, 14, 3, 3, 7, 10]],
                                    corrupted: [[3, 7, 1, 9, 4, 4, 13, 5], [8, 2, 2, 15, 6, 1], [5, 2, 14, 3, 2, 7, 10]],
                                    answers: [5, 9, 1], wrongs: [1, 2, 4])
        try Self.expectFullRecomputeValues(TestModels.make(llama: true, layers: 3, kvHeads: 2), pairs,
                                           maxRowsPerPass: maxRowsPerPass, label: "GQA")
    }

    /// Gemma-2 (a sliding window of 4 in layer 0, soft-capping, post-norms); prompts of 12 and 9 tokens corrupted
    /// at positions 2 and 6: the cached keys before the first changed position include some outside the window.
    @Test func slidingWindowModel() throws {
        let (model, pairs) = try TestModels.gemma2SlidingWindowCase()
        try Self.expectFullRecomputeValues(model, pairs, maxRowsPerPass: 256, label: "Gemma-2")
    }
}
