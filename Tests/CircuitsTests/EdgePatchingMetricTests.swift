import TestModels
import Testing
import Circuits

/// Edge patching read by another metric over the same cached runs equals edge patching built afresh with that
/// metric: the clean and all-patched values and the metric of patched masks, for the corrupted, zero and mean
/// sources.
@Suite struct EdgePatchingMetricTests {
    @Test(arguments: ["corrupted", "zero", "mean"]) func sameValuesAsAFreshPatching(ablation: String) throws {
        let model = TestModels.make(llama: true, layers: 3, kvHeads: 2)
        let pairs = try BatchedPathPatchingTests.mixedLengthPairs()
        let source = BatchedACDCTests.source(ablation, pairs)
        let kl = try EdgePatching(model: model, pairs: pairs, source: source, metric: .kl)
        let reused = kl.measured(by: .logitDiff)
        let fresh = try EdgePatching(model: model, pairs: pairs, source: source, metric: .logitDiff)
        #expect(reused.cleanValue == fresh.cleanValue)
        #expect(Swift.abs(reused.corruptedValue - fresh.corruptedValue) <= 1e-6 * Swift.abs(fresh.corruptedValue) + 1e-6)
        let edges = fresh.graph.edges
        let masks = [EdgeMask(graph: fresh.graph, edges: edges.prefix(40)), EdgeMask(graph: fresh.graph, edges: edges.suffix(25)),
                     EdgeMask.all(fresh.graph)]
        for (a, b) in zip(reused.metrics(masks), fresh.metrics(masks)) { #expect(Swift.abs(a - b) <= 1e-5 * Swift.max(1, Swift.abs(b))) }
    }
}
