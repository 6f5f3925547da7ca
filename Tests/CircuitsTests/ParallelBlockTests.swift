import Foundation
import TestModels
import Testing
import TestScratch
import Circuits

/// A block variant described only by its block (GPT-J-style parallel attention and MLP reading the same
/// normalized input): edge patching, EAP and the incremental ACDC must agree with literal patched forward
/// passes and with autograd through split inputs, with no change to the circuit code.
@Suite struct ParallelBlockTests {
    static func pairs() throws -> PromptPairs {
        try PromptPairs(clean: [[3, 7, 1, 9, 4, 4], [8, 2, 2, 15, 6, 11]], corrupted: [[3, 7, 5, 9, 4, 4], [8, 13, 2, 15, 6, 11]],
                        answers: [5, 9], wrongs: [1, 2])
    }

    static func model(llama: Bool) -> TransformerModel {
        TestModels.make(llama: llama, layers: 3, kvHeads: llama ? 2 : nil, parallel: true)
    }

    typealias Sender = ComputationGraph.Sender
    typealias Receiver = ComputationGraph.Receiver

    /// Every sender's output on the corrupted prompts.
    static func corruptedOutputs(_ model: TransformerModel, _ pairs: PromptPairs, _ graph: ComputationGraph) throws -> [Sender: Tensor] {
        let (_, cache) = try model.runWithCache(pairs.corrupted, filter: .all)
        var outputs: [Sender: Tensor] = [:]
        for sender in graph.senders {
            switch sender {
            case .input: outputs[sender] = try cache[.residPre(0)]
            case let .head(l, h): outputs[sender] = try cache[.result(l)].select(axis: 2, h)
            case let .mlp(l): outputs[sender] = try cache[.mlpOut(l)]
            }
        }
        return outputs
    }

    /// The clean run with `edges` patched, computed literally in one forward pass: every receiver's input (each
    /// head's own split q/k/v input, the MLP input, the final residual) is its input in this run plus, for each
    /// patched edge into it, the sender's corrupted output minus its output in this run.
    static func literalPatchedLogits(_ model: TransformerModel, _ pairs: PromptPairs, _ graph: ComputationGraph,
                                     edges: [ComputationGraph.Edge]) throws -> Tensor {
        let sources = try corruptedOutputs(model, pairs, graph)
        var current: [Sender: Tensor] = [:]
        func patched(_ receiver: Receiver, _ x: Tensor) -> Tensor {
            edges.filter { $0.receiver == receiver }.reduce(x) { $0 + (sources[$1.sender]! - current[$1.sender]!) }
        }
        let hooks = ForwardHooks()
        hooks.add(.residPre(0)) { x, _ in current[.input] = x; return x }
        LiteralEdgePatching.addReceiverPatches(to: hooks, layers: model.layerCount, patched)
        for l in 0..<model.layerCount {
            hooks.add(.result(l)) { x, _ in
                for h in 0..<x.shape[2] { current[.head(layer: l, head: h)] = x.select(axis: 2, h) }
                return x
            }
            hooks.add(.mlpOut(l)) { x, _ in current[.mlp(layer: l)] = x; return x }
        }
        return model.forward(pairs.clean, hooks: hooks, logitPositions: .last).reshaped([pairs.count, -1])
    }

    @Test(arguments: [false, true]) func parallelBlockSumsBothWritesIntoItsInput(llama: Bool) throws {
        let model = Self.model(llama: llama)
        let (_, cache) = try model.runWithCache(try Self.pairs().clean, filter: .all)
        for l in 0..<model.layerCount {
            let sum = try cache[.residPre(l)] + cache[.attnOut(l)] + cache[.mlpOut(l)]
            #expect(sum.maxAbsDifference(try cache[.residPost(l)]) < 1e-5)
            #expect(try cache[.mlpIn(l)].maxAbsDifference(try cache[.residPre(l)]) == 0)
        }
        #expect(!model.has(.residMid(0)) && model.has(.mlpIn(0)))
        #expect(throws: HookNameError.self) { try model.hookNameResolver.resolve("blocks.0.hook_resid_mid") }
    }

