import TestModels
import Foundation
import Testing
import Circuits

/// Batched ACDC tests several upcoming edges per pass; its decisions must be the one-at-a-time run's, edge for
/// edge, with every recorded effect equal to 1e-5.
@Suite struct BatchedACDCTests {
    static func pairs() throws -> PromptPairs {
        try PromptPairs(clean: [[3, 7, 1, 9, 4, 4], [8, 2, 2, 15, 6, 11]], corrupted: [[3, 7, 5, 9, 4, 4], [8, 13, 2, 15, 6, 11]],
                        answers: [5, 9], wrongs: [1, 2])
    }

    static func source(_ ablation: String, _ pairs: PromptPairs) -> EdgePatching.Source {
        switch ablation {
        case "zero": .zero
        case "mean": .meanPerPosition(pairs.corrupted)
        default: .corrupted
        }
    }

    /// Runs ACDC one edge at a time and batched at each τ and expects the same run; returns the batched results.
    @discardableResult
    static func expectSameRuns(_ patching: EdgePatching, thresholds: [Float], label: String) throws -> [ACDCResult] {
        try thresholds.map { tau in
            let sequential = try patching.acdcEdges(ACDCOptions(threshold: tau, maxBatchSize: 1)).result
            let batched = try patching.acdcEdges(ACDCOptions(threshold: tau, maxBatchSize: 16)).result
            expectEqual(batched, sequential, "\(label), τ \(tau)")
            return batched
        }
    }

    static func expectEqual(_ batched: ACDCResult, _ sequential: ACDCResult, _ label: String) {
        #expect(batched.kept == sequential.kept, "\(label): kept edges differ")
        #expect(batched.testCount == sequential.testCount, "\(label): \(batched.testCount) tests vs \(sequential.testCount)")
        #expect(Set(batched.effects.keys) == Set(sequential.effects.keys), "\(label): tested edges differ")
        let worst = sequential.effects.map { edge, effect in Swift.abs((batched.effects[edge] ?? .infinity) - effect) }.max() ?? 0
        #expect(worst < 1e-5, "\(label): effects differ by \(worst)")
        #expect(Swift.abs(batched.finalValue - sequential.finalValue) < 1e-5, "\(label): final metric")
    }

    @Test func constructionModels() throws {
        let sum = try EdgePatching(model: KnownCircuits.sumOfHeads(5),
                                   pairs: try PromptPairs(clean: [[0, 0, 0]], corrupted: [[1, 1, 1]], answers: [0], wrongs: [1]),
                                   metric: KnownCircuits.logitMetric(0))
        let sumRuns = try Self.expectSameRuns(sum, thresholds: [0.5, 1.5, 2], label: "sum of heads")
        #expect(sumRuns[0].kept.count == 10 && sumRuns[2].kept.isEmpty)
        let chain = try EdgePatching(model: KnownCircuits.mlpChain(),
                                     pairs: try PromptPairs(clean: [[0, 0]], corrupted: [[1, 1]], answers: [0], wrongs: [1]),
                                     metric: KnownCircuits.logitMetric(0))
        #expect(try Self.expectSameRuns(chain, thresholds: [0.1, 0.5, 2.5], label: "MLP chain")[1].kept.count == 3)
        let induction = try EdgePatching(
            model: KnownCircuits.induction(),
            pairs: try PromptPairs(clean: [[0, 1, 2, 3, 0, 1, 2]], corrupted: [[4, 5, 4, 5, 0, 1, 2]], answers: [3], wrongs: [4]),
            metric: KnownCircuits.logitMetric(3))
        #expect(try Self.expectSameRuns(induction, thresholds: [0.01, 0.1, 0.5], label: "induction")[1].kept.count == 4)
    }

    /// A Llama-style model with grouped-query attention (3 layers) and a 12-layer GPT-2-style model, with
    /// corrupted, zero and mean ablation, at three τ each (the 12-layer model at one τ for zero and mean).
    @Test(arguments: ["corrupted", "zero", "mean"])
    func randomModels(ablation: String) throws {
        let pairs = try Self.pairs()
        let thresholds: [Float] = [0.0005, 0.005, 0.05]
        for (label, model, taus) in [("GQA", TestModels.make(llama: true, layers: 3, kvHeads: 2), thresholds),
                                     ("12 layers", TestModels.make(llama: false, layers: 12, dModel: 8, heads: 2),
                                      ablation == "corrupted" ? thresholds : [thresholds[1]])] {
            let patching = try EdgePatching(model: model, pairs: pairs, source: Self.source(ablation, pairs), metric: .kl)
            let runs = try Self.expectSameRuns(patching, thresholds: taus, label: "\(label), \(ablation)")
            // Some τ keeps a few edges and removes most: batches are cut by kept edges.
            #expect(runs.contains { $0.kept.count > 2 && $0.kept.count < patching.graph.edges.count / 2 }, "\(label), \(ablation)")
        }
    }

