import TestModels
import Testing
import Interp

@Suite struct PatchingTests {
    static func pairs() throws -> PromptPairs {
        try PromptPairs(clean: [[3, 7, 1, 9, 4, 4], [8, 2, 2, 15, 6, 11]], corrupted: [[3, 7, 5, 9, 4, 4], [8, 13, 2, 15, 6, 11]],
                        answers: [5, 9], wrongs: [1, 2], positionLabels: ["X": [2, 1], "END": [5, 5]])
    }

    /// The metric of a full, independent forward pass of the corrupted prompts with one intervention.
    func fullRun(_ model: TransformerModel, _ pairs: PromptPairs, _ metric: Metric, _ intervention: Intervention) throws -> Float {
        let (logits, _) = try model.run(pairs.corrupted, interventions: [intervention])
        return metric(logits.gather(positions: pairs.readPositions)).item
    }

    @Test(arguments: [false, true]) func sweepCellsEqualFullInterventionRuns(llama: Bool) throws {
        let model = TestModels.make(llama: llama, kvHeads: llama ? 2 : nil)
        let pairs = try Self.pairs()
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        var patching = try ActivationPatching(model: model, pairs: pairs, metric: metric)
        patching.maxRowsPerPass = 5      // force several chunks
        let (_, clean) = try model.runWithCache(pairs.clean, filter: .standard)

        let resid = try patching.sweep(.residPre)
        for (layer, position) in [(0, 2), (1, 1), (1, 5)] {
            let expected = try fullRun(model, pairs, metric, Intervention(at: "blocks.\(layer).hook_resid_pre", positions: [position], .patch(from: clean, positionMap: nil)))
            #expect(Swift.abs(resid.values[layer * 6 + position] - expected) < 1e-4)
        }
        let heads = try patching.sweep(.headOut)
        for (layer, head) in [(0, 1), (1, 3)] {
            let expected = try fullRun(model, pairs, metric, Intervention(at: "blocks.\(layer).attn.hook_z", heads: [head], .patch(from: clean, positionMap: nil)))
            #expect(Swift.abs(heads.values[layer * 4 + head] - expected) < 1e-4)
        }
        let values = try patching.sweep(.v, granularity: .byPosition)
        #expect(values.shape == [2, 6, llama ? 2 : 4])
        let expectedV = try fullRun(model, pairs, metric, Intervention(at: "blocks.1.attn.hook_v", positions: [3], heads: [1], .patch(from: clean, positionMap: nil)))
        #expect(Swift.abs(values.values[(1 * 6 + 3) * values.shape[2] + 1] - expectedV) < 1e-4)
    }

    @Test func labelledPositionsFollowEachExample() throws {
        let model = TestModels.make(llama: false)
        let pairs = try Self.pairs()
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        let patching = try ActivationPatching(model: model, pairs: pairs, metric: metric)
        let result = try patching.sweep(.mlpOut, positions: .labels(["X", "END"]))
        #expect(result.axes[1].labels == ["X", "END"])
        let (_, clean) = try model.runWithCache(pairs.clean, filter: .standard)
        // Example 0 reads X at position 2 and example 1 at position 1: patch each at its own position.
        let name = "blocks.0.hook_mlp_out"
        let source = try clean.activation(name)
        let hooks = ForwardHooks()
        hooks.add(name) { activation, _ in
            var scalars = activation.scalars
            let d = activation.shape[2], length = activation.shape[1]
            for (b, p) in [(0, 2), (1, 1)] {
                let start = (b * length + p) * d
                for i in 0..<d { scalars[start + i] = source.scalars[start + i] }
            }
            return Tensor(shape: activation.shape, scalars: scalars)
        }
        let logits = model.forward(pairs.corrupted, hooks: hooks)
        let expected = metric(logits.gather(positions: pairs.readPositions)).item
        #expect(Swift.abs(result.values[0] - expected) < 1e-4)
    }

