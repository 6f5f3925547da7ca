import Foundation
import Testing
import Circuits
import TestModels

/// Edge-level discovery on families with a norm between the heads and the residual add (Gemma-2/3, OLMo-2), on
/// the tiny checkpoint fixtures.
///
/// A head's output there is its share of the normalized attention output, `g ⊙ result_h / s` with `s` the norm's
/// divisor in the run at hand. Checked: the shares add up to the block's write; patching every edge gives the
/// corrupted run and patching none the clean one; edge patching equals a literal patched forward pass (receivers'
/// split inputs changed by hooks, senders' current outputs read in the same pass) and, for all edges out of one
/// node, TransformerLens' activation patching of that node's output; EAP and EAP-IG equal torch autograd through
/// split inputs; path patching of one edge equals edge patching; the incremental ACDC equals literal patched runs
/// (scripts/make_postnorm_references.py).
@Suite struct PostNormTests {
    typealias Sender = ComputationGraph.Sender
    typealias Receiver = ComputationGraph.Receiver

    static func model(_ name: String) throws -> TransformerModel {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models/\(name)")
        return try TransformerModel.load(Checkpoint(directory: directory))
    }

    /// The reference of scripts/make_postnorm_references.py (gemma2, olmo2_mha, olmo2).
    static func reference(_ name: String) throws -> [String: Any] {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("postnorm/\(name).json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// The reference's pair (gemma3 has no reference file: its own reference batch, rows swapped, as the script does).
    static func pairs(_ name: String) throws -> PromptPairs {
        let source = ["gemma2", "olmo2_mha", "olmo2"].contains(name) ? name : "olmo2"
        var json = try reference(source)
        if source != name {
            let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("LanguageModelsTests/Fixtures/models/\(name)/reference.json")
            let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: directory)) as! [String: Any]
            let clean = (fixture["batch"] as! [String: Any])["input_ids"] as! [[Int]]
            json["clean"] = clean
            json["corrupted"] = Array(clean.reversed())
        }
        return try PromptPairs(clean: json["clean"] as! [[Int]], corrupted: json["corrupted"] as! [[Int]],
                               answers: json["answers"] as! [Int], wrongs: json["wrongs"] as! [Int])
    }

    /// Each head's output from the hooks of one pass: its write plus an equal share of the attention's bias write.
    static func headOutputs(_ block: TransformerBlock, results: Tensor, divisor: Tensor) -> [Tensor] {
        var writes = block.headWrites(results: results, postNormDivisor: divisor)
        if let bias = block.attentionBiasWrite(postNormDivisor: divisor) {
            writes = writes + (bias / Float(block.attention.heads)).unsqueezed(2)
        }
        return (0..<writes.shape[2]).map { writes.select(axis: 2, $0) }
    }

    /// Every sender's output on `batch`.
    static func senderOutputs(_ model: TransformerModel, _ batch: TokenBatch) throws -> [Sender: Tensor] {
        let (_, cache) = try model.runWithCache(batch, filter: .all)
        var outputs: [Sender: Tensor] = [.input: try cache[.residPre(0)]]
        for (l, block) in model.blocks.enumerated() {
            let heads = headOutputs(block, results: try cache[.result(l)], divisor: try cache[.ln1PostScale(l)])
            for (h, output) in heads.enumerated() { outputs[.head(layer: l, head: h)] = output }
            outputs[.mlp(layer: l)] = try cache[.mlpOut(l)]
        }
        return outputs
    }

    /// The clean run with `edges` patched, literally, in one forward pass: each receiver's input (each head's split
    /// q/k/v input, the MLP input, the final residual) is its input in this pass plus, per patched edge into it,
    /// the sender's corrupted output minus its output in this pass (a head's from this pass's result and divisor).
    static func literalPatchedLogits(_ model: TransformerModel, _ pairs: PromptPairs, edges: [ComputationGraph.Edge],
                                     sources: [Sender: Tensor]) -> Tensor {
        var current: [Sender: Tensor] = [:]
        func patched(_ receiver: Receiver, _ x: Tensor) -> Tensor {
            edges.filter { $0.receiver == receiver }.reduce(x) { $0 + (sources[$1.sender]! - current[$1.sender]!) }
        }
        let hooks = ForwardHooks()
        hooks.add(.residPre(0)) { x, _ in current[.input] = x; return x }
        LiteralEdgePatching.addReceiverPatches(to: hooks, layers: model.layerCount, patched)
        for (l, block) in model.blocks.enumerated() {
            var results = Tensor.zeros([0])
            hooks.add(.result(l)) { x, _ in results = x; return x }
            hooks.add(.ln1PostScale(l)) { divisor, _ in
                for (h, output) in headOutputs(block, results: results, divisor: divisor).enumerated() {
                    current[.head(layer: l, head: h)] = output
                }
                return divisor
            }
            hooks.add(.mlpOut(l)) { x, _ in current[.mlp(layer: l)] = x; return x }
        }
        return model.forward(pairs.clean, hooks: hooks, logitPositions: .last).reshaped([pairs.count, -1])
    }

