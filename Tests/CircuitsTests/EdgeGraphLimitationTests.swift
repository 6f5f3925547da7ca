import TestModels
import Foundation
import Testing
import Circuits

/// Models whose residual stream the edge graph does not describe are refused, not patched wrongly (parallel
/// blocks are described: ParallelBlockTests).
@Suite struct EdgeGraphLimitationTests {
    @Test func postAttentionNormsAreRefused() throws {
        let pairs = try PromptPairs(clean: [[1, 2, 3]], corrupted: [[4, 5, 6]], answers: [0], wrongs: [1])
        let plain = TestModels.make(llama: true)
        #expect(plain.edgeGraphLimitation == nil)
        _ = try EdgePatching(model: plain, pairs: pairs, metric: .logitDiff)

        let postNorm = TestModels.make(llama: true)
        postNorm.blocks[0].postAttentionNorm = Normalization(kind: .rmsNorm, weight: Tensor.ones([postNorm.dModel]), epsilon: 1e-6)
        for (model, fragment) in [(postNorm, "post-attention norm")] {
            do {
                _ = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
                Issue.record("expected EdgePatching to refuse a model with \(fragment)")
            } catch let error as CircuitError {
                #expect(error.description.contains(fragment), "\(error)")
            }
        }
    }
}
