import TestModels
import Testing
import Circuits

@Suite struct EdgePatchingTests {
    static func pairs() throws -> PromptPairs {
        try PromptPairs(clean: [[3, 7, 1, 9, 4, 4], [8, 2, 2, 15, 6, 11]], corrupted: [[3, 7, 5, 9, 4, 4], [8, 13, 2, 15, 6, 11]],
                        answers: [5, 9], wrongs: [1, 2])
    }

    @Test func graphHasThePublishedEdgeCount() {
        #expect(ComputationGraph(layerCount: 12, headCount: 12).edges.count == 32_491)
        let graph = ComputationGraph(layerCount: 2, headCount: 4, keyValueHeadCount: 2)
        #expect(graph.name(of: graph.edges[0]) == "input->a0.h0<q>")
        #expect(graph.edgesByName()["a0.h3->a1.kv1<v>"] != nil)
        #expect(graph.edgesByName()["m1->logits"] != nil)
        #expect(graph.edgesByName()["a1.h0->m1"] != nil)
        #expect(graph.edgesByName()["m1->a1.h0<q>"] == nil)
    }

    @Test(arguments: [false, true]) func patchingEverythingOrNothingGivesTheTwoRuns(llama: Bool) throws {
        let model = TestModels.make(llama: llama, kvHeads: llama ? 2 : nil)
        let pairs = try Self.pairs()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let corruptedLogits = model.forward(pairs.corrupted, logitPositions: .last).reshaped([2, -1])
        let all = patching.patchedLogits([.all(patching.graph)])
        #expect(all.maxAbsDifference(corruptedLogits) < 1e-4)
        let none = patching.patchedLogits([EdgeMask(graph: patching.graph)])
        #expect(none.maxAbsDifference(patching.cleanLogits) < 1e-4)
    }

    @Test(arguments: [false, true]) func batchedMasksEqualSeparateRuns(llama: Bool) throws {
        let model = TestModels.make(llama: llama, kvHeads: llama ? 2 : nil)
        var patching = try EdgePatching(model: model, pairs: try Self.pairs(), metric: .kl)
        let graph = patching.graph
        var generator = SeededGenerator(seed: 3)
        let masks = (0..<5).map { _ in
            EdgeMask(graph: graph, edges: graph.edges.filter { _ in Double.random(in: 0..<1, using: &generator) < 0.3 })
        }
        let together = patching.metrics(masks)
        patching.maxRowsPerPass = 2
        let separately = masks.map { patching.metrics([$0])[0] }
        for (a, b) in zip(together, separately) { #expect(Swift.abs(a - b) < 1e-4) }
    }

    @Test(arguments: [false, true]) func edgeIntoLogitsAddsTheSendersDifference(llama: Bool) throws {
        // Patching s -> logits shifts the final residual by exactly (s under x') - (s under x).
        let model = TestModels.make(llama: llama)
        let pairs = try Self.pairs()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let edge = try #require(patching.graph.edgesByName()["a0.h2->logits"])
        let (_, clean) = try model.runWithCache(pairs.clean, filter: .all)
        let (_, corrupted) = try model.runWithCache(pairs.corrupted, filter: .all)
        let shift = try corrupted.headResults(layer: 0).select(axis: 2, 2) - clean.headResults(layer: 0).select(axis: 2, 2)
        let final = try clean.activation("resid_post", layer: -1) + shift
        let expected = model.unembed(final.gather(positions: pairs.readPositions), hooks: nil).reshaped([2, -1])
        #expect(patching.patchedLogits([EdgeMask(graph: patching.graph, edges: [edge])]).maxAbsDifference(expected) < 1e-4)
    }

    @Test(arguments: [false, true]) func pathPatchingOfADirectEdgeEqualsEdgePatching(llama: Bool) throws {
        let model = TestModels.make(llama: llama, layers: 3, kvHeads: llama ? 2 : nil)
        let patching = try EdgePatching(model: model, pairs: try Self.pairs(), metric: .logitDiff)
        let graph = patching.graph
        let byName = graph.edgesByName()
        let cases = llama
            ? [("a0.h1", "a2.h3<q>"), ("input", "a1.kv1<k>"), ("m0", "a2.kv0<v>"), ("a1.h2", "m1"), ("a2.h0", "logits")]
            : [("a0.h1", "a2.h3<q>"), ("input", "a1.h1<k>"), ("m0", "a2.h0<v>"), ("a1.h2", "m1"), ("m2", "logits")]
        for (sender, receiver) in cases {
            let path = try patching.pathPatching(senders: [sender], receivers: [receiver])
            let edge = try #require(byName["\(sender)->\(receiver)"])
            let expected = patching.metrics([EdgeMask(graph: graph, edges: [edge])])[0]
            #expect(Swift.abs(path.value - expected) < 1e-4, "\(sender)->\(receiver)")
        }
        // Whole layers: all heads of layer 0 into all inputs of layer 2's attention.
        let layerPath = try patching.pathPatching(senders: ["layers.0.self_attn"], receivers: ["blocks.2.attn"])
        let edges = graph.edges.filter { e in
            if case .head(0, _) = e.sender, e.receiver.layer(layerCount: 3) == 2, e.receiver != .mlp(layer: 2) { return true }
            return false
        }
        #expect(Swift.abs(layerPath.value - patching.metrics([EdgeMask(graph: graph, edges: edges)])[0]) < 1e-4)
    }

    /// ACDC follows its graph incrementally (recomputing only the nodes a test reaches); at every stop its
    /// current metric equals a full patched forward pass with its removed edges, on GQA and MLP models.
    @Test(arguments: [(false, "corrupted"), (true, "corrupted"), (false, "zero"), (true, "mean")])
    func acdcIncrementalValuesEqualFullPatchedRuns(llama: Bool, ablation: String) throws {
        let model = TestModels.make(llama: llama, layers: 3, kvHeads: llama ? 2 : nil)
        let pairs = try Self.pairs()
        let source: EdgePatching.Source = switch ablation {
        case "zero": .zero
        case "mean": .meanPerPosition(pairs.corrupted)
        default: .corrupted
        }
        let patching = try EdgePatching(model: model, pairs: pairs, source: source, metric: .kl)
        let options = ACDCOptions(threshold: 0.002)
        var state: ACDCState?
        var stops = 0
        repeat {
            let (_, next) = try patching.acdcEdges(options, resumingFrom: state, stopAfter: 40)
            state = next
            let removed = EdgeMask(graph: patching.graph, values: next.removed)
            let full = patching.metrics([removed])[0]
            #expect(Swift.abs(next.current - full) < 1e-4, "after \(next.tested) tests, \(removed.count) edges removed")
            stops += 1
        } while state!.receiver >= 0
        let removed = EdgeMask(graph: patching.graph, values: state!.removed)
        #expect(stops > 2 && removed.count > 0 && removed.count < patching.graph.edges.count)
    }
}
