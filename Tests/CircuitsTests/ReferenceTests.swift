import Foundation
import Testing
import Circuits

/// Edge patching, EAP and EAP-IG against a torch reimplementation on TransformerLens 3.9 hooks
/// (scripts/make_interp_references.py), on the tiny checkpoint fixtures.
///
/// The reference patches an edge set by adding, at each receiver's split input (`hook_q_input`, `hook_k_input`,
/// `hook_v_input` slot, `hook_mlp_in`, or the final `hook_resid_post` for the logits), the corrupted output of each
/// patched sender minus that sender's output in the same run. EAP scores are `Σ_{batch, pos} (out_u(x') − out_u(x)) ·
/// ∂m/∂in_v` at the clean run, `m` the mean logit difference; EAP-IG averages the gradient over 5 runs whose
/// `blocks.0.hook_resid_pre` is `x' + k/5 (x − x')`, `k = 0..<5`. Every value must agree within
/// `1e-4 * max(1, max |expected|)`.
@Suite struct CircuitsReferenceTests {
    static let models = ["gpt2", "llama_gqa", "qwen2"]

    @Test(arguments: models) func edgePatchingMatchesReference(name: String) throws {
        let (patching, reference) = try Self.load(name)
        let graph = patching.graph
        let byName = graph.edgesByName()
        #expect(graph.edges.count == reference["edge_count"] as! Int, "\(name): edge count")
        expectClose([patching.cleanValue, patching.corruptedValue],
                    [flatFloats(reference["clean_value"]!)[0], flatFloats(reference["corrupted_value"]!)[0]], "\(name) unpatched metrics")
        let sets = (reference["patched"] as! [String: [String: Any]]).sorted { $0.key < $1.key }
        let masks = try sets.map { _, set in
            EdgeMask(graph: graph, edges: try (set["edges"] as! [String]).map { edge in
                guard let found = byName[edge] else { throw CircuitError.unknownEdge(edge) }
                return found
            })
        }
        let values = patching.metrics(masks)
        for ((key, set), value) in zip(sets, values) {
            expectClose([value], flatFloats(set["metric"]!), "\(name) edge set \(key)")
        }
    }

    @Test(arguments: models) func edgeAttributionMatchesReference(name: String) throws {
        let (patching, reference) = try Self.load(name)
        let steps = reference["ig_steps"] as! Int
        for (key, scores) in [("eap", patching.edgeAttribution()), ("eap_ig", patching.edgeAttribution(integratedGradientSteps: steps))] {
            let expected = reference[key] as! [String: NSNumber]
            let names = patching.graph.edges.map { patching.graph.name(of: $0) }
            #expect(Set(names) == Set(expected.keys), "\(name) \(key): edge names differ from the reference's")
            let pairs = zip(names, scores.values).compactMap { edge, value in expected[edge].map { (value, $0.floatValue) } }
            expectClose(pairs.map(\.0), pairs.map(\.1), "\(name) \(key) scores")
        }
    }

    static func load(_ name: String) throws -> (EdgePatching, [String: Any]) {
        let checkpoints = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models")
        let model = try TransformerModel.load(Checkpoint(directory: checkpoints.appendingPathComponent(name)))
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("\(name)/edges.json")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let pairs = try PromptPairs(clean: reference["clean"] as! [[Int]], corrupted: reference["corrupted"] as! [[Int]],
                                    answers: reference["answers"] as! [Int], wrongs: reference["wrongs"] as! [Int])
        return (try EdgePatching(model: model, pairs: pairs, metric: .logitDiff), reference)
    }
}

/// JSON numbers (nested arrays) as a flat Float array.
private func flatFloats(_ value: Any) -> [Float] {
    if let array = value as? [Any] { return array.flatMap(flatFloats) }
    return [(value as! NSNumber).floatValue]
}

/// Expects equal counts and `|a - e| <= 1e-4 * max(1, max |e|)` everywhere.
private func expectClose(_ actual: [Float], _ expected: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    let tolerance = 1e-4 * Swift.max(1, expected.map { Swift.abs($0) }.max() ?? 0)
    let worst = zip(actual, expected).map { Swift.abs($0 - $1) }.max() ?? 0
    #expect(worst <= tolerance, "\(what): max |Δ| = \(worst) > \(tolerance)", sourceLocation: sourceLocation)
}
