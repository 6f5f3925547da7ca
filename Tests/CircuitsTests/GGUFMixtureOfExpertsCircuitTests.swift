import Foundation
import Testing
import Circuits
import LanguageModels
import Tensors

/// Edge-level discovery on a mixture-of-experts model read from a GGUF file whose experts are stacked Q8_0 / Q4_0 /
/// Q5_1 tensors read in place (olmoe-q8_0.gguf, scripts/make_gguf_moe_fixtures.py): patching every edge gives the
/// corrupted run and none the clean one, and EAP's scores equal those of the same model with every weight dequantized
/// to dense `Float` tensors (whose MoE gradients MixtureOfExpertsCircuitTests checks against torch autograd).
@Suite struct GGUFMixtureOfExpertsCircuitTests {
    @Test func edgeAttributionRunsOnPackedExperts() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/gguf/olmoe-q8_0.gguf")
        let lm = try LanguageModel.load(from: url)
        let dense = try TransformerModel.build(lm.configuration,
                                               weights: NamedTensors(try lm.model.huggingFaceTensors(configuration: lm.configuration)))
        let clean = [[5, 17, 300, 42, 9, 77, 120, 3], [11, 250, 64, 8, 600, 2, 19, 45]]
        let pairs = try PromptPairs(clean: clean, corrupted: clean.reversed(), answers: [5, 9], wrongs: [1, 2])
        let patching = try EdgePatching(model: lm.model, pairs: pairs, metric: .logitDiff)
        let graph = patching.graph
        #expect(graph.hasMLPs)
        let corrupted = lm.model.forward(pairs.corrupted, logitPositions: .last).reshaped([pairs.count, -1])
        let cleanLogits = lm.model.forward(pairs.clean, logitPositions: .last).reshaped([pairs.count, -1])
        #expect(patching.patchedLogits([.all(graph)]).maxAbsDifference(corrupted) < 1e-4)
        #expect(patching.patchedLogits([EdgeMask(graph: graph)]).maxAbsDifference(cleanLogits) < 1e-4)
        let scores = patching.edgeAttribution().values
        let expected = try EdgePatching(model: dense, pairs: pairs, metric: .logitDiff).edgeAttribution().values
        let largest = expected.map(Swift.abs).max()!
        #expect(largest > 0.05, "the scores are all near 0 (largest \(largest))")
        let worst = zip(scores, expected).map { Swift.abs($0 - $1) }.max()!
        #expect(worst <= 1e-4 * Swift.max(1, largest), "max |Δ EAP| \(worst) at largest score \(largest)")
    }
}
