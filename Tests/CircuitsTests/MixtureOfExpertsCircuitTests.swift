import Foundation
import Testing
import Circuits

/// Edge-level discovery on OLMoE's and the Qwen mixtures' mixture-of-experts MLPs (the tiny olmoe and qwen*_moe fixtures;
/// Qwen2-MoE's with its shared expert, both with dense MLP layers among the mixtures): the MLP is one node whose
/// recomputation re-routes its patched input. Checked: patching every edge gives the corrupted run and patching
/// none the clean one; patching the edges into an MLP equals a literal run whose `hook_mlp_in` is patched; EAP and
/// EAP-IG equal torch autograd through transformers' own MoE block (scripts/make_moe_references.py); ACDC's running
/// metric equals a complete patched run; neuron scores are refused.
@Suite struct MixtureOfExpertsCircuitTests {
    static let names = ["olmoe", "olmoe_norm_bf16", "qwen2_moe", "qwen3_moe"]

    static func model(_ name: String) throws -> TransformerModel {
        try PostNormTests.model(name)
    }

    static func reference(_ name: String) throws -> [String: Any] {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("moe/\(name).json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    static func pairs(_ name: String) throws -> PromptPairs {
        let json = try reference(name)
        return try PromptPairs(clean: json["clean"] as! [[Int]], corrupted: json["corrupted"] as! [[Int]],
                               answers: json["answers"] as! [Int], wrongs: json["wrongs"] as! [Int])
    }

    @Test(arguments: names) func edgePatchingSpansCleanToCorrupted(name: String) throws {
        let model = try Self.model(name)
        let pairs = try Self.pairs(name)
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        let graph = patching.graph
        #expect(graph.hasMLPs)
        let clean = model.forward(pairs.clean, logitPositions: .last).reshaped([pairs.count, -1])
        let corrupted = model.forward(pairs.corrupted, logitPositions: .last).reshaped([pairs.count, -1])
        #expect(patching.patchedLogits([.all(graph)]).maxAbsDifference(corrupted) < 1e-4)
        #expect(patching.patchedLogits([EdgeMask(graph: graph)]).maxAbsDifference(clean) < 1e-4)

        // Every edge into MLP 1 patched: the clean run with hook_mlp_in 1 replaced by clean + Σ (corrupted - clean)
        // over its senders, i.e. by the corrupted run's resid_mid 1.
        let (_, corruptedCache) = try model.runWithCache(pairs.corrupted, filter: .all)
        let edges = graph.edges.filter { $0.receiver == .mlp(layer: 1) }
        let hooks = ForwardHooks()
        hooks.add(.mlpIn(1)) { _, _ in try! corruptedCache[.residMid(1)] }
        let literal = model.forward(pairs.clean, hooks: hooks, logitPositions: .last).reshaped([pairs.count, -1])
        #expect(patching.patchedLogits([EdgeMask(graph: graph, edges: edges)]).maxAbsDifference(literal) < 1e-4)
    }

    @Test(arguments: names) func edgeAttributionEqualsTorchAutograd(name: String) throws {
        let patching = try EdgePatching(model: try Self.model(name), pairs: try Self.pairs(name), metric: .logitDiff)
        let largest = PostNormTests.expectEdgeScores(of: patching, match: try Self.reference(name), name)
        #expect(largest > 0.1, "\(name): the reference scores are all near 0 (largest \(largest))")
    }

    /// Neuron scores refuse a mixture-of-experts MLP (its neurons belong to its experts), naming the layer.
    @Test func neuronAttributionRefusesExperts() throws {
        let patching = try EdgePatching(model: try Self.model("olmoe"), pairs: try Self.pairs("olmoe"), metric: .logitDiff)
        do {
            _ = try patching.neuronAttribution(try EdgeAttributionMethod(name: "eap", steps: nil))
            Issue.record("neuron scores of a mixture of experts were computed")
        } catch {
            #expect("\(error)".contains("layer 0's MLP is a mixture of experts"), "\(error)")
        }
        #expect(try patching.nodeAttribution(try EdgeAttributionMethod(name: "eap", steps: nil)).values.count == patching.graph.senders.count)
    }

    /// ACDC's incremental runs agree with complete patched runs of the edges it removed.
    @Test(arguments: ["olmoe", "qwen2_moe"]) func acdcMetricEqualsPatchedRunOfItsRemovals(name: String) throws {
        let patching = try EdgePatching(model: try Self.model(name), pairs: try Self.pairs(name), metric: .kl)
        let graph = patching.graph
        let (_, state) = try patching.acdcEdges(ACDCOptions(threshold: 0.002), resumingFrom: nil, stopAfter: 60)
        let removed = EdgeMask(graph: graph, values: state.removed)
        #expect(removed.values.contains(1))
        #expect(Swift.abs(patching.metrics([removed])[0] - state.current) < 1e-4)
    }
}
