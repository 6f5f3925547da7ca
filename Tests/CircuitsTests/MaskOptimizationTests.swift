import TestModels
import Foundation
import Testing
import Circuits

@Suite struct MaskOptimizationTests {
    func names(_ edges: Set<ComputationGraph.Edge>, _ graph: ComputationGraph) -> [String] {
        edges.map(graph.name(of:)).sorted()
    }

    func inductionPatching() throws -> EdgePatching {
        let pairs = try PromptPairs(clean: [[0, 1, 2, 3, 0, 1, 2]], corrupted: [[4, 5, 4, 5, 0, 1, 2]], answers: [3], wrongs: [4])
        return try EdgePatching(model: KnownCircuits.induction(), pairs: pairs, metric: KnownCircuits.logitMetric(3))
    }

    /// The `[sender, receiver]` patch mask of keep fractions `z` (edge order): each edge patched by 1 − z.
    func patchMask(_ z: [Float], _ graph: ComputationGraph) -> EdgeMask {
        var mask = EdgeMask(graph: graph)
        for (e, edge) in graph.edges.enumerated() { mask[graph.index(of: edge.sender), graph.index(of: edge.receiver)] = 1 - z[e] }
        return mask
    }

    @Test func maskedRunMatchesPatchingAndFiniteDifferences() throws {
        let model = KnownCircuits.mlpChain()
        let pairs = try PromptPairs(clean: [[0, 0], [0, 1]], corrupted: [[1, 1], [1, 0]], answers: [0, 0], wrongs: [1, 1])
        let patching = try EdgePatching(model: model, pairs: pairs, metric: KnownCircuits.logitMetric(0))
        let graph = patching.graph
        var generator = SeededGenerator(seed: 3)
        let z = graph.edges.map { _ in Float.random(in: 0.6...0.95, using: &generator) }
        let (value, gradient) = patching.maskedRun(keep: z)
        // Fractional edge patching is the same interpolation, computed without the tape.
        #expect(Swift.abs(value - patching.metrics([patchMask(z, graph)])[0]) < 1e-4)
        #expect(Swift.abs(patching.maskedRun(keep: z.map { _ in 1 }).value - patching.cleanValue) < 1e-4)
        #expect(Swift.abs(patching.maskedRun(keep: z.map { _ in 0 }).value - patching.corruptedValue) < 1e-4)
        let h: Float = 1e-2
        for e in graph.edges.indices {
            var up = z, down = z
            up[e] += h
            down[e] -= h
            let numeric = (patching.metrics([patchMask(up, graph)])[0] - patching.metrics([patchMask(down, graph)])[0]) / (2 * h)
            #expect(Swift.abs(gradient[e] - numeric) < 2e-3, "\(graph.name(of: graph.edges[e])): \(gradient[e]) vs \(numeric)")
        }
    }

    @Test func attentionGradientsMatchFiniteDifferences() throws {
        let patching = try inductionPatching()
        let graph = patching.graph
        var generator = SeededGenerator(seed: 5)
        // With fractions in 0.5–0.9 the construction's sharp attention is smooth enough for central differences.
        let z = graph.edges.map { _ in Float.random(in: 0.5...0.9, using: &generator) }
        let (value, gradient) = patching.maskedRun(keep: z)
        #expect(Swift.abs(value - patching.metrics([patchMask(z, graph)])[0]) < 1e-4)
        let h: Float = 1e-3
        for e in graph.edges.indices {
            var up = z, down = z
            up[e] += h
            down[e] -= h
            let numeric = (patching.metrics([patchMask(up, graph)])[0] - patching.metrics([patchMask(down, graph)])[0]) / (2 * h)
            #expect(Swift.abs(gradient[e] - numeric) < 1e-2 * Swift.max(1, Swift.abs(numeric)), "\(graph.name(of: graph.edges[e])): \(gradient[e]) vs \(numeric)")
        }
    }

    @Test(arguments: MaskOptimizationOptions.Sampler.allCases)
    func recoversThePlantedCircuits(sampler: MaskOptimizationOptions.Sampler) throws {
        let options = MaskOptimizationOptions(sampler: sampler, steps: 300, sparsity: 0.01, seed: 1)
        let induction = try inductionPatching()
        #expect(names(try induction.optimizeMasks(options).circuit.edges, induction.graph)
            == ["a0.h0->a1.h0<k>", "a1.h0->logits", "input->a0.h0<v>", "input->a1.h0<v>"])

        let chain = try EdgePatching(model: KnownCircuits.mlpChain(),
                                     pairs: try PromptPairs(clean: [[0, 0]], corrupted: [[1, 1]], answers: [0], wrongs: [1]),
                                     metric: KnownCircuits.logitMetric(0))
        #expect(names(try chain.optimizeMasks(options).circuit.edges, chain.graph) == ["input->m0", "m0->m1", "m1->logits"])

