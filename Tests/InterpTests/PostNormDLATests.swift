import Foundation
import Testing
import Interp

/// Direct logit attribution on families with post-attention norms (Gemma-2/3, OLMo-2) and final logit
/// soft-capping (Gemma-2), on the tiny checkpoint fixtures: each head's write goes through its layer's post-norm
/// with the divisor of the run, and soft-capped logits are attributed before the cap.
@Suite struct PostNormDLATests {
    static func model(_ name: String) throws -> TransformerModel {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models/\(name)")
        return try TransformerModel.load(Checkpoint(directory: directory))
    }

    static let batch = TokenBatch([[1, 17, 42, 9, 100, 3, 77, 12, 5, 61], [1, 8, 8, 30, 2, 19, 44, 90, 7, 13]])

    @Test(arguments: ["gemma2", "gemma3", "olmo2"]) func contributionsSumToThePreCapLogit(name: String) throws {
        let model = try Self.model(name)
        let (capped, cache) = try model.runWithCache(Self.batch, filter: .all)
        let final = try cache[.residPost(model.layerCount - 1)]
        for target in [LogitTarget.predicted, .token(3), .difference(answer: 5, wrong: 1)] {
            for position in [-1, 4] {
                let dla = try model.directLogitAttribution(Self.batch, target: target, position: position)
                #expect(dla.maxError < 1e-4, "\(name) \(target) at \(position): \(dla.totals) vs \(dla.logits)")
                #expect(dla.logitSoftcap == model.finalLogitSoftcap)
                // The pre-cap logit, recomputed from the final residual stream: ln_final, then the unembedding.
                for (b, p) in dla.positions.enumerated() {
                    let normalized = final.select(axis: 0, b).select(axis: 0, p).rmsNorm(weight: model.finalNorm.weight,
                                                                                         epsilon: model.finalNorm.epsilon)
                    var direction = model.unembeddingDirection(dla.targets[b])
                    if case let .difference(_, wrong) = target { direction = direction - model.unembeddingDirection(wrong) }
                    let preCap = (normalized * direction).sum().item
                    #expect(Swift.abs(dla.logits[b] - preCap) < 1e-4, "\(name) row \(b)")
                    if let cap = model.finalLogitSoftcap, case .token(let token) = target {
                        #expect(Swift.abs(cap * tanh(preCap / cap) - capped[b, p, token]) < 1e-4)
                    }
                }
            }
        }
    }

    @Test(arguments: ["gemma2", "olmo2"]) func headTermIsItsShareOfTheNormalizedAttentionOutput(name: String) throws {
        let model = try Self.model(name)
        let dla = try model.directLogitAttribution(Self.batch, target: .token(7))
        let (_, cache) = try model.runWithCache(Self.batch, filter: .all)
        let (l, h, b) = (1, 2, 0), p = Self.batch.lastPositions[b]
        let gain = model.blocks[l].postAttentionNorm!.weight
        let write = try cache[.result(l)].select(axis: 0, b).select(axis: 0, p).select(axis: 0, h) * gain
            / cache[.ln1PostScale(l)][b, p, 0]
        let finalDivisor = try cache[.finalScale][b, p, 0]
        let expected = (write / finalDivisor * model.finalNorm.weight * model.unembeddingDirection(7)).sum().item
        #expect(Swift.abs(dla.contributions[dla.labels.firstIndex(of: "L\(l)H\(h)")!, b] - expected) < 1e-5)
        // The layer's head terms add up to its attention output's term.
        let attnOut = try cache[.attnOut(l)].select(axis: 0, b).select(axis: 0, p)
        let layerTerm = (attnOut / finalDivisor * model.finalNorm.weight * model.unembeddingDirection(7)).sum().item
        let heads = (0..<model.headCount).map { dla.contributions[dla.labels.firstIndex(of: "L\(l)H\($0)")!, b] }.reduce(0, +)
        #expect(Swift.abs(heads - layerTerm) < 1e-5)
    }

    /// A soft-cap far below the logits (the Gemma-2 fixture's weights with cap 0.05): the capped Float logits
    /// reach ±cap, from which `cap · atanh(logit / cap)` gave ±∞; the pre-cap logit comes from the final residual.
    @Test func preCapLogitOfASaturatedSoftCapIsFinite() throws {
        let fixture = try Self.model("gemma2")
        let model = TransformerModel(tokenEmbedding: fixture.tokenEmbedding, positionEmbedding: fixture.positionEmbedding,
                                     blocks: fixture.blocks, finalNorm: fixture.finalNorm, unembedding: fixture.unembedding,
                                     contextLength: fixture.contextLength, tiedEmbeddings: fixture.tiedEmbeddings,
                                     embeddingScale: fixture.embeddingScale, finalLogitSoftcap: 0.05)
        let (capped, cache) = try model.runWithCache(Self.batch, filter: .all)
        #expect(capped.scalars.contains { Swift.abs($0) == 0.05 }, "the cap saturates some Float logits")
        let final = try cache[.residPost(model.layerCount - 1)]
        for target in [LogitTarget.predicted, .token(3), .difference(answer: 5, wrong: 1)] {
            let dla = try model.directLogitAttribution(Self.batch, target: target)
            #expect(dla.maxError < 1e-4, "\(target): \(dla.totals) vs \(dla.logits)")
            for (b, p) in dla.positions.enumerated() {
                let normalized = final.select(axis: 0, b).select(axis: 0, p).rmsNorm(weight: model.finalNorm.weight,
                                                                                     epsilon: model.finalNorm.epsilon)
                var direction = model.unembeddingDirection(dla.targets[b])
                if case let .difference(_, wrong) = target { direction = direction - model.unembeddingDirection(wrong) }
                #expect(Swift.abs(dla.logits[b] - (normalized * direction).sum().item) < 1e-4, "\(target) row \(b)")
            }
        }
    }
}
