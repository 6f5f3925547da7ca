import TestModels
import Testing
import Interp

@Suite struct InterventionTests {
    let model = TestModels.make(llama: false)
    let batch = TokenBatch(TestModels.prompts)

    @Test func zeroingOneHeadRemovesExactlyItsWrite() throws {
        let (_, clean) = try model.runWithCache(batch, filter: .all)
        let (_, ablatedCache) = try model.run(batch, interventions: [Intervention(at: "blocks.0.attn.hook_z", heads: [2], .zero)],
                                              cacheFilter: .names(["blocks.0.hook_attn_out"]))
        let expected = try clean.activation("attn_out", layer: 0) - clean.activation("result", layer: 0).select(axis: 2, 2)
        #expect(try ablatedCache!.activation("attn_out", layer: 0).maxAbsDifference(expected) < 1e-5)
    }

    @Test func positionSelectorChangesOnlyThosePositions() throws {
        let delta = Tensor(repeating: 1, shape: [16])
        let (_, cache) = try model.run(batch, interventions: [Intervention(at: "layers.0.mlp", positions: [3, 5], .add(delta))],
                                       cacheFilter: .names(["blocks.0.hook_mlp_out"]))
        let (_, clean) = try model.runWithCache(batch, filter: .names(["blocks.0.hook_mlp_out"]))
        let difference = try cache!.activation("mlp_out", layer: 0) - clean.activation("mlp_out", layer: 0)
        for p in 0..<8 {
            let expected: Float = [3, 5].contains(p) ? 16 * 2 : 0
            #expect(Swift.abs(difference.select(axis: 1, p).sum().item - expected) < 1e-4)
        }
    }

    @Test func patchingEveryResidualReproducesTheSourceRun() throws {
        let corrupted = TokenBatch(TestModels.prompts.reversed())
        let (corruptedLogits, corruptedCache) = try model.runWithCache(corrupted, filter: .standard)
        let (patched, _) = try model.run(batch, interventions: [Intervention(at: "blocks.0.hook_resid_pre", .patch(from: corruptedCache, positionMap: nil))])
        #expect(patched.maxAbsDifference(corruptedLogits) < 1e-4)
    }

    @Test func scaleClampAndMeanDoTheirJob() throws {
        let name = "blocks.1.hook_resid_mid"
        let (_, clean) = try model.runWithCache(batch, filter: .names([name]))
        let original = try clean.activation(name)
        let cases: [(Intervention.Operation, Tensor)] = [
            (.scale(0.5), original * 0.5),
            (.clamp(min: -0.1, max: 0.2), original.clamped(min: -0.1, max: 0.2)),
            (.meanOverBatch, original.mean(axis: 0, keepingDimension: true).broadcast(to: original.shape)),
        ]
        for (operation, expected) in cases {
            let (_, cache) = try model.run(batch, interventions: [Intervention(at: name, operation)], cacheFilter: .names([name]))
            #expect(try cache!.activation(name).maxAbsDifference(expected) < 1e-6)
        }
    }

    @Test func noiseIsSeededAndHasTheRequestedSpread() throws {
        let name = "blocks.0.hook_resid_post"
        let noise = Intervention(at: name, .noise(standardDeviation: 2, seed: 42))
        let (_, a) = try model.run(batch, interventions: [noise], cacheFilter: .names([name]))
        let (_, b) = try model.run(batch, interventions: [noise], cacheFilter: .names([name]))
        let (_, clean) = try model.runWithCache(batch, filter: .names([name]))
        #expect(try a!.activation(name) == b!.activation(name))
        let added = try a!.activation(name) - clean.activation(name)
        let spread = added.squared().mean().item.squareRoot()
        #expect(spread > 1.7 && spread < 2.3)
    }

    @Test func steeringAppliesAtEveryGenerationStep() throws {
        let steer = Intervention(at: "blocks.1.hook_resid_post", .add(model.unembeddingDirection(7) * 50))
        let hooks = ForwardHooks()
        try model.register([steer], on: hooks)
        let generated = model.generate(TokenBatch([[1, 2, 3]]), maxTokens: 3, hooks: hooks)[0]
        #expect(generated == [7, 7, 7])
    }

    @Test func badHeadIndexIsAClearError() {
        #expect(throws: InterventionError.headOutOfRange(hook: "blocks.0.attn.hook_z", head: 9, headCount: 4)) {
            try model.run(batch, interventions: [Intervention(at: "blocks.0.attn.hook_z", heads: [9], .zero)])
        }
    }
}