    /// A run resumed from a checkpoint written inside a batch reaches the one-at-a-time run's circuit.
    @Test func resumingFromAMidBatchCheckpoint() throws {
        let pairs = try Self.pairs()
        let patching = try EdgePatching(model: TestModels.make(llama: true, layers: 3, kvHeads: 2), pairs: pairs, metric: .kl)
        let sequential = try patching.acdcEdges(ACDCOptions(threshold: 0.002, maxBatchSize: 1)).result
        let options = ACDCOptions(threshold: 0.002, maxBatchSize: 16)
        var saved: [ACDCState] = [], batchEnds: Set<Int> = []
        _ = try patching.acdcEdges(options, checkpointInterval: 5, checkpoint: { saved.append($0) },
                                   progress: { tested, _ in batchEnds.insert(tested) })
        let midBatch = saved.filter { !batchEnds.contains($0.tested) }
        #expect(midBatch.count >= 2)
        for state in [midBatch[0], midBatch[midBatch.count / 2]] {
            let restored = try JSONDecoder().decode(ACDCState.self, from: try JSONEncoder().encode(state))
            Self.expectEqual(try patching.acdcEdges(options, resumingFrom: restored).result, sequential, "resumed at \(state.tested)")
        }
    }

    /// A state rebuilt from a run's tested decisions alone (``ACDCState/init(patching:options:removed:resumingAt:)``)
    /// is the run's own state: edges into receivers that nothing kept reads, which the run removed untested, are
    /// removed in it too, and the same senders are alive.
    @Test func stateRebuiltFromTestedDecisions() throws {
        let pairs = try Self.pairs()
        let patching = try EdgePatching(model: TestModels.make(llama: true, layers: 3, kvHeads: 2), pairs: pairs, metric: .kl)
        let graph = patching.graph, options = ACDCOptions(threshold: 0.02, maxBatchSize: 1)
        var saved: [ACDCState] = []
        _ = try patching.acdcEdges(options, checkpointInterval: 7, checkpoint: { saved.append($0) })
        let midRun = saved.filter { $0.receiver >= 0 && $0.sender >= 0 }
        var untestedRemovals = 0
        for state in midRun {
            let testedRemoved = Set(state.effects.filter { $0.value < options.threshold }.map { graph.edges[$0.key] })
            let next = graph.edges.first {
                graph.index(of: $0.receiver) == state.receiver && graph.index(of: $0.sender) == state.sender
            }!
            let rebuilt = ACDCState(patching: patching, options: options, removed: EdgeMask(graph: graph, edges: testedRemoved),
                                    resumingAt: next)
            #expect(rebuilt.removed == state.removed, "after \(state.tested) tests")
            #expect(rebuilt.alive == state.alive, "after \(state.tested) tests")
            #expect(Swift.abs(rebuilt.current - state.current) < 1e-5, "after \(state.tested) tests")
            untestedRemovals = Swift.max(untestedRemovals, state.removed.filter { $0 != 0 }.count - testedRemoved.count)
        }
        #expect(midRun.count >= 3 && untestedRemovals > 0)
    }

    /// ACDC on a candidate subgraph tests only the candidates, keeps a subset of them, and batched equals one at a time.
    @Test func candidateSubgraph() throws {
        let pairs = try Self.pairs()
        let patching = try EdgePatching(model: TestModels.make(llama: true, layers: 3, kvHeads: 2), pairs: pairs, metric: .kl)
        let scores = patching.edgeAttribution()
        let candidates = Circuit.top(scores, count: 60).edges
        func run(_ batch: Int) throws -> ACDCResult {
            let options = ACDCOptions(threshold: 0.002, maxBatchSize: batch)
            return try patching.acdcEdges(options, resumingFrom: ACDCState(patching: patching, options: options, candidates: candidates)).result
        }
        let sequential = try run(1), batched = try run(16)
        Self.expectEqual(batched, sequential, "candidates")
        #expect(Set(sequential.effects.keys).isSubset(of: candidates) && sequential.kept.isSubset(of: candidates))
        #expect(sequential.kept.count > 0 && sequential.kept.count < candidates.count)
        let removed = EdgeMask(graph: patching.graph, edges: Set(patching.graph.edges).subtracting(sequential.kept))
        #expect(Swift.abs(patching.metrics([removed])[0] - sequential.finalValue) < 1e-4)
    }
}
