import Foundation
import Testing
import Circuits

/// The lookup-circuit recipe: its prompts, the training run's patching, determinism and the trained circuit, whose
/// query and key edges carry the task.
@Suite struct LookupCircuitRecipeTests {
    static func options(steps: Int, seed: UInt64) -> KnownCircuitRecipe.Options {
        KnownCircuitRecipe.Options(task: .lookup, symbols: 4, length: 5, steps: steps, seed: seed)
    }

    @Test func theTrueCircuitRunsThroughQueryAndKeyEdges() {
        let names = KnownCircuitRecipe.Task.lookup.trueEdgeNames
        #expect(names.contains { $0.hasSuffix("<q>") } && names.contains { $0.hasSuffix("<k>") })
    }

    /// Each prompt is every key once with a value, then a key; the answer is that key's value (read off the tokens).
    @Test func heldOutPairsAreLookupPrompts() throws {
        let untrained = try KnownCircuitRecipe.train(Self.options(steps: 0, seed: 1))
        let pairs = try untrained.pairs(count: 16, seed: 5)
        let words = untrained.vocabulary.tokens
        for i in 0..<pairs.count {
            for (prompt, answer) in [(pairs.clean.tokens[i], pairs.answers[i]), (pairs.corrupted.tokens[i], pairs.wrongs[i])] {
                let pairWords = prompt.dropLast().map { words[$0] }, query = words[prompt.last!]
                #expect(Set(pairWords.map { $0.prefix(2) }) == ["k0", "k1", "k2", "k3"])
                let match = try #require(pairWords.first { $0.hasPrefix(query) })
                #expect(words[answer] == String(match.dropFirst(2)))
            }
            #expect(pairs.answers[i] != pairs.wrongs[i])
        }
    }

    @Test func theTrainingRunPatchesEdgesAsEdgePatchingDoes() throws {
        let untrained = try KnownCircuitRecipe.train(Self.options(steps: 0, seed: 1))
        let pairs = try untrained.pairs(count: 4, seed: 5)
        let patching = try EdgePatching(model: untrained.model, pairs: pairs, metric: .logitDiff)
        let graph = patching.graph, truth = untrained.trueEdges(in: graph)
        #expect(truth.count == 4)
        for edges in [truth, Set(graph.edges).subtracting(truth), Set(graph.edges.enumerated().filter { $0.offset % 3 == 1 }.map(\.element))] {
            let expected = patching.patchedLogits([EdgeMask(graph: graph, edges: edges)])
            let logits = KnownCircuitRecipe.patchedLogits(untrained.model, base: pairs.clean, source: pairs.corrupted, patched: edges)
            #expect(logits.shape == expected.shape)
            #expect(zip(logits.scalars, expected.scalars).allSatisfy { Swift.abs($0 - $1) < 1e-4 })
        }
    }

    @Test func trainingIsDeterministic() throws {
        let short = Self.options(steps: 40, seed: 3)
        let first = try KnownCircuitRecipe.train(short)
        let second = try KnownCircuitRecipe.train(short)
        #expect(first.losses.map(\.bitPattern) == second.losses.map(\.bitPattern))
        #expect(first.model.parameters.map(\.tensor.scalars) == second.model.parameters.map(\.tensor.scalars))
    }

    /// The recipe's default run (`interp train --recipe lookup-circuit --seed 0`): the circuit carries the task.
    @Test func theTrainedLookupCircuitCarriesTheTask() throws {
        let first = try KnownCircuitRecipe.train(Self.options(steps: 1500, seed: 0))
        let pairs = try first.pairs(count: 32, seed: 99)
        let patching = try EdgePatching(model: first.model, pairs: pairs, metric: .logitDiff)
        let graph = patching.graph, truth = first.trueEdges(in: graph)
        let faithfulness = patching.faithfulness(ofEdgeSets: [truth, Set(graph.edges).subtracting(truth)])
        #expect(faithfulness[0] >= 0.8, "true circuit faithfulness \(faithfulness[0])")
        #expect(faithfulness[1] <= 0.2, "faithfulness without the true circuit \(faithfulness[1])")
        // Each true edge, the query and key edges included, carries the task on its own.
        let exact = try patching.edgeAttribution(.exact)
        for edge in truth { #expect(exact[edge] < -0.25 * patching.cleanValue, "\(graph.name(of: edge)): \(exact[edge])") }
    }
}
