import TestModels
import Testing
import Circuits

/// The faithfulness-target search evaluates its candidates with patched passes that skip the positions every
/// patched run shares with the clean run (before the first corrupted token). Every point it evaluates must equal
/// a from-scratch evaluation of that circuit — the masked run (``EdgePatching/maskedRun(keep:)``: one full
/// forward pass over every position with 0/1 keep fractions) — and the chosen size must be the crossing those
/// values give, on grouped-query attention and GPT-2-style models, prompts of mixed lengths, KL and
/// logit-difference metrics, corrupted, zero and mean sources, with full-width and compact (z-space) sources.
@Suite struct ResumedFaithfulnessTests {
    /// Prompts of 8, 6 and 7 tokens (right-padded) corrupted at positions 6, 5 (the read position) and 4: every
    /// patched run with the corrupted source equals the clean run on the first 4 positions.
    static func pairs() throws -> PromptPairs {
        try PromptPairs(clean: [[3, 7, 1, 9, 4, 4, 12, 5], [8, 2, 2, 15, 6, 11], [5, 9, 14, 3, 3, 7, 10]],
                        corrupted: [[3, 7, 1, 9, 4, 4, 13, 5], [8, 2, 2, 15, 6, 1], [5, 9, 14, 3, 2, 7, 10]],
                        answers: [5, 9, 1], wrongs: [1, 2, 4])
    }

    /// The from-scratch metric of a circuit: the masked run with keep fraction 1 on its edges, 0 elsewhere.
    static func fromScratch(_ patching: EdgePatching, _ circuit: Set<ComputationGraph.Edge>) -> Float {
        patching.maskedRun(keep: patching.graph.edges.map { circuit.contains($0) ? 1 : 0 }).value
    }

    static func expectSearchMatchesFromScratch(_ patching: EdgePatching, target: Float, label: String) {
        let scores = patching.edgeAttribution(integratedGradientSteps: 3)
        let found = patching.circuit(reaching: target, scores: scores)
        let span = patching.cleanValue - patching.corruptedValue
        var reference: [Int: Float] = [:]
        func f(_ n: Int) -> Float {
            if let known = reference[n] { return known }
            let value = n == 0 ? 0 : (fromScratch(patching, Circuit.top(scores, count: n).pruned().edges) - patching.corruptedValue) / span
            reference[n] = value
            return value
        }
        let scale = Swift.max(Swift.abs(patching.cleanValue), Swift.abs(patching.corruptedValue), 1)
        let worst = found.points.map { Swift.abs($0.faithfulness - f($0.edgeCount)) * Swift.abs(span) }.max()!
        #expect(found.points.count > 3, "\(label): \(found.points.count) points")
        #expect(worst < 1e-5 * scale, "\(label): a point differs from the from-scratch value by \(worst)")
        if let n = found.size {
            #expect(n > 0 && f(n) >= target && f(n - 1) < target, "\(label): \(n) is no crossing of the from-scratch values")
        } else {
            #expect(f(found.maxSize) < target, "\(label): the from-scratch value reaches the target")
        }
    }

    @Test(arguments: ["corrupted", "zero", "mean"])
    func everyEvaluatedPointEqualsAFromScratchPass(ablation: String) throws {
        let pairs = try Self.pairs()
        let source = BatchedACDCTests.source(ablation, pairs)
        let models = [("GQA", TestModels.make(llama: true, layers: 3, kvHeads: 2)), ("GPT-2", TestModels.make(llama: false, layers: 3))]
        for (name, model) in models {
            for kind in [MetricKind.kl, .logitDiff] {
                let patching = try EdgePatching(model: model, pairs: pairs, source: source, metric: kind)
                Self.expectSearchMatchesFromScratch(patching, target: 0.8, label: "\(name), \(ablation), \(kind)")
            }
        }
    }

    @Test func compactSourcesToo() throws {
        let pairs = try Self.pairs()
        let model = TestModels.make(llama: true, layers: 3, heads: 4, kvHeads: 2)
        let patching = try CompactSourcesTests.withSourceLimit(0) { try EdgePatching(model: model, pairs: pairs, metric: .logitDiff) }
        Self.expectSearchMatchesFromScratch(patching, target: 0.8, label: "compact GQA")
    }
}
