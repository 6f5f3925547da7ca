import TestModels
import Testing
import Circuits

/// ``ExactEdgeEffects`` keeps the clean run's parts between questions: every answer equals one patched forward
/// pass per edge with a mask holding that edge alone (``EdgePatching/metrics(_:)``), whatever was asked before.
@Suite struct ExactEdgeEffectsTests {
    @Test(arguments: ["gpt2", "llama-gqa"]) func repeatedQuestionsEqualOnePatchedPassPerEdge(name: String) throws {
        let (model, pairs) = try ExactEdgeScoreTests.model(name)
        var patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        patching.maxRowsPerPass = 4 * pairs.count
        let graph = patching.graph
        var exact = try ExactEdgeEffects(patching)
        // Late edges first (the clean key-value prefix is made then), then early ones, then a mix again.
        let questions = [Array(graph.edges.suffix(40)), Array(graph.edges.prefix(40)),
                         graph.edges.enumerated().filter { $0.offset % 5 == 2 }.map(\.element)]
        for edges in questions {
            let effects = try exact.effects(of: edges)
            let oracle = patching.metrics(edges.map { EdgeMask(graph: graph, edges: [$0]) }).map { $0 - patching.cleanValue }
            let magnitude = oracle.map { Swift.abs($0 + patching.cleanValue) }.max()!
            let worst = zip(effects, oracle).map { Swift.abs($0 - $1) }.max()!
            #expect(oracle.map(Swift.abs).max()! > 1e-3, "\(name): the edges have effects")
            #expect(worst <= 2e-6 * Swift.max(1, magnitude), "\(name): max |Δ| = \(worst), largest |metric| \(magnitude)")
        }
    }
}