    @Test func noisingAndDenoisingBracketTheRuns() throws {
        let model = TestModels.make(llama: true)
        let pairs = try Self.pairs()
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        // Patching every position of resid_pre 0 replaces the whole input: the other run's metric.
        let denoise = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: .denoising)
        let all = (0..<6).map { Tensor.zeros([2, 6, 1]) + Tensor(Float($0 >= 0 ? 1 : 0)) }
        #expect(Swift.abs(denoise.patchedMetrics(at: .residPre(0), masks: [all[0]])[0] - denoise.cleanValue) < 1e-4)
        let noise = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: .noising)
        #expect(Swift.abs(noise.patchedMetrics(at: .residPre(0), masks: [all[0]])[0] - noise.corruptedValue) < 1e-4)
    }

    @Test func mismatchedLengthsAreAClearError() {
        #expect(throws: PromptPairsError.lengthMismatch(example: 0, clean: 3, corrupted: 2)) {
            try PromptPairs(clean: [[1, 2, 3]], corrupted: [[1, 2]], answers: [1], wrongs: [2])
        }
    }
}

@Suite struct AttributionPatchingTests {
    @Test func attributionIsExactWhereTheMetricIsLinear() throws {
        // A huge RMSNorm epsilon makes the final norm a constant scale, so the logit difference is linear in
        // the last layer's writes: first-order attribution must equal activation patching.
        let model = TestModels.make(llama: true)
        model.finalNorm.epsilon = 1e12
        let pairs = try PatchingTests.pairs()
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        let patching = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: .noising)
        let attribution = try AttributionPatching(model: model, pairs: pairs, metric: metric, direction: .noising)
            .attribute([.mlpOut, .attnOut])
        for (index, component) in [PatchComponent.mlpOut, .attnOut].enumerated() {
            let exact = try patching.sweep(component)
            let estimate = attribution[index]
            for p in 0..<6 {
                let cell = 1 * 6 + p     // last layer
                #expect(Swift.abs(estimate.values[cell] - exact.values[cell]) < 1e-4 * Swift.max(1, Swift.abs(exact.values[cell])))
            }
        }
    }

    @Test(arguments: [false, true]) func attributionMatchesFiniteDifferences(llama: Bool) throws {
        // d/dε m(a + ε Δ) at ε = 0 equals Δ · ∂m/∂a: a central difference checks the backward pass end to end.
        let model = TestModels.make(llama: llama, kvHeads: llama ? 2 : nil)
        let pairs = try PatchingTests.pairs()
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        let results = try AttributionPatching(model: model, pairs: pairs, metric: metric, direction: .noising)
            .attribute([.residPre, .headOut, .pattern])
        let (_, clean) = try model.runWithCache(pairs.clean, filter: .standard)
        let (_, corrupted) = try model.runWithCache(pairs.corrupted, filter: .standard)
        let baseline = results[0].cleanValue
        func scaled(_ name: String, _ epsilon: Float, mask: Tensor) throws -> Float {
            let delta = try (corrupted.activation(name) - clean.activation(name)) * mask
            let (logits, _) = try model.run(pairs.clean, interventions: [Intervention(at: name, .add(delta * epsilon))])
            return metric(logits.gather(positions: pairs.readPositions)).item
        }
        let epsilon: Float = 3e-3
        let checks: [(PatchingResult, String, Tensor, Int)] = [
            (results[0], "blocks.1.hook_resid_pre", PatchMaskTestHelper.position(2, shape: [2, 6, 1]), 1 * 6 + 2),
            (results[1], "blocks.0.attn.hook_z", PatchMaskTestHelper.head(3, rank: 4, heads: 4), 0 * 4 + 3),
            (results[2], "blocks.1.attn.hook_pattern", PatchMaskTestHelper.headAxis1(2, heads: 4), 1 * 4 + 2),
        ]
        for (result, name, mask, cell) in checks {
            let derivative = (try scaled(name, epsilon, mask: mask) - scaled(name, -epsilon, mask: mask)) / (2 * epsilon)
            let estimate = result.values[cell] - baseline
            #expect(Swift.abs(estimate - derivative) < 2e-3 * Swift.max(1, Swift.abs(derivative)), "\(name): \(estimate) vs \(derivative) at eps \(epsilon)")
        }
    }
}

enum PatchMaskTestHelper {
    static func position(_ p: Int, shape: [Int]) -> Tensor {
        Tensor.build(shape: shape) { out in for i in 0..<out.count { out[i] = (i / shape[2]) % shape[1] == p ? 1 : 0 } }
    }
    static func head(_ h: Int, rank: Int, heads: Int) -> Tensor {
        Tensor(shape: [1, 1, heads, 1], scalars: (0..<heads).map { $0 == h ? 1 : 0 })
    }
    static func headAxis1(_ h: Int, heads: Int) -> Tensor {
        Tensor(shape: [1, heads, 1, 1], scalars: (0..<heads).map { $0 == h ? 1 : 0 })
    }
}