    @Test func graphAsksTheBlocksWhatTheMLPReads() {
        let graph = ComputationGraph(model: Self.model(llama: false))
        let byName = graph.edgesByName()
        #expect(byName["a0.h1->m0"] == nil && byName["a0.h1->m1"] != nil && byName["m0->m1"] != nil)
        #expect(byName["input->m0"] != nil && byName["m2->logits"] != nil)
        // Per layer l: (heads + 2 kv heads) and the MLP read the 1 + 5l senders before the layer.
        let expected = (0..<3).reduce(1 + 3 * 5) { total, l in total + (4 + 2 * 4 + 1) * (1 + 5 * l) }
        #expect(graph.edges.count == expected)
    }

    @Test func circuitFilesKeepWhatTheMLPReads() throws {
        let patching = try EdgePatching(model: Self.model(llama: false), pairs: try Self.pairs(), metric: .logitDiff)
        let circuit = Circuit.top(patching.edgeAttribution(), count: 20)
        try withTemporaryDirectory { scratch in
            let url = scratch.appendingPathComponent("parallel-circuit.json")
            try circuit.jsonData().write(to: url)
            let read = try Circuit.read(from: url)
            #expect(read.graph.edges == patching.graph.edges && read.edges == circuit.edges)
        }
    }

    @Test(arguments: [false, true]) func edgePatchingEqualsLiteralPatchedRuns(llama: Bool) throws {
        let model = Self.model(llama: llama)
        let pairs = try Self.pairs()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        let graph = patching.graph
        let corrupted = model.forward(pairs.corrupted, logitPositions: .last).reshaped([2, -1])
        #expect(patching.patchedLogits([.all(graph)]).maxAbsDifference(corrupted) < 1e-4)
        var generator = SeededGenerator(seed: 11)
        for fraction in [0.02, 0.2, 0.6] {
            let edges = graph.edges.filter { _ in Double.random(in: 0..<1, using: &generator) < fraction }
            let expected = try Self.literalPatchedLogits(model, pairs, graph, edges: edges)
            let actual = patching.patchedLogits([EdgeMask(graph: graph, edges: edges)])
            #expect(actual.maxAbsDifference(expected) < 1e-4, "\(edges.count) edges")
        }
    }

    @Test(arguments: [false, true]) func edgeAttributionEqualsAutogradThroughSplitInputs(llama: Bool) throws {
        let model = Self.model(llama: llama)
        let pairs = try Self.pairs()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let graph = patching.graph
        let scores = patching.edgeAttribution()
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        let (_, clean) = try model.runWithCache(pairs.clean, filter: .all)
        let sources = try Self.corruptedOutputs(model, pairs, graph)
        func cleanOutput(_ sender: Sender) throws -> Tensor {
            switch sender {
            case .input: return try clean[.residPre(0)]
            case let .head(l, h): return try clean[.result(l)].select(axis: 2, h)
            case let .mlp(l): return try clean[.mlpOut(l)]
            }
        }
        let points = (0..<model.layerCount).flatMap { [HookPoint.qInput($0), .kInput($0), .vInput($0), .mlpIn($0)] }
            + [.residPost(model.layerCount - 1)]
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
            case .logits: return gradients[HookPoint.residPost(model.layerCount - 1).name]!
            }
        }
        var worst: Float = 0
        for edge in graph.edges {
            let expected = ((sources[edge.sender]! - (try cleanOutput(edge.sender))) * gradient(edge.receiver)).sum().item
            worst = Swift.max(worst, Swift.abs(scores[edge] - expected) / Swift.max(1, Swift.abs(expected)))
        }
        #expect(worst < 1e-3)
    }

    @Test(arguments: [false, true]) func incrementalACDCEqualsLiteralPatchedRuns(llama: Bool) throws {
        let model = Self.model(llama: llama)
        let pairs = try Self.pairs()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        var state: ACDCState?
        var stops = 0
        repeat {
            let (_, next) = try patching.acdcEdges(ACDCOptions(threshold: 0.002), resumingFrom: state, stopAfter: 60)
            state = next
            let removed = EdgeMask(graph: patching.graph, values: next.removed)
            let edges = patching.graph.edges.filter { removed[patching.graph.index(of: $0.sender), patching.graph.index(of: $0.receiver)] != 0 }
            let literal = patching.metric(try Self.literalPatchedLogits(model, pairs, patching.graph, edges: edges)).item
            #expect(Swift.abs(next.current - literal) < 1e-4, "after \(next.tested) tests, \(edges.count) edges removed")
            stops += 1
        } while state!.receiver >= 0
        #expect(stops > 2)
    }
}
