import Foundation
import Testing
import TestScratch
import LanguageModels

/// What Phi and OLMo (v1) checkpoints load to (fixtures by scripts/make_family_fixtures.py; their logits, block
/// outputs and caches are checked against transformers and TransformerLens in FamilyTests and
/// FamilyTransformerLensTests): Phi's one LayerNorm feeding a parallel block and its unembedding bias, OLMo's
/// LayerNorms without gain or bias and its q/k/v clipping.
@Suite struct PhiOLMoTests {
    @Test(arguments: ["phi_qk", "phi_tied_bf16"]) func phiReadsOneLayerNormInAParallelBlock(name: String) throws {
        let model = try Fixtures.model(name)
        let configuration = try ModelConfiguration(contentsOf: Fixtures.directory(name))
        for block in model.blocks {
            #expect(block.parallelResidual && !block.mlpReadsAttentionOutput)
            #expect(block.ln1!.weight == block.ln2!.weight && block.ln1!.bias == block.ln2!.bias && block.ln1!.bias != nil)
            #expect((block.attention.queryNorm != nil) == configuration.qkNorm)
            #expect(block.attention.queryNorm.map { $0.kind == .layerNorm && $0.bias != nil } ?? true)
            #expect([block.attention.query, block.attention.output, block.mlp!.input, block.mlp!.output].allSatisfy { $0.bias != nil })
        }
        #expect(model.unembeddingBias?.shape == [model.vocabularySize])
        #expect(model.tiedEmbeddings == (name == "phi_tied_bf16"))
        // The bias is added to every position's logits, and the column-restricted unembedding adds its columns.
        let residual = model.forward(TokenBatch([[4, 8, 15, 16]]), logitPositions: .none)
        let columns = [3, 200, 7]
        let full = model.unembed(residual, hooks: nil)
        let picked = model.unembed(residual, columns: columns)
        for (i, column) in columns.enumerated() {
            #expect(picked.select(axis: 2, i).maxAbsDifference(full.select(axis: 2, column)) < 1e-5)
        }
    }

    @Test(arguments: ["olmo_clip", "olmo_gqa_bf16"]) func olmoNormsHaveNoGainOrBias(name: String) throws {
        let model = try Fixtures.model(name)
        let norms = model.blocks.flatMap { [$0.ln1!, $0.ln2!] } + [model.finalNorm]
        #expect(norms.allSatisfy { $0.kind == .layerNorm && $0.bias == nil && $0.epsilon == 1e-5 && $0.weight.scalars.allSatisfy { $0 == 1 } })
        #expect(model.unembeddingBias == nil)
        #expect(model.blocks.allSatisfy { !$0.parallelResidual })
    }

    /// hook_v sees the values before the clamp (as in TransformerLens); each head's z, a convex combination of
    /// clamped values, stays within the bound.
    @Test func olmoClampsQueriesKeysAndValues() throws {
        let model = try Fixtures.model("olmo_clip")
        let clip = try #require(model.blocks[0].attention.clip)
        #expect(clip == 1)
        let hooks = ForwardHooks()
        hooks.cache { $0.hasSuffix("hook_v") || $0.hasSuffix("hook_z") || $0.hasSuffix("hook_q") }
        _ = model.forward(TokenBatch([[5, 9, 14, 2, 77, 31, 6]]), hooks: hooks)
        for l in 0..<model.layerCount {
            let names = model.blocks[l].names
            #expect(hooks.cached[names.v]!.scalars.contains { Swift.abs($0) > clip * 1.2 }, "layer \(l): nothing to clip")
            #expect(hooks.cached[names.q]!.scalars.contains { Swift.abs($0) > clip * 1.2 })
            #expect(hooks.cached[names.z]!.scalars.allSatisfy { Swift.abs($0) <= clip + 1e-5 }, "layer \(l)")
        }
    }

    @Test func optionsNameWhatIsUnusual() throws {
        let phi = try ModelConfiguration(contentsOf: Fixtures.directory("phi_qk"))
        #expect(phi.family == .phi && phi.normalization == .layerNorm)
        #expect(phi.optionsInForce.contains("rotary on 4 of 10 head dimensions, base 500.0"))
        #expect(phi.optionsInForce.contains("per-head q/k norms") && phi.optionsInForce.contains("parallel attention and MLP"))
        let olmo = try ModelConfiguration(contentsOf: Fixtures.directory("olmo_clip"))
        #expect(olmo.family == .olmo && olmo.clipQKV == 1)
        #expect(olmo.optionsInForce.contains("q, k, v clamped to ±1.0") && olmo.optionsInForce.contains("LayerNorms without gain or bias"))
    }

    /// transformers' OlmoConfig types `clip_qkv` `float` strictly: a bound of 1 is written `1.0`.
    @Test func clipIsWrittenAsAFloat() throws {
        let json = String(decoding: try ModelConfiguration(contentsOf: Fixtures.directory("olmo_clip")).configJSON(), as: UTF8.self)
        #expect(json.range(of: #""clip_qkv"\s*:\s*1\.0"#, options: .regularExpression) != nil, "\(json)")
    }

    /// A model whose norms were changed (trained) no longer fits OLMo's or Phi's layout: saving says so.
    @Test func savingRefusesNormsTheLayoutCannotHold() throws {
        try withTemporaryDirectory { directory in
            for name in ["olmo_clip", "phi_qk"] {
                let configuration = try ModelConfiguration(contentsOf: Fixtures.directory(name))
                let model = try Fixtures.model(name)
                model.blocks[1].ln2!.weight = model.blocks[1].ln2!.weight * 1.5
                #expect(throws: SavingError.self) { try model.save(to: directory, configuration: configuration) }
            }
        }
    }
}