    @Test(arguments: ["gemma2", "gemma3", "olmo2"]) func headOutputsSumToTheBlockWrite(name: String) throws {
        let model = try Self.model(name)
        let batch = try Self.pairs(name).clean
        let (_, cache) = try model.runWithCache(batch, filter: .all)
        for (l, block) in model.blocks.enumerated() {
            #expect(block.postAttentionNorm != nil)
            let sum = Self.headOutputs(block, results: try cache[.result(l)], divisor: try cache[.ln1PostScale(l)])
                .reduce(Tensor.zeros(try cache[.attnOut(l)].shape), +)
            #expect(sum.maxAbsDifference(try cache[.attnOut(l)]) < 1e-5, "\(name) layer \(l)")
            #expect(try cache[.residMid(l)].maxAbsDifference(try cache[.residPre(l)] + sum) < 1e-5)
        }
    }

    @Test(arguments: ["gemma2", "gemma3", "olmo2"]) func edgePatchingEqualsLiteralPatchedRuns(name: String) throws {
        let model = try Self.model(name)
        let pairs = try Self.pairs(name)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        let graph = patching.graph
        let clean = model.forward(pairs.clean, logitPositions: .last).reshaped([pairs.count, -1])
        let corrupted = model.forward(pairs.corrupted, logitPositions: .last).reshaped([pairs.count, -1])
        #expect(patching.patchedLogits([.all(graph)]).maxAbsDifference(corrupted) < 1e-4)
        #expect(patching.patchedLogits([EdgeMask(graph: graph)]).maxAbsDifference(clean) < 1e-4)
        let sources = try Self.senderOutputs(model, pairs.corrupted)
        // Edges into some heads of a layer only (their layer's other heads change through the shared divisor),
        // then random edge sets.
        var sets = [graph.edges.filter { $0.receiver == .query(layer: 1, head: 2) || $0.receiver == .value(layer: 1, group: 0) }]
        var generator = SeededGenerator(seed: 5)
        for fraction in [0.05, 0.3, 0.7] {
            sets.append(graph.edges.filter { _ in Double.random(in: 0..<1, using: &generator) < fraction })
        }
        let actual = patching.patchedLogits(sets.map { EdgeMask(graph: graph, edges: $0) })
        for (i, edges) in sets.enumerated() {
            let expected = Self.literalPatchedLogits(model, pairs, edges: edges, sources: sources)
            let rows = actual.slice(axis: 0, (i * pairs.count)..<((i + 1) * pairs.count))
            #expect(rows.maxAbsDifference(expected) < 1e-4, "\(name): \(edges.count) edges")
        }
    }

