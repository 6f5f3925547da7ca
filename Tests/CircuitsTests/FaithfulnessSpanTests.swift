import Testing
import Circuits
import TestModels

/// Faithfulness divides by m(N) − m(∅): with corrupted prompts equal to the clean ones that is (nearly) 0, and
/// faithfulness is NaN with the span flagged degenerate, not a silent 0 or float32 noise divided by noise.
@Suite struct FaithfulnessSpanTests {
    @Test func identicalPromptsGiveADegenerateSpanAndNaNFaithfulness() throws {
        let model = TestModels.make(llama: false, layers: 2)
        let same = try PromptPairs(clean: [[3, 7, 1, 9, 4, 4]], corrupted: [[3, 7, 1, 9, 4, 4]], answers: [5], wrongs: [1])
        let patching = try EdgePatching(model: model, pairs: same, metric: .logitDiff)
        #expect(patching.faithfulnessSpan.isDegenerate)
        let circuit = Circuit.top(patching.edgeAttribution(), count: 3)
        #expect(patching.faithfulness(of: circuit).isNaN)
        #expect(throws: MetricSpanError.self) { try patching.faithfulnessSpan.check(metric: "logit_diff") }

        let differing = try PromptPairs(clean: [[3, 7, 1, 9, 4, 4]], corrupted: [[3, 7, 5, 9, 4, 4]], answers: [5], wrongs: [1])
        let counterfactual = try EdgePatching(model: model, pairs: differing, metric: .logitDiff)
        #expect(!counterfactual.faithfulnessSpan.isDegenerate)
        #expect(abs(counterfactual.faithfulness(ofEdgeSets: [Set(counterfactual.graph.edges)])[0] - 1) < 1e-4)
    }
}
