import TestModels
import Foundation
import Testing
import Circuits

/// Mask optimization by position: one mask per positional edge, its masked run checked against positional edge
/// patching and finite differences, and pruning checked on the induction construction whose circuit uses
/// specific positions.
@Suite struct PositionalMaskOptimizationTests {
    /// The patch mask of keep fractions `z` (edge order): each positional edge patched by 1 − z at its bucket.
    static func patchMask(_ z: [Float], _ graph: ComputationGraph) -> EdgeMask {
        var mask = EdgeMask(graph: graph)
        for (e, edge) in graph.edges.enumerated() {
            mask[graph.index(of: edge.sender), graph.index(of: edge.receiver), edge.position ?? 0] = 1 - z[e]
        }
        return mask
    }

    @Test(arguments: [false, true]) func maskedRunMatchesPositionalPatchingAndFiniteDifferences(llama: Bool) throws {
        let pairs = try PositionalCircuitTests.labelledPairs()
        let patching = try PositionalCircuitTests.patching(llama: llama, pairs)
        let graph = patching.graph
        var generator = SeededGenerator(seed: 11)
        // 0/1 masks: the masked run is positional edge patching of the edges at 0.
        for _ in 0..<3 {
            let z: [Float] = graph.edges.map { _ in Bool.random(using: &generator) ? 1 : 0 }
            let masked = patching.maskedRun(keep: z).value
            #expect(Swift.abs(masked - patching.metrics([Self.patchMask(z, graph)])[0]) < 1e-4)
        }
        #expect(Swift.abs(patching.maskedRun(keep: graph.edges.map { _ in 1 }).value - patching.cleanValue) < 1e-4)
        #expect(Swift.abs(patching.maskedRun(keep: graph.edges.map { _ in 0 }).value - patching.corruptedValue) < 1e-4)
        // Fractions: the same interpolation as fractional positional patching, and the gradient its derivative.
        let z = graph.edges.map { _ in Float.random(in: 0.3...0.9, using: &generator) }
        let (value, gradient) = patching.maskedRun(keep: z)
        #expect(Swift.abs(value - patching.metrics([Self.patchMask(z, graph)])[0]) < 1e-4)
        let h: Float = 1e-2
        for e in stride(from: 0, to: graph.edges.count, by: 5) {
            var up = z, down = z
            up[e] += h
            down[e] -= h
            let numeric = (patching.metrics([Self.patchMask(up, graph)])[0] - patching.metrics([Self.patchMask(down, graph)])[0]) / (2 * h)
            #expect(Swift.abs(gradient[e] - numeric) < 2e-3 * Swift.max(1, Swift.abs(numeric)),
                    "\(graph.name(of: graph.edges[e])): \(gradient[e]) vs \(numeric)")
        }
    }

    /// The induction construction of ``PositionalCircuitTests/positionalACDCRecoversTheInductionPositions()``:
    /// pruning by labelled position keeps exactly the five positional edges ACDC keeps, with the penalty alone
    /// and (hard concrete) with a target of five edges.
    @Test(arguments: MaskOptimizationOptions.Sampler.allCases)
    func positionalPruningRecoversTheInductionPositions(sampler: MaskOptimizationOptions.Sampler) throws {
        let clean = [[3, 1, 4, 0, 2, 5, 1], [2, 5, 0, 3, 4, 0]], corrupted = [[0, 2, 5, 3, 0, 4, 3], [1, 2, 4, 5, 1, 2]]
        let answers = [4, 3]
        let pairs = try PromptPairs(clean: clean, corrupted: corrupted, answers: answers, wrongs: [0, 0],
                                    positionLabels: ["prev": [1, 2], "copied": [2, 3], "END": [6, 5]])
        let pick = Tensor(shape: [pairs.count, KnownCircuits.vocabulary],
                          scalars: answers.flatMap { a in (0..<KnownCircuits.vocabulary).map { $0 == a ? 1 : 0 } })
        let patching = try EdgePatching(model: KnownCircuits.induction(), pairs: pairs,
                                        positions: try PositionBuckets.labelled(["prev", "copied", "END"], in: pairs)) { _ in
            Metric(name: "answer_logit") { ($0 * pick).mean() * Float(KnownCircuits.vocabulary) }
        }
        let expected = ["a0.h0@copied->a1.h0<k>@copied", "a1.h0@END->logits@END", "input@END->a1.h0<q>@END",
                        "input@copied->a1.h0<v>@copied", "input@prev->a0.h0<v>@prev"]
        let penalized = try patching.optimizeMasks(MaskOptimizationOptions(sampler: sampler, steps: 300, sparsity: 0.01, seed: 1))
        #expect(penalized.circuit.edges.map(patching.graph.name(of:)).sorted() == expected)
        #expect(penalized.circuit.graph.positions == ["prev", "copied", "END", "other"])
        // Steered to a target, UGS drops edges of the circuit here: the gap term outweighs their metric gradient
        // while far more than five edges are kept, and its window p(1 − p) scales both alike.
        guard sampler == .hardConcrete else { return }
        let targeted = try patching.optimizeMasks(MaskOptimizationOptions(sampler: sampler, steps: 300, sparsity: 0.01, seed: 1, targetEdges: 5))
        #expect(targeted.circuit.edges.map(patching.graph.name(of:)).sorted() == expected)
        #expect(patching.faithfulness(of: targeted.circuit) > 0.999)
    }
}
