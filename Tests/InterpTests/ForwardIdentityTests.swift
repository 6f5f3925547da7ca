import TestModels
import Testing
import Interp

@Suite struct ForwardIdentityTests {
    static let families = [false, true]

    @Test(arguments: families) func residualStreamAddsUp(llama: Bool) throws {
        let model = TestModels.make(llama: llama)
        let (_, cache) = try model.runWithCache(TokenBatch(TestModels.prompts), filter: .all)
        let stream = ResidualStream(cache)
        for l in 0..<model.layerCount {
            let rebuilt = try stream.residPre(l) + stream.attnContribution(l) + stream.mlpContribution(l)
            #expect(try rebuilt.maxAbsDifference(stream.residPost(l)) < 1e-5)
            #expect(try (stream.residPre(l) + stream.attnContribution(l)).maxAbsDifference(stream.residMid(l)) < 1e-5)
            if l > 0 { #expect(try stream.residPre(l) == stream.residPost(l - 1)) }
        }
    }

    @Test(arguments: families) func cachingEverythingLeavesLogitsUnchanged(llama: Bool) throws {
        let model = TestModels.make(llama: llama, kvHeads: llama ? 2 : nil)
        let batch = TokenBatch(TestModels.prompts)
        let plain = model.forward(batch)
        let (logits, cache) = try model.runWithCache(batch, filter: .all)
        #expect(plain.maxAbsDifference(logits) < 1e-4)
        #expect(cache.activations.count == model.hookNames.count)
    }

    @Test(arguments: families) func headResultsSumToAttentionOutput(llama: Bool) throws {
        let model = TestModels.make(llama: llama)
        let (_, cache) = try model.runWithCache(TokenBatch(TestModels.prompts), filter: .all)
        for l in 0..<model.layerCount {
            var summed = try cache.activation("result", layer: l).sum(axis: 2)
            if let bias = model.blocks[l].attention.output.bias { summed = summed + bias }
            #expect(try summed.maxAbsDifference(cache.activation("attn_out", layer: l)) < 1e-5)
            #expect(try cache.headResults(layer: l).maxAbsDifference(cache.activation("result", layer: l)) < 1e-5)
        }
    }

    @Test(arguments: families) func decompositionSumsToFinalResidual(llama: Bool) throws {
        let model = TestModels.make(llama: llama)
        let (_, cache) = try model.runWithCache(TokenBatch(TestModels.prompts), filter: .standard)
        let parts = try cache.decomposedResidual()
        #expect(parts.labels.count == parts.tensor.shape[0])
        #expect(try parts.tensor.sum(axis: 0).maxAbsDifference(cache.activation("resid_post", layer: -1)) < 1e-4)
    }

    @Test(arguments: families) func leftPaddingDoesNotChangeRealPositions(llama: Bool) throws {
        let model = TestModels.make(llama: llama, kvHeads: llama ? 2 : nil)
        let short = [5, 9, 2, 7], long = TestModels.prompts[0]
        let alone = model.forward(TokenBatch([short]))
        for side in [TokenBatch.PaddingSide.left, .right] {
            let padded = TokenBatch.padding([short, long], side: side, padID: 0)
            let logits = model.forward(padded)
            let offset = side == .left ? long.count - short.count : 0
            let real = logits.select(axis: 0, 0).slice(axis: 0, offset..<(offset + short.count))
            #expect(real.maxAbsDifference(alone.select(axis: 0, 0)) < 1e-4)
        }
    }

    @Test(arguments: families) func keyValueCacheMatchesFullForward(llama: Bool) throws {
        let model = TestModels.make(llama: llama, kvHeads: llama ? 2 : nil)
        let tokens = TestModels.prompts[1]
        let full = model.forward(TokenBatch([tokens]))
        let cache = KeyValueCache(layerCount: model.layerCount)
        let first = model.forward(TokenBatch([Array(tokens.prefix(5))]), cache: cache)
        #expect(first.maxAbsDifference(full.slice(axis: 1, 0..<5)) < 1e-4)
        for p in 5..<tokens.count {
            let step = model.forward(TokenBatch([[tokens[p]]]), cache: cache)
            #expect(step.maxAbsDifference(full.slice(axis: 1, p..<(p + 1))) < 1e-4)
        }
    }

    @Test func greedyGenerationFollowsArgmax() throws {
        let model = TestModels.make(llama: true)
        var tokens = TestModels.prompts[0]
        let generated = model.generate(TokenBatch([tokens]), maxTokens: 4)[0]
        for token in generated {
            let logits = model.forward(TokenBatch([tokens]), logitPositions: .last)
            #expect(logits.argmax() == token)
            tokens.append(token)
        }
    }
}
