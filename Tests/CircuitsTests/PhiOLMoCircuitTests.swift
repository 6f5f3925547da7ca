import Foundation
import Testing
import Circuits
import TestModels

/// Edge-level discovery on Phi (parallel block off one LayerNorm, per-head q/k LayerNorms, unembedding bias),
/// OLMo (gain-free LayerNorms, q/k/v clipping) and Ministral 3 (queries scaled by position past the original
/// context, which the 12-token prompts cross) checkpoints, with no change to the circuit code: patching every edge
/// gives the corrupted run and none the clean one, edge patching equals literal patched forward passes (receivers'
/// split inputs changed by hooks, ``ParallelBlockTests/literalPatchedLogits(_:_:_:edges:)``), EAP equals the
/// gradients of the tape through split inputs, and the incremental ACDC's metric equals literal patched runs.
@Suite struct PhiOLMoCircuitTests {
    typealias Sender = ComputationGraph.Sender
    typealias Receiver = ComputationGraph.Receiver

    static let names = ["phi_qk", "phi_tied_bf16", "olmo_clip", "olmo_gqa_bf16", "ministral3"]

    /// The fixture's reference batch as clean prompts, its rows swapped as corrupted ones.
    static func pairs(_ name: String) throws -> PromptPairs {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models/\(name)/reference.json")
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let clean = (fixture["batch"] as! [String: Any])["input_ids"] as! [[Int]]
        return try PromptPairs(clean: clean, corrupted: Array(clean.reversed()), answers: [5, 9], wrongs: [1, 2])
    }

    @Test(arguments: names) func edgePatchingEqualsLiteralPatchedRuns(name: String) throws {
        let model = try PostNormTests.model(name)
        let pairs = try Self.pairs(name)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        let graph = patching.graph
        let clean = model.forward(pairs.clean, logitPositions: .last).reshaped([pairs.count, -1])
        let corrupted = model.forward(pairs.corrupted, logitPositions: .last).reshaped([pairs.count, -1])
        #expect(patching.patchedLogits([.all(graph)]).maxAbsDifference(corrupted) < 1e-4)
        #expect(patching.patchedLogits([EdgeMask(graph: graph)]).maxAbsDifference(clean) < 1e-4)
        var sets = [graph.edges.filter { $0.receiver == .query(layer: 1, head: 2) || $0.receiver == .mlp(layer: 1) }]
        var generator = SeededGenerator(seed: 11)
        for fraction in [0.05, 0.3, 0.7] {
            sets.append(graph.edges.filter { _ in Double.random(in: 0..<1, using: &generator) < fraction })
        }
        let actual = patching.patchedLogits(sets.map { EdgeMask(graph: graph, edges: $0) })
        for (i, edges) in sets.enumerated() {
            let expected = try ParallelBlockTests.literalPatchedLogits(model, pairs, graph, edges: edges)
            let rows = actual.slice(axis: 0, (i * pairs.count)..<((i + 1) * pairs.count))
            #expect(rows.maxAbsDifference(expected) < 1e-4, "\(name): \(edges.count) edges")
        }
    }

    /// EAP's score of each edge is (corrupted − clean output of the sender) · (gradient of the metric at the
    /// receiver's own input), the gradients here taken by the tape through split q/k/v inputs.
    @Test(arguments: names) func edgeAttributionEqualsGradientsThroughSplitInputs(name: String) throws {
        let model = try PostNormTests.model(name)
        let pairs = try Self.pairs(name)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let scores = patching.edgeAttribution()
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        let (_, clean) = try model.runWithCache(pairs.clean, filter: .all)
        let sources = try ParallelBlockTests.corruptedOutputs(model, pairs, patching.graph)
        func cleanOutput(_ sender: Sender) throws -> Tensor {
            switch sender {
            case .input: return try clean[.residPre(0)]
            case let .head(l, h): return try clean[.result(l)].select(axis: 2, h)
            case let .mlp(l): return try clean[.mlpOut(l)]
            }
        }
        let last = model.layerCount - 1
        let points = (0..<model.layerCount).flatMap { [HookPoint.qInput($0), .kInput($0), .vInput($0), .mlpIn($0)] } + [.residPost(last)]
        let gradients: [String: Tensor] = withGradients { tape in
            let hooks = ForwardHooks()
            let watched = WatchedActivations(points.map(\.name), hooks: hooks, tape: tape)
            return watched.gradients(of: metric(model.forward(pairs.clean, hooks: hooks, logitPositions: .last)), on: tape)
        }
        func gradient(_ receiver: Receiver) -> Tensor {
            switch receiver {
            case let .query(l, h): return gradients[HookPoint.qInput(l).name]!.select(axis: 2, h)
            case let .key(l, g): return gradients[HookPoint.kInput(l).name]!.select(axis: 2, g)
            case let .value(l, g): return gradients[HookPoint.vInput(l).name]!.select(axis: 2, g)
            case let .mlp(l): return gradients[HookPoint.mlpIn(l).name]!
            case .logits: return gradients[HookPoint.residPost(last).name]!
            }
        }
        var worst: Float = 0
        for edge in patching.graph.edges {
            let expected = ((sources[edge.sender]! - (try cleanOutput(edge.sender))) * gradient(edge.receiver)).sum().item
            worst = Swift.max(worst, Swift.abs(scores[edge] - expected) / Swift.max(1, Swift.abs(expected)))
        }
        #expect(worst < 1e-3, "\(name)")
    }

    @Test(arguments: ["phi_tied_bf16", "olmo_gqa_bf16", "ministral3"]) func incrementalACDCEqualsLiteralPatchedRuns(name: String) throws {
        let model = try PostNormTests.model(name)
        let pairs = try Self.pairs(name)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        var state: ACDCState?
        var stops = 0
        repeat {
            let (_, next) = try patching.acdcEdges(ACDCOptions(threshold: 0.002), resumingFrom: state, stopAfter: 40)
            state = next
            let removed = EdgeMask(graph: patching.graph, values: next.removed)
            let edges = patching.graph.edges.filter { removed[patching.graph.index(of: $0.sender), patching.graph.index(of: $0.receiver)] != 0 }
            let literal = patching.metric(try ParallelBlockTests.literalPatchedLogits(model, pairs, patching.graph, edges: edges)).item
            #expect(Swift.abs(next.current - literal) < 1e-4, "\(name): after \(next.tested) tests, \(edges.count) edges removed")
            stops += 1
        } while state!.receiver >= 0
        #expect(stops > 2)
    }
}
