import TestModels
import Foundation
import Testing
import TestScratch
import Circuits

@Suite struct CircuitDiscoveryTests {
    func edges(_ names: [String], _ graph: ComputationGraph) -> Set<ComputationGraph.Edge> {
        let byName = graph.edgesByName()
        return Set(names.map { byName[$0]! })
    }

    func names(_ edges: Set<ComputationGraph.Edge>, _ graph: ComputationGraph) -> [String] {
        edges.map(graph.name(of:)).sorted()
    }

    @Test func distributedBehaviourLosesEveryEdgeAtTauTwo() throws {
        let model = KnownCircuits.sumOfHeads(5)
        let pairs = try PromptPairs(clean: [[0, 0, 0]], corrupted: [[1, 1, 1]], answers: [0], wrongs: [1])
        let patching = try EdgePatching(model: model, pairs: pairs, metric: KnownCircuits.logitMetric(0))
        #expect(Swift.abs(patching.cleanValue - 5) < 1e-4 && Swift.abs(patching.corruptedValue) < 1e-4)
        #expect(patching.acdc(ACDCOptions(threshold: 2)).kept.isEmpty)
        let kept = patching.acdc(ACDCOptions(threshold: 0.5)).kept
        let expected = (0..<5).flatMap { ["a0.h\($0)->logits", "input->a0.h\($0)<v>"] }
        #expect(names(kept, patching.graph) == expected.sorted())
    }

    @Test func chainThroughMLPsIsRecovered() throws {
        let model = KnownCircuits.mlpChain()
        let pairs = try PromptPairs(clean: [[0, 0]], corrupted: [[1, 1]], answers: [0], wrongs: [1])
        let patching = try EdgePatching(model: model, pairs: pairs, metric: KnownCircuits.logitMetric(0))
        #expect(Swift.abs(patching.cleanValue - 3) < 1e-4)
        let result = patching.acdc(ACDCOptions(threshold: 0.5))
        #expect(names(result.kept, patching.graph) == ["input->m0", "m0->m1", "m1->logits"])
        #expect(Swift.abs(patching.faithfulness(of: result.circuit) - 1) < 1e-4)
    }

    @Test func inductionCircuitIsRecoveredWithKComposition() throws {
        let model = KnownCircuits.induction()
        let pairs = try PromptPairs(clean: [[0, 1, 2, 3, 0, 1, 2]], corrupted: [[4, 5, 4, 5, 0, 1, 2]], answers: [3], wrongs: [4])
        let patching = try EdgePatching(model: model, pairs: pairs, metric: KnownCircuits.logitMetric(3))
        #expect(Swift.abs(patching.cleanValue - 1) < 1e-3 && Swift.abs(patching.corruptedValue) < 1e-3)
        let result = patching.acdc(ACDCOptions(threshold: 0.1))
        #expect(names(result.kept, patching.graph) == ["a0.h0->a1.h0<k>", "a1.h0->logits", "input->a0.h0<v>", "input->a1.h0<v>"])
        #expect(patching.faithfulness(of: result.circuit) > 0.999)
        let nodes = patching.acdc(ACDCOptions(threshold: 0.1, nodeLevel: true)).circuit.pruned()
        #expect(Set(nodes.nodes) == ["input", "a0.h0", "a1.h0", "logits"])
    }

    @Test func eapEqualsExactEdgeEffectsOnALinearModel() throws {
        // Queries and keys are zero, so attention is uniform and the model is linear in its inputs:
        // the first-order estimate is exact for every edge.
        let model = KnownCircuits.sumOfHeads(3)
        let pairs = try PromptPairs(clean: [[0, 0, 0], [0, 1, 0]], corrupted: [[1, 1, 1], [1, 1, 1]], answers: [0, 0], wrongs: [1, 1])
        let patching = try EdgePatching(model: model, pairs: pairs, metric: KnownCircuits.logitMetric(0))
        let exact = patching.metrics(patching.graph.edges.map { EdgeMask(graph: patching.graph, edges: [$0]) })
        for scores in [patching.edgeAttribution(), patching.edgeAttribution(integratedGradientSteps: 5)] {
            for (i, edge) in patching.graph.edges.enumerated() {
                #expect(Swift.abs(scores[edge] - (exact[i] - patching.cleanValue)) < 1e-4, "\(patching.graph.name(of: edge))")
            }
        }
    }