        // Five heads each adding 1: the behaviour ACDC loses at τ = 2 is kept whole.
        let sum = try EdgePatching(model: KnownCircuits.sumOfHeads(5),
                                   pairs: try PromptPairs(clean: [[0, 0, 0]], corrupted: [[1, 1, 1]], answers: [0], wrongs: [1]),
                                   metric: KnownCircuits.logitMetric(0))
        let expected = (0..<5).flatMap { ["a0.h\($0)->logits", "input->a0.h\($0)<v>"] }.sorted()
        #expect(names(try sum.optimizeMasks(options).circuit.edges, sum.graph) == expected)
    }

    @Test func runsAreDeterministicAndResumeExactly() throws {
        let patching = try inductionPatching()
        let options = MaskOptimizationOptions(steps: 60, sparsity: 0.01, seed: 7)
        let first = try patching.optimizeMasks(options).state
        let second = try patching.optimizeMasks(options).state
        #expect(first == second)
        #expect(first.logits.map(\.bitPattern) == second.logits.map(\.bitPattern))

        let interrupted = try patching.optimizeMasks(options, stopAfter: 23).state
        #expect(interrupted.step == 23)
        let saved = try JSONDecoder().decode(MaskOptimizationState.self, from: try JSONEncoder().encode(interrupted))
        let resumed = try patching.optimizeMasks(options, resumingFrom: saved).state
        #expect(resumed.logits.map(\.bitPattern) == first.logits.map(\.bitPattern))
        #expect(resumed == first)

        let other = MaskOptimizationOptions(steps: 60, sparsity: 0.02, seed: 7)
        #expect(throws: CircuitError.self) { try patching.optimizeMasks(other, resumingFrom: saved) }
        let seeded = try patching.optimizeMasks(MaskOptimizationOptions(steps: 60, sparsity: 0.01, seed: 8)).state
        #expect(seeded.logits != first.logits)
    }

    @Test func plantedCircuitIsVerifiedByConstruction() throws {
        let patching = try EdgePatching(model: PlantedCircuit.model(), pairs: try PlantedCircuit.pairs(), metric: .logitDiff)
        let graph = patching.graph, truth = PlantedCircuit.trueEdges(in: graph)
        #expect(patching.cleanValue > 0.9 && patching.corruptedValue < 0.1)
        // Keeping only the true edges (every other edge patched) keeps the metric.
        let circuit = Circuit(graph: graph, edges: truth)
        #expect(Swift.abs(patching.faithfulness(of: circuit) - 1) < 1e-3)
        // Removing any one true edge from the circuit breaks it.
        for edge in truth {
            #expect(patching.faithfulness(ofEdgeSets: [truth.subtracting([edge])])[0] < 0.5, "\(graph.name(of: edge))")
        }
        // Every other edge alone has no effect.
        let effects = try patching.edgeAttribution(.exact)
        for edge in graph.edges where !truth.contains(edge) { #expect(Swift.abs(effects[edge]) < 1e-4, "\(graph.name(of: edge))") }
    }

    @Test func everyMethodIsScoredAgainstThePlantedCircuit() throws {
        let patching = try EdgePatching(model: PlantedCircuit.model(), pairs: try PlantedCircuit.pairs(count: 4), metric: .logitDiff)
        let results = try patching.knownCircuitScores(EdgeScoringMethod.standard, trueEdges: PlantedCircuit.trueEdges(in: patching.graph))
        #expect(results.map(\.method) == EdgeScoringMethod.standard.map(\.name))
        let byName = Dictionary(uniqueKeysWithValues: results.map { ($0.method, $0.area) })
        #expect(byName["exact"] == 1)
        #expect(byName["mask-hard-concrete"] == 1)
    }

    @Test(arguments: MaskOptimizationOptions.Sampler.allCases)
    func aTargetEdgeCountSteersTheMultiplier(sampler: MaskOptimizationOptions.Sampler) throws {
        let patching = try EdgePatching(model: PlantedCircuit.model(), pairs: try PlantedCircuit.pairs(count: 4), metric: .logitDiff)
        let truth = PlantedCircuit.trueEdges(in: patching.graph)
        // λ starts at 0, where nothing would be pruned; the multiplier rises until 4 edges are kept.
        let options = MaskOptimizationOptions(sampler: sampler, steps: 300, sparsity: 0, seed: 2, targetEdges: 4)
        let result = try patching.optimizeMasks(options)
        #expect(result.circuit.edges == truth, "\(sampler): \(result.circuit.edges.map(patching.graph.name(of:)).sorted())")
        #expect(result.state.multiplier > 0)
        #expect(try patching.optimizeMasks(options).state == result.state)
        // With λ fixed at 0 the same run keeps every edge.
        let fixed = try patching.optimizeMasks(MaskOptimizationOptions(sampler: sampler, steps: 300, sparsity: 0, seed: 2))
        #expect(fixed.circuit.edges.count == patching.graph.edges.count)
        #expect(throws: CircuitError.self) {
            try patching.optimizeMasks(MaskOptimizationOptions(targetEdges: patching.graph.edges.count + 1))
        }
    }
}
