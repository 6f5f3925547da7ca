import TestModels
import Testing
import Circuits

/// Exact edge scores, computed from each edge's receiver on, against the route that defines them: one patched
/// forward pass per edge with a mask holding that edge alone (``EdgePatching/metrics(_:)``, itself checked
/// against literal hooked passes and the EAP-IG library in EdgePatchingTests, PostNormTests and EAPVariantTests),
/// within float32 rounding of the metric values (2e-6 of the largest |metric|).
@Suite struct ExactEdgeScoreTests {
    static let models = ["gpt2", "llama-gqa", "parallel", "gemma2", "olmo2", "attention-only"]

    /// A model of each kind of block, with prompt pairs for it.
    static func model(_ name: String) throws -> (TransformerModel, PromptPairs) {
        switch name {
        case "gpt2": return (TestModels.make(llama: false, layers: 3), try EdgePatchingTests.pairs())
        case "llama-gqa": return (TestModels.make(llama: true, layers: 3, kvHeads: 2), try PositionalCircuitTests.labelledPairs())
        case "parallel": return (ParallelBlockTests.model(llama: false), try ParallelBlockTests.pairs())
        case "attention-only":
            let pairs = try PromptPairs(clean: [[3, 1, 4, 0, 2, 5, 1]], corrupted: [[0, 2, 5, 3, 0, 4, 3]], answers: [4], wrongs: [0])
            return (KnownCircuits.induction(), pairs)
        default: return (try PostNormTests.model(name), try PostNormTests.pairs(name))
        }
    }

    /// Scores equal one full patched pass per edge, for every kind of block, for corrupted, zero and mean
    /// sources (the zero source changes every position, so no prefix is shared), in several passes per block.
    @Test(arguments: models) func exactScoresEqualOnePatchedPassPerEdge(name: String) throws {
        let (model, pairs) = try Self.model(name)
        for sourceName in ["corrupted", "zero", "mean"] {
            let source: EdgePatching.Source = switch sourceName {
            case "zero": .zero
            case "mean": .meanPerPosition(pairs.corrupted)
            default: .corrupted
            }
            var patching = try EdgePatching(model: model, pairs: pairs, source: source, metric: .logitDiff)
            patching.maxRowsPerPass = 3 * pairs.count
            let scores = try patching.edgeAttribution(.exact)
            Self.expectEqualToOnePassPerEdge(scores, patching, "\(name) \(sourceName)")
        }
    }

    /// In a position-aware graph, `s@b -> r@b` patches `s`'s delta into `r`'s input at bucket `b`'s positions
    /// only; examples of different lengths (padded) align by label.
    @Test(arguments: [false, true]) func positionalExactScoresEqualOnePatchedPassPerEdge(llama: Bool) throws {
        let pairs = try PositionalCircuitTests.labelledPairs()
        var patching = try PositionalCircuitTests.patching(llama: llama, pairs)
        patching.maxRowsPerPass = 5 * pairs.count
        Self.expectEqualToOnePassPerEdge(try patching.edgeAttribution(.exact), patching, "positional llama=\(llama)")
    }

    /// The last block computed at the read positions alone (what exact scores use) equals the whole block at
    /// those positions, for every kind of block; the llama prompts are padded examples of different lengths, so
    /// one of them is read before the last position.
    @Test(arguments: models) func readRowBlockEqualsTheWholeBlock(name: String) throws {
        let (model, pairs) = try Self.model(name)
        let last = model.layerCount - 1, block = model.blocks[last]
        let (_, cache) = try model.runWithCache(pairs.clean, filter: .points([.residPre(last), .residPost(last)]), logitPositions: .last)
        let context = AttentionContext(batch: pairs.clean)
        let read = block.output(atRows: pairs.readPositions, residual: try cache[.residPre(last)], context: context,
                                mask: context.additiveMask(slidingWindow: block.attention.slidingWindow), cache: nil)
        let expected = try cache[.residPost(last)].gather(positions: pairs.readPositions)
        #expect(read.shape == expected.shape)
        #expect(read.maxAbsDifference(expected) < 1e-5, "\(name)")
    }

    /// Effects of some edges alone, in any order, equal their exact scores; an edge of another graph is refused.
    @Test func exactEffectsOfSomeEdgesEqualTheirScores() throws {
        let (model, pairs) = try Self.model("gpt2")
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let scores = try patching.edgeAttribution(.exact)
        let some = Array(patching.graph.edges.reversed().enumerated().filter { $0.offset % 7 == 0 }.map(\.element))
        let effects = try patching.exactEffects(of: some)
        #expect(zip(some, effects).map { Swift.abs(scores[$0] - $1) }.max()! < 1e-5)
        let other = try EdgePatching(model: TestModels.make(llama: false, layers: 4), pairs: pairs, metric: .logitDiff)
        #expect(throws: CircuitError.self) { try patching.exactEffects(of: [other.graph.edges.last!]) }
    }

    static func expectEqualToOnePassPerEdge(_ scores: EdgeScores, _ patching: EdgePatching, _ what: String,
                                            sourceLocation: SourceLocation = #_sourceLocation) {
        let graph = patching.graph
        let oracle = patching.metrics(graph.edges.map { EdgeMask(graph: graph, edges: [$0]) }).map { $0 - patching.cleanValue }
        let worst = zip(scores.values, oracle).map { Swift.abs($0 - $1) }.max() ?? 0
        let largest = oracle.map(Swift.abs).max() ?? 0
        // Float32 rounding of the metric values themselves (a few units in their last place) is all that differs.
        let magnitude = oracle.map { Swift.abs($0 + patching.cleanValue) }.max()!
        #expect(largest > 1e-3, "\(what): the edges have effects", sourceLocation: sourceLocation)
        #expect(worst <= 2e-6 * Swift.max(1, magnitude), "\(what): max |Δ| = \(worst), largest |metric| \(magnitude)",
                sourceLocation: sourceLocation)
    }
}
