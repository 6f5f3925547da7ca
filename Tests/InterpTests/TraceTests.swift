import TestModels
import Testing
import Interp

@Suite struct TraceTests {
    static let batch = TokenBatch(TestModels.prompts)

    /// Interventions, hooks and the cache meet in one run: the cache records what the intervention and the
    /// hook left (embeddings + delta, then doubled), and the logits are those of the changed run.
    @Test func interventionsThenHooksThenCacheInOneRun() throws {
        let model = TestModels.make(llama: false)
        let delta = Tensor(shape: [16], scalars: (0..<16).map { Float($0) / 10 })
        let trace = try model.trace(Self.batch, cache: .points([.embed, .posEmbed, .residPre(0)]),
                                    interventions: [Intervention(at: .residPre(0), .add(delta))],
                                    hooks: [("blocks.0.hook_resid_pre", { x, _ in x * 2 })])
        let expected = (try trace.activations[.embed] + trace.activations[.posEmbed] + delta) * 2
        #expect(try trace.activations[.residPre(0)].maxAbsDifference(expected) < 1e-5)
        let (logits, _) = try model.run(Self.batch, interventions: [Intervention(at: .residPre(0), .add(delta)),
                                                                    Intervention(at: .residPre(0), .scale(2))])
        #expect(trace.logits.maxAbsDifference(logits) < 1e-5)
    }

    /// d(Σ logits)/d(ln_final.hook_normalized) is, at every position, the gain times the column sums of the
    /// unembedding (logits = (normalized · gain + bias) W_Uᵀ), by construction.
    @Test func gradientsOfTheLogitsAtTheFinalNorm() throws {
        let model = TestModels.make(llama: false)
        let trace = try model.trace(Self.batch, cache: nil,
                                    gradients: GradientRequest(of: { $0.sum() }, at: ["ln_final.hook_normalized"]))
        let gradient = try #require(trace.gradients[HookPoint.finalNormalized.name])
        let unembedding = model.unembedding.rows(Array(0..<model.vocabularySize))
        let expected = (unembedding.sum(axis: 0) * model.finalNorm.weight).broadcast(to: gradient.shape)
        #expect(gradient.maxAbsDifference(expected) < 1e-3)
        #expect(trace.logits.maxAbsDifference(model.forward(Self.batch)) < 1e-5)
    }

    /// The registry: every name the model publishes parses back to its point, and layouts follow the kind.
    @Test func hookPointsRoundTripTheirNames() {
        for llama in [false, true] {
            let model = TestModels.make(llama: llama)
            for point in model.hookPoints { #expect(HookPoint(name: point.name) == point) }
            #expect(model.hookNames.count == Set(model.hookNames).count)
        }
        #expect(HookPoint(name: "blocks.x.hook_resid_pre") == nil && HookPoint(name: "blocks.1.hook_embed") == nil)
        #expect(HookPoint.pattern(1).layout == ActivationLayout(positionAxis: 2, headAxis: 1, keyAxis: 3))
        #expect(HookPoint.z(1).layout.headAxis == 2 && HookPoint.residMid(1).layout.headAxis == nil)
    }
}
