import Foundation
import TestModels
import Testing
import Circuits

/// ACDC recomputes a node only at the positions where its inputs changed (a late corruption changes few), and
/// nothing after a row's read position. Every tested edge's effect must still be the one full patched forward
/// passes give (`EdgePatching.metrics`, which recomputes every position of every layer from the first patched
/// one), on prompts of mixed lengths whose corruption sits at different positions.
@Suite struct PositionSparseACDCTests {
    /// Replays a run's decisions in ACDC's order and measures each tested edge's effect with full patched
    /// runs: (metric with the edge also removed) − (metric before), for the KL metric. Returns the largest
    /// difference to the run's recorded effects, and to its final metric.
    static func worstDifferences(_ patching: EdgePatching, _ result: ACDCResult) -> (effect: Float, final: Float) {
        let graph = patching.graph, offsets = graph.edgeOffsets
        var removed: Set<ComputationGraph.Edge> = [], masks: [EdgeMask] = [], tested: [ComputationGraph.Edge] = []
        for r in graph.receivers.indices.reversed() {
            for slot in (0..<graph.upstreamCount(of: r)).reversed() {
                let edge = graph.edges[offsets[r] + slot]
                if result.effects[edge] != nil {
                    masks.append(EdgeMask(graph: graph, edges: removed.union([edge])))
                    masks.append(EdgeMask(graph: graph, edges: removed))
                    tested.append(edge)
                }
                if !result.kept.contains(edge) { removed.insert(edge) }
            }
        }
        let values = patching.metrics(masks + [EdgeMask(graph: graph, edges: removed)])
        let effect = tested.indices.map { i in Swift.abs(values[2 * i] - values[2 * i + 1] - result.effects[tested[i]]!) }.max() ?? 0
        return (effect, Swift.abs(values.last! - result.finalValue))
    }

    /// One-at-a-time and batched runs at each τ: the same values exactly, each equal to full patched runs.
    static func expectFullRecomputeValues(_ patching: EdgePatching, thresholds: [Float], label: String) throws {
        var keptCounts: [Int] = []
        for tau in thresholds {
            let sequential = try patching.acdcEdges(ACDCOptions(threshold: tau, maxBatchSize: 1)).result
            let batched = try patching.acdcEdges(ACDCOptions(threshold: tau, maxBatchSize: 16)).result
            #expect(batched.kept == sequential.kept && batched.effects == sequential.effects, "\(label), τ \(tau): batched differs")
            let worst = Self.worstDifferences(patching, sequential)
            #expect(worst.effect < 1e-5 && worst.final < 1e-5, "\(label), τ \(tau): effects differ by \(worst.effect), final by \(worst.final)")
            keptCounts.append(sequential.kept.count)
        }
        #expect(keptCounts.contains { $0 > 2 && $0 < patching.graph.edges.count / 2 }, "\(label): kept \(keptCounts)")
    }

    /// A Llama-style model with grouped-query attention; three prompts of 8, 6 and 7 tokens (right-padded), corrupted
    /// at positions 6, 5 (the read position) and 4.
    @Test func groupedQueryModelWithMixedLengths() throws {
        let pairs = try PromptPairs(clean: [[3, 7, 1, 9, 4, 4, 12, 5], [8, 2, 2, 15, 6, 11], [5, 9, 14, 3, 3, 7, 10]],
                                    corrupted: [[3, 7, 1, 9, 4, 4, 13, 5], [8, 2, 2, 15, 6, 1], [5, 9, 14, 3, 2, 7, 10]],
                                    answers: [5, 9, 1], wrongs: [1, 2, 4])
        let patching = try EdgePatching(model: TestModels.make(llama: true, layers: 3, kvHeads: 2), pairs: pairs, metric: .kl)
        try Self.expectFullRecomputeValues(patching, thresholds: [0.0005, 0.005], label: "GQA")
    }

    /// Gemma-2 (heads coupled through the post-attention norm, a sliding window of 4 in layer 0, soft-capping);
    /// prompts of 12 and 9 tokens corrupted at positions 2 and 6: the window stops a key change from reaching
    /// queries 4 or more positions later.
    @Test func slidingWindowAndCoupledHeads() throws {
        let (model, pairs) = try TestModels.gemma2SlidingWindowCase()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        try Self.expectFullRecomputeValues(patching, thresholds: [0.001, 0.01], label: "Gemma-2")
    }
}