    @Test func selectionPruningAndFiles() throws {
        let model = KnownCircuits.induction()
        let pairs = try PromptPairs(clean: [[0, 1, 2, 3, 0, 1, 2]], corrupted: [[4, 5, 4, 5, 0, 1, 2]], answers: [3], wrongs: [4])
        let patching = try EdgePatching(model: model, pairs: pairs, metric: KnownCircuits.logitMetric(3))
        let scores = patching.edgeAttribution(integratedGradientSteps: 5)
        let graph = patching.graph
        // A dangling edge (its sender has no path from the input) is pruned; a connected chain is kept.
        let circuit = Circuit(graph: graph, edges: edges(["a0.h0->a1.h0<k>", "a1.h0->logits", "input->a0.h0<v>", "a0.h0->logits"], graph).union(edges(["input->a1.h0<v>"], graph)))
        #expect(circuit.pruned().edges.count == 5)
        let dangling = Circuit(graph: graph, edges: edges(["a0.h0->a1.h0<k>", "input->logits"], graph))
        #expect(names(dangling.pruned().edges, graph) == ["input->logits"])
        let greedy = Circuit.greedy(scores, count: 2)
        for edge in greedy.edges where edge.receiver != .logits {
            let readers = graph.nodes(reading: edge.receiver)
            #expect(greedy.edges.contains { readers.contains($0.sender) })
        }
        let curve = patching.faithfulnessCurve(scores, sizes: [1, 2, 4, 8])
        #expect(curve.points.count == 4 && curve.area > 0 && curve.area <= 1)

        var top = Circuit.top(scores, count: 4)
        top.metadata["task"] = "induction"
        try withTemporaryDirectory { scratch in
            let url = scratch.appendingPathComponent("circuit.json")
            try top.jsonData().write(to: url)
            let read = try Circuit.read(from: url)
            #expect(read.edges == top.edges && read.metadata["task"] == "induction")
            #expect(top.dot().contains("digraph"))
            try Data("{\"graph\": 3}".utf8).write(to: url)
            #expect(throws: CircuitError.self) { try Circuit.read(from: url) }
        }
    }
}

@Suite struct ACDCResumeTests {
    @Test func interruptedRunResumesToTheSameCircuit() throws {
        let model = TestModels.make(llama: false, layers: 2)
        let pairs = try PromptPairs(clean: [[3, 7, 1, 9, 4, 4]], corrupted: [[3, 7, 5, 9, 4, 4]], answers: [5], wrongs: [1])
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        let options = ACDCOptions(threshold: 0.01)
        let whole = try patching.acdcEdges(options).result
        var saved: [ACDCState] = []
        let (_, partial) = try patching.acdcEdges(options, checkpointInterval: 7, checkpoint: { saved.append($0) }, stopAfter: 30)
        #expect(partial.tested == 30 && !saved.isEmpty)
        let data = try JSONEncoder().encode(saved.last!)
        let restored = try JSONDecoder().decode(ACDCState.self, from: data)
        let resumed = try patching.acdcEdges(options, resumingFrom: restored).result
        #expect(resumed.kept == whole.kept && resumed.testCount == whole.testCount)
        #expect(throws: CircuitError.self) { try patching.acdcEdges(ACDCOptions(threshold: 0.5), resumingFrom: restored) }
    }
}

@Suite struct CacheLimitTests {
    @Test func cacheRefusesPastItsLimitWithAClearError() throws {
        let model = TestModels.make(llama: true)
        let batch = TokenBatch(TestModels.prompts)
        do {
            _ = try model.runWithCache(batch, filter: .all, byteLimit: 4096)
            Issue.record("expected the cache to refuse")
        } catch let error as ActivationCacheError {
            #expect(error.description.contains("over the limit"))
        }
        let (_, cache) = try model.runWithCache(batch, filter: .all, byteLimit: 1 << 24)
        #expect(cache.byteCount <= 1 << 24)
    }

    @Test func nonFiniteActivationIsLocated() throws {
        let model = TestModels.make(llama: false)
        model.blocks[1].mlp!.output.bias = Tensor(repeating: .nan, shape: [16])
        let found = try #require(model.firstNonFiniteActivation(TokenBatch(TestModels.prompts)))
        #expect(found.hook == "blocks.1.hook_mlp_out")
        #expect(TestModels.make(llama: false).firstNonFiniteActivation(TokenBatch(TestModels.prompts)) == nil)
    }
}

@Suite struct PlantedHeadScoreTests {
    /// The hand-built induction model has a previous-token head (0.0) and an induction head (1.0) by construction.
    @Test func headScoresFindThePlantedHeads() throws {
        let model = KnownCircuits.induction()
        let scores = try model.headScores(TokenBatch([[0, 1, 2, 3, 4, 5, 0]]), repeats: 8, seed: 3)
        let previous = try #require(scores.heads(.previousToken, threshold: 0.9).first)
        #expect(previous.layer == 0 && previous.head == 0)
        let induction = try #require(scores.heads(.induction, threshold: 0.5).first)
        #expect(induction.layer == 1 && induction.head == 0)
        #expect(scores.scores[.previousToken]![1, 0] < 0.5 && scores.scores[.induction]![0, 0] < 0.5)
    }
}
