import Foundation
import Testing
import Interp

/// Direct logit attribution with an unembedding bias (Phi's `lm_head.bias`) and with gain-free LayerNorms (OLMo),
/// on the tiny checkpoint fixtures: the contributions plus the bias term add up to the model's logit, and the bias
/// term holds `b_U` at the target.
@Suite struct UnembeddingBiasDLATests {
    static func model(_ name: String) throws -> TransformerModel {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models/\(name)")
        return try TransformerModel.load(Checkpoint(directory: directory))
    }

    @Test(arguments: ["phi_qk", "phi_tied_bf16", "olmo_clip"]) func contributionsAddUpToTheLogit(name: String) throws {
        let model = try Self.model(name)
        let batch = TokenBatch([[1, 17, 42, 9, 100, 3, 77, 12], [1, 8, 8, 30, 2, 19, 44, 90]])
        for target in [LogitTarget.predicted, .token(3), .difference(answer: 5, wrong: 1)] {
            let dla = try model.directLogitAttribution(batch, target: target, position: -1)
            #expect(dla.maxError < 1e-4, "\(name) \(target): \(dla.totals) vs \(dla.logits)")
            guard case let .difference(answer, wrong) = target, let bias = model.unembeddingBias else { continue }
            // The LayerNorm bias's part alone, from its definition: ln_final's bias dotted with W_U[answer] - W_U[wrong].
            let direction = model.unembeddingDirection(answer) - model.unembeddingDirection(wrong)
            let normBias = (model.finalNorm.bias! * direction).sum().item
            for b in 0..<batch.batchSize {
                #expect(Swift.abs(dla.biasTerm[b] - normBias - (bias.scalars[answer] - bias.scalars[wrong])) < 1e-5)
            }
        }
    }
}
