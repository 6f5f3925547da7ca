import TestModels
import Testing
import Interp

@Suite struct DirectLogitAttributionTests {
    @Test(arguments: [false, true]) func contributionsSumToTheLogit(llama: Bool) throws {
        let model = TestModels.make(llama: llama, layers: 3)
        let batch = TokenBatch(TestModels.prompts)
        for target in [LogitTarget.predicted, .token(3), .difference(answer: 4, wrong: 9)] {
            for position in [-1, 2] {
                let dla = try model.directLogitAttribution(batch, target: target, position: position)
                #expect(dla.maxError < 1e-4, "target \(target) position \(position): \(dla.totals) vs \(dla.logits)")
                #expect(dla.headContributions.shape == [3, 4])
            }
        }
    }

    @Test func perHeadContributionIsTheHeadsWriteThroughTheNorm() throws {
        // Recompute one head's contribution by hand from the cache, through the final norm's linear map.
        let model = TestModels.make(llama: false)
        let batch = TokenBatch(TestModels.prompts)
        let dla = try model.directLogitAttribution(batch, target: .token(5))
        let (_, cache) = try model.runWithCache(batch, filter: .standard)
        let write = try cache.headResults(layer: 1).select(axis: 0, 0).select(axis: 0, -1 + 8).select(axis: 0, 2)
        let centered = write - write.mean()
        let divisor = try cache.activation("ln_final.hook_scale")[0, 7, 0]
        let expected = (centered / divisor * model.finalNorm.weight * model.unembeddingDirection(5)).sum().item
        let column = dla.labels.firstIndex(of: "L1H2")!
        #expect(Swift.abs(dla.contributions[column, 0] - expected) < 1e-5)
    }
}
