import Foundation
import TestModels
import Testing
import Circuits

/// With compact sources (a large model) a patched pass holds its head senders' deltas in z space and mixes them
/// into each receiver's input through W_O (``HeadZDeltas``). The logits must equal the full-width path's (the
/// stored sources, each head's output difference held `dModel` wide) within rounding, and a literal edge-patched
/// forward pass, on grouped-query attention with prompts of mixed lengths, for one mask per pass and many.
extension CompactSourcesTests {
    static func mixedLengthPairs() throws -> PromptPairs {
        try PromptPairs(clean: [[3, 7, 1, 9, 4, 4, 12, 5], [8, 2, 2, 15, 6, 11], [5, 9, 14, 3, 3, 7, 10]],
                        corrupted: [[3, 7, 1, 9, 4, 4, 13, 5], [8, 2, 2, 15, 6, 1], [5, 9, 14, 3, 2, 7, 10]],
                        answers: [5, 9, 1], wrongs: [1, 2, 4])
    }

    @Test(arguments: [true, false]) func zSpaceHeadDeltasEqualTheFullWidthPath(llama: Bool) throws {
        let model = TestModels.make(llama: llama, layers: 3, heads: 4, kvHeads: llama ? 2 : nil)
        let pairs = try Self.mixedLengthPairs()
        let full = try Self.withSourceLimit(.max) { try EdgePatching(model: model, pairs: pairs, metric: .kl) }
        let zSpace = try Self.withSourceLimit(0) { try EdgePatching(model: model, pairs: pairs, metric: .kl) }
        let graph = full.graph
        var generator = SeededGenerator(seed: 5)
        var masks: [EdgeMask] = [.all(graph)]
        var literalChecks: [(mask: Int, edges: [ComputationGraph.Edge])] = []
        for fraction in [0.02, 0.2, 0.6, 0.98] {
            let edges = graph.edges.filter { _ in Double.random(in: 0..<1, using: &generator) < fraction }
            if fraction < 0.9 { literalChecks.append((masks.count, edges)) }
            masks.append(EdgeMask(graph: graph, edges: edges))
        }
        // A faithfulness pass: every edge patched but a small circuit's.
        let circuit = graph.edges.filter { _ in Double.random(in: 0..<1, using: &generator) < 0.05 }
        masks.append(EdgeMask(graph: graph, edges: circuit).complement(in: graph))
        let expected = full.patchedLogits(masks)
        let scale = expected.abs().max(axis: 1).max(axis: 0).item
        #expect(zSpace.patchedLogits(masks).maxAbsDifference(expected) < 1e-5 * scale, "batched masks")
        func rows(_ i: Int) -> Tensor { expected.slice(axis: 0, (i * pairs.count)..<((i + 1) * pairs.count)) }
        for (i, mask) in masks.enumerated() {
            #expect(zSpace.patchedLogits([mask]).maxAbsDifference(rows(i)) < 1e-5 * scale, "mask \(i) alone")
        }
        for (i, edges) in literalChecks {
            let literal = try ParallelBlockTests.literalPatchedLogits(model, pairs, graph, edges: edges)
            #expect(zSpace.patchedLogits([masks[i]]).maxAbsDifference(literal) < 1e-4 * scale, "\(edges.count) edges: literal pass")
        }
    }

    /// A patched pass keeps its heads' output differences for the later receivers up to a byte limit
    /// (``EdgePatching/keptHeadDifferenceByteLimit``): keeping none, some or all gives the same logits bit for bit,
    /// for several masks per pass (each variant reads its own differences).
    @Test(arguments: [true, false]) func keptHeadDifferencesGiveTheRecomputedLogits(llama: Bool) throws {
        let model = TestModels.make(llama: llama, layers: 3, heads: 4, kvHeads: llama ? 2 : nil)
        let pairs = try Self.mixedLengthPairs()
        let patching = try Self.withSourceLimit(0) { try EdgePatching(model: model, pairs: pairs, metric: .kl) }
        let graph = patching.graph
        var generator = SeededGenerator(seed: 11)
        let masks = [0.05, 0.3, 0.7].map { fraction in
            EdgeMask(graph: graph, edges: graph.edges.filter { _ in Double.random(in: 0..<1, using: &generator) < fraction })
                .complement(in: graph)
        }
        func logits(keeping limit: Int) -> Tensor {
            let saved = EdgePatching.keptHeadDifferenceByteLimit
            EdgePatching.keptHeadDifferenceByteLimit = limit
            defer { EdgePatching.keptHeadDifferenceByteLimit = saved }
            return patching.patchedLogits(masks)
        }
        let recomputed = logits(keeping: 0)
        // One head's difference in one variant: [batch·pos, dModel] floats.
        let oneDifference = pairs.count * pairs.length * model.dModel * MemoryLayout<Float>.size
        for limit in [3 * oneDifference, Int.max] {
            #expect(logits(keeping: limit).scalars == recomputed.scalars, "keeping \(limit) bytes")
        }
    }
}
