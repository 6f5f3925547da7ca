import Foundation
import TestModels
import Testing
import Circuits

/// Edge patching of a large model keeps the patch source's head outputs compact (each layer's `hook_z`, recomputed
/// when read; ``EdgePatching/sourceByteLimit``). The recomputation is the forward pass's own, so everything
/// computed from the sources — the corrupted metric, EAP, EAP-IG (whose interpolated runs read them), ACDC — must
/// equal the stored sources' results exactly, with and without a post-attention norm; patched metrics within
/// rounding (their head deltas are mixed in z space).
@Suite(.serialized) struct CompactSourcesTests {
    /// Runs `body` with ``EdgePatching/sourceByteLimit`` set to `limit` (restored after).
    static func withSourceLimit<T>(_ limit: Int, _ body: () throws -> T) rethrows -> T {
        let saved = EdgePatching.sourceByteLimit
        EdgePatching.sourceByteLimit = limit
        defer { EdgePatching.sourceByteLimit = saved }
        return try body()
    }

    static func models() throws -> [(String, TransformerModel, PromptPairs)] {
        let pairs = try BatchedACDCTests.pairs()
        let gemma = try PostNormTests.model("gemma2")
        return [("llama", TestModels.make(llama: true, layers: 3, heads: 4, kvHeads: 2), pairs),
                ("gpt2", TestModels.make(llama: false, layers: 2), pairs),
                ("gemma2", gemma, try PostNormTests.pairs("gemma2"))]
    }

    @Test func compactSourcesGiveTheStoredResults() throws {
        for (name, model, pairs) in try Self.models() {
            let stored = try Self.withSourceLimit(.max) { try EdgePatching(model: model, pairs: pairs, metric: .logitDiff) }
            let compact = try Self.withSourceLimit(0) { try EdgePatching(model: model, pairs: pairs, metric: .logitDiff) }
            #expect(compact.corruptedValue == stored.corruptedValue, "\(name): corrupted metric")
            let graph = stored.graph
            let masks = stride(from: 0, to: graph.edges.count, by: 7).map { EdgeMask(graph: graph, edges: [graph.edges[$0]]) }
            // Patched passes mix the heads' deltas through W_O in z space (ZSpaceHeadDeltaTests): equal within rounding.
            let worst = zip(compact.metrics(masks), stored.metrics(masks)).map { Swift.abs($0 - $1) }.max()!
            #expect(worst < 1e-5 * Swift.max(1, Swift.abs(stored.cleanValue - stored.corruptedValue)), "\(name): patched metrics")
            for method in [EdgeAttributionMethod.eap, .eapIGInputs(steps: 3), .eapIGActivations(steps: 2)] {
                #expect(try compact.edgeAttribution(method).values == stored.edgeAttribution(method).values, "\(name): \(method.name)")
            }
            let options = ACDCOptions(threshold: 0.05)
            let (a, b) = (stored.acdc(options), compact.acdc(options))
            #expect(a.kept == b.kept && a.effects == b.effects && a.finalValue == b.finalValue, "\(name): ACDC")
        }
    }
}