    @Test(arguments: ["gemma2", "olmo2_mha"]) func patchingEveryEdgeOutOfANodeEqualsTransformerLensNodePatching(name: String) throws {
        let reference = try Self.reference(name)
        let patching = try EdgePatching(model: try Self.model(name), pairs: try Self.pairs(name), metric: .logitDiff)
        let graph = patching.graph
        let expected = reference["node_patching"] as! [[[Double]]]
        #expect(expected.count == graph.senders.count)
        let masks = graph.senders.map { sender in EdgeMask(graph: graph, edges: graph.edges.filter { $0.sender == sender }) }
        let logits = patching.patchedLogits(masks)
        for (s, rows) in expected.enumerated() {
            let wanted = Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0.map(Float.init) })
            let got = logits.slice(axis: 0, (s * rows.count)..<((s + 1) * rows.count))
            #expect(got.maxAbsDifference(wanted) < 1e-4, "\(name): \(graph.senders[s].name)")
        }
    }

    @Test(arguments: ["gemma2", "olmo2_mha", "olmo2"]) func edgeAttributionEqualsTorchAutograd(name: String) throws {
        let patching = try EdgePatching(model: try Self.model(name), pairs: try Self.pairs(name), metric: .logitDiff)
        Self.expectEdgeScores(of: patching, match: try Self.reference(name), name)
    }

    /// Expects EAP and EAP-IG (5 steps) to equal a reference's `eap` and `eap_ig` scores (torch autograd through an
    /// explicit split-input forward pass) within 1e-4 of the largest score, and returns that largest score.
    @discardableResult
    static func expectEdgeScores(of patching: EdgePatching, match reference: [String: Any], _ name: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) -> Float {
        var largest: Float = 0
        for (key, scores) in [("eap", patching.edgeAttribution()), ("eap_ig", patching.edgeAttribution(integratedGradientSteps: 5))] {
            let expected = (reference[key] as! [Double]).map(Float.init), actual = scores.values
            #expect(actual.count == expected.count, sourceLocation: sourceLocation)
            let keyLargest = expected.map { Swift.abs($0) }.max() ?? 0
            let worst = zip(actual, expected).map { Swift.abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4 * Swift.max(1, keyLargest), "\(name) \(key): max |Δ| = \(worst), largest score \(keyLargest)",
                    sourceLocation: sourceLocation)
            largest = Swift.max(largest, keyLargest)
        }
        return largest
    }

    @Test(arguments: ["gemma2", "olmo2"]) func pathPatchingOneEdgeEqualsEdgePatching(name: String) throws {
        let patching = try EdgePatching(model: try Self.model(name), pairs: try Self.pairs(name), metric: .logitDiff)
        let byName = patching.graph.edgesByName()
        for (sender, receiver) in [("a0.h1", "a1.h3<q>"), ("a0.h2", "a1.kv0<v>"), ("m0", "a1.kv1<k>"), ("a1.h0", "logits"),
                                   ("input", "m1"), ("a0.h3", "m0")] {
            let path = try patching.pathPatching(senders: [sender], receivers: [receiver]).value
            let edge = patching.metrics([EdgeMask(graph: patching.graph, edges: [byName["\(sender)->\(receiver)"]!])])[0]
            #expect(Swift.abs(path - edge) < 1e-4, "\(name): \(sender) -> \(receiver)")
        }
    }

    @Test(arguments: ["gemma2", "olmo2"]) func incrementalACDCEqualsLiteralPatchedRuns(name: String) throws {
        try Self.expectIncrementalACDCEqualsLiteralPatchedRuns(try Self.model(name), try Self.pairs(name), name)
    }

    /// A GPT-2-like model given LayerNorm post-norms with biases, and attention output biases: the heads' shares
    /// of the output bias and of the norm's bias (each `1 / heads` of the bias write) keep the sums exact.
    @Test func biasesBehindLayerNormPostNormsAreSharedByTheHeads() throws {
        let model = TestModels.make(llama: false, layers: 3)
        var generator = SeededGenerator(seed: 3)
        func norm() -> Normalization {
            Normalization(kind: .layerNorm, weight: 1 + TestModels.random([model.dModel], scale: 0.2, &generator),
                          bias: TestModels.random([model.dModel], scale: 0.1, &generator), epsilon: 1e-5)
        }
        for l in model.blocks.indices {
            model.blocks[l].postAttentionNorm = norm()
            model.blocks[l].postFeedForwardNorm = norm()
        }
        let pairs = try PromptPairs(clean: [[3, 7, 1, 9, 4, 4], [8, 2, 2, 15, 6, 11]], corrupted: [[3, 7, 5, 9, 4, 4], [8, 13, 2, 15, 6, 11]],
                                    answers: [5, 9], wrongs: [1, 2])
        let (_, cache) = try model.runWithCache(pairs.clean, filter: .all)
        let sum = Self.headOutputs(model.blocks[1], results: try cache[.result(1)], divisor: try cache[.ln1PostScale(1)])
            .reduce(Tensor.zeros(try cache[.attnOut(1)].shape), +)
        #expect(sum.maxAbsDifference(try cache[.attnOut(1)]) < 1e-5)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        let corrupted = model.forward(pairs.corrupted, logitPositions: .last).reshaped([pairs.count, -1])
        #expect(patching.patchedLogits([.all(patching.graph)]).maxAbsDifference(corrupted) < 1e-4)
        let sources = try Self.senderOutputs(model, pairs.corrupted)
        var random = SeededGenerator(seed: 8)
        for fraction in [0.1, 0.5] {
            let edges = patching.graph.edges.filter { _ in Double.random(in: 0..<1, using: &random) < fraction }
            let expected = Self.literalPatchedLogits(model, pairs, edges: edges, sources: sources)
            #expect(patching.patchedLogits([EdgeMask(graph: patching.graph, edges: edges)]).maxAbsDifference(expected) < 1e-4)
        }
        try Self.expectIncrementalACDCEqualsLiteralPatchedRuns(model, pairs, "GPT-2-like")
    }

    /// Runs ACDC in stretches of 25 tests; after each, its current metric must equal a literal patched run of the
    /// edges it removed.
    static func expectIncrementalACDCEqualsLiteralPatchedRuns(_ model: TransformerModel, _ pairs: PromptPairs, _ name: String) throws {
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        let sources = try Self.senderOutputs(model, pairs.corrupted)
        let graph = patching.graph
        var state: ACDCState?
        var stops = 0
        repeat {
            let (_, next) = try patching.acdcEdges(ACDCOptions(threshold: 0.002), resumingFrom: state, stopAfter: 25)
            state = next
            let removed = EdgeMask(graph: graph, values: next.removed)
            let edges = graph.edges.filter { removed[graph.index(of: $0.sender), graph.index(of: $0.receiver)] != 0 }
            let literal = patching.metric(Self.literalPatchedLogits(model, pairs, edges: edges, sources: sources)).item
            #expect(Swift.abs(next.current - literal) < 1e-4, "\(name): after \(next.tested) tests, \(edges.count) edges removed")
            stops += 1
        } while state!.receiver >= 0
        #expect(stops > 2)
    }
}
