import Foundation
import Testing
import Circuits

/// The trained known-circuit model: training is deterministic and the designated edges carry the behaviour.
@Suite struct KnownCircuitRecipeTests {
    static let tiny = KnownCircuitRecipe.Options(symbols: 4, length: 4, heads: 2, dModel: 32, dMLP: 32, steps: 150, batchSize: 16,
                                                 learningRate: 1e-2, seed: 3)

    @Test func trainingIsDeterministicAndTheTrueCircuitCarriesTheTask() throws {
        let first = Self.trainedTiny
        let second = try KnownCircuitRecipe.train(Self.tiny)
        #expect(first.losses.map(\.bitPattern) == second.losses.map(\.bitPattern))
        #expect(first.model.parameters.map(\.tensor.scalars) == second.model.parameters.map(\.tensor.scalars))

        let pairs = try first.pairs(count: 32, seed: 99)
        #expect(pairs.accuracy(of: first.model) >= 0.9)
        let patching = try EdgePatching(model: first.model, pairs: pairs, metric: .logitDiff)
        let graph = patching.graph, truth = first.trueEdges(in: graph)
        #expect(truth.count == 4)
        // The true edges alone keep the logit difference; patching them alone (every other edge clean) removes it.
        let faithfulness = patching.faithfulness(ofEdgeSets: [truth, Set(graph.edges).subtracting(truth)])
        #expect(faithfulness[0] >= 0.9, "true circuit faithfulness \(faithfulness[0])")
        #expect(faithfulness[1] <= 0.1, "faithfulness without the true circuit \(faithfulness[1])")
        // Other edges are near misses: not exactly irrelevant.
        let exact = try patching.edgeAttribution(.exact)
        let others = graph.edges.filter { !truth.contains($0) }.map { Swift.abs(exact[$0]) }
        #expect(others.max()! > 1e-5)
    }

    @Test func theTrainingRunPatchesEdgesAsEdgePatchingDoes() throws {
        let untrained = try KnownCircuitRecipe.train(KnownCircuitRecipe.Options(steps: 0, seed: 1))
        let pairs = try untrained.pairs(count: 4, seed: 5)
        let patching = try EdgePatching(model: untrained.model, pairs: pairs, metric: .logitDiff)
        let graph = patching.graph, truth = untrained.trueEdges(in: graph)
        for edges in [truth, Set(graph.edges).subtracting(truth), Set(graph.edges.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))] {
            let expected = patching.patchedLogits([EdgeMask(graph: graph, edges: edges)])
            let logits = KnownCircuitRecipe.patchedLogits(untrained.model, base: pairs.clean, source: pairs.corrupted, patched: edges)
            #expect(logits.shape == expected.shape)
            #expect(zip(logits.scalars, expected.scalars).allSatisfy { Swift.abs($0 - $1) < 1e-4 })
        }
    }

    static let trainedTiny = try! KnownCircuitRecipe.train(tiny)

    /// On a trained model, whose edges have graded effects, a target edge count is met exactly (the circuit is the
    /// target's number of highest logits), deterministically, and a resumed run gives the same circuit; with either
    /// sampler the four highest logits are the true circuit.
    @Test(arguments: MaskOptimizationOptions.Sampler.allCases)
    func maskOptimizationMeetsATargetEdgeCount(sampler: MaskOptimizationOptions.Sampler) throws {
        let trained = Self.trainedTiny
        let patching = try EdgePatching(model: trained.model, pairs: try trained.pairs(count: 16, seed: 7), metric: .logitDiff)
        for target in [4, 10] {
            let options = MaskOptimizationOptions(sampler: sampler, steps: 300, sparsity: 0, seed: 1, targetEdges: target)
            let result = try patching.optimizeMasks(options)
            #expect(result.circuit.edges.count == target, "target \(target): \(result.circuit.edges.count) kept")
            #expect(result.circuit.metadata["selection"] == "top-\(target)-by-logit")
            let ranked = result.state.logits.sorted(by: >)
            let lowestKept = result.circuit.edges.map { result.state.logits[patching.graph.edgeIndex(of: $0)] }.min()!
            #expect(lowestKept == ranked[target - 1])
            let interrupted = try patching.optimizeMasks(options, stopAfter: 137).state
            let saved = try JSONDecoder().decode(MaskOptimizationState.self, from: try JSONEncoder().encode(interrupted))
            let resumed = try patching.optimizeMasks(options, resumingFrom: saved)
            #expect(resumed.state.logits.map(\.bitPattern) == result.state.logits.map(\.bitPattern))
            #expect(resumed.state == result.state && resumed.circuit.edges == result.circuit.edges)
            if target == 4 {
                let graph = patching.graph
                #expect(result.circuit.edges == trained.trueEdges(in: graph),
                        "\(sampler): \(result.circuit.edges.map(graph.name(of:)).sorted())")
            }
        }
    }

    @Test func badSizesAreRefused() {
        #expect(throws: CircuitError.self) { try KnownCircuitRecipe.train(KnownCircuitRecipe.Options(heads: 5)) }
    }
}
