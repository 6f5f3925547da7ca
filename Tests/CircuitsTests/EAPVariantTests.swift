import Foundation
import Testing
import Circuits
import TestModels

/// EAP-IG's attribution methods against the EAP-IG library itself (github.com/hannamw/EAP-IG, commit 795f560:
/// `attribute()` and `attribute_node()`), run by scripts/make_eap_variant_references.py on the tiny fixture
/// checkpoints in TransformerLens 3.9, with the mean logit difference as the metric.
///
/// The library divides its gradient scores by the number of examples although its metric is already a mean, so
/// its gradient-based edge and node scores are compared times the batch size; exact and information flow routes
/// are compared as they are. Neuron scores (MLP hidden units) come from torch autograd in the same script. Every
/// value must agree within `1e-4 · max |expected|`.
@Suite struct EAPVariantTests {
    static let models = ["gpt2", "llama_gqa"]
    static let gradientMethods: Set<String> = ["EAP", "EAP-IG-inputs", "EAP-IG-activations", "clean-corrupted"]

    @Test(arguments: models) func edgeScoresEqualTheLibrarys(name: String) throws {
        let (patching, reference) = try Self.load(name)
        let names = patching.graph.edges.map { patching.graph.name(of: $0) }
        for (key, expected) in reference["edges"] as! [String: [String: NSNumber]] {
            let scores = try patching.edgeAttribution(try Self.method(key, reference))
            let scale: Float = Self.gradientMethods.contains(key) ? Float(reference["batch"] as! Int) : 1
            if key != "exact" || name == "gpt2" {
                #expect(Set(names) == Set(expected.keys), "\(name) \(key): edge names differ from the library's")
            }
            let pairs = zip(names, scores.values).compactMap { edge, value in expected[edge].map { (value, $0.floatValue * scale) } }
            #expect(pairs.count == expected.count, "\(name) \(key): edges the library scores that we do not")
            expectClose(pairs.map(\.0), pairs.map(\.1), "\(name) \(key) edge scores")
        }
    }

    @Test(arguments: models) func nodeScoresEqualTheLibrarys(name: String) throws {
        let (patching, reference) = try Self.load(name)
        let names = patching.graph.senders.map(\.name)
        for (key, expected) in reference["nodes"] as! [String: [String: NSNumber]] {
            let scores = try patching.nodeAttribution(try Self.method(key, reference))
            let scale: Float = Self.gradientMethods.contains(key) ? Float(reference["batch"] as! Int) : 1
            #expect(Set(names) == Set(expected.keys), "\(name) \(key): node names differ from the library's")
            expectClose(scores.values, names.map { expected[$0]!.floatValue * scale }, "\(name) \(key) node scores")
        }
    }

    @Test(arguments: models) func neuronScoresEqualAutograd(name: String) throws {
        let (patching, reference) = try Self.load(name)
        for (key, expected) in reference["neurons"] as! [String: [String: [NSNumber]]] {
            let scores = try patching.neuronAttribution(try Self.method(key, reference))
            #expect(scores.count == expected.count, "\(name) \(key): one row per layer")
            expectClose(scores.flatMap { $0 }, scores.indices.flatMap { expected["m\($0)"]!.map(\.floatValue) }, "\(name) \(key) neuron scores")
        }
    }

    @Test func informationFlowRoutesSumToOneIntoEachReceiver() throws {
        let (patching, _) = try Self.load("gpt2")
        let scores = try patching.edgeAttribution(.informationFlowRoutes)
        let graph = patching.graph
        var totals: [ComputationGraph.Receiver: Float] = [:]
        for (edge, score) in zip(graph.edges, scores.values) { totals[edge.receiver, default: 0] += score }
        #expect(totals.count == graph.receivers.count)
        for (receiver, total) in totals {
            #expect(Swift.abs(total - 1) < 1e-5, "\(receiver.name(groupedQuery: false)): importances sum to \(total)")
        }
    }

    /// A zero embedding makes the first layer's input zero at that position, so every proximity there is 0: the
    /// position must add nothing instead of turning the scores into 0 / 0.
    @Test func informationFlowRoutesStayFiniteWhereEveryProximityIsZero() throws {
        let model = TestModels.make(llama: true)
        var embedding = model.tokenEmbedding.dequantized()
        let width = embedding.shape[1]
        embedding = Tensor(shape: embedding.shape, scalars: embedding.scalars.enumerated().map { $0.offset / width == 3 ? 0 : $0.element })
        model.tokenEmbedding = .dense(embedding)
        let pairs = try PromptPairs(clean: [[3, 7, 1, 9], [8, 2, 2, 15]], corrupted: [[3, 7, 5, 9], [8, 13, 2, 15]],
                                    answers: [4, 6], wrongs: [5, 11])
        let scores = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff).edgeAttribution(.informationFlowRoutes)
        let values = scores.values
        #expect(values.filter { !$0.isFinite }.isEmpty, "non-finite scores")
        #expect(values.contains { $0 > 0 })
    }

    @Test func methodsAreNamedAsTheCLIAndBadInputIsRefused() throws {
        for name in EdgeAttributionMethod.names { #expect(try EdgeAttributionMethod(name: name).name == name) }
        #expect(try EdgeAttributionMethod(name: "eap-ig-activations", steps: 7) == .eapIGActivations(steps: 7))
        #expect(throws: CircuitError.self) { try EdgeAttributionMethod(name: "eap-ig-outputs") }
        #expect(throws: CircuitError.self) { try EdgeAttributionMethod(name: "exact", steps: 3) }
        #expect(throws: CircuitError.self) { try EdgeAttributionMethod(name: "eap-ig-inputs", steps: 0) }
        let (patching, _) = try Self.load("gpt2")
        #expect(throws: CircuitError.self) { try patching.edgeAttribution(.eapIGActivations(steps: 0)) }
        #expect(throws: CircuitError.self) { try patching.nodeAttribution(.informationFlowRoutes) }
        #expect(throws: CircuitError.self) { try patching.neuronAttribution(.exact) }
    }

    static func method(_ key: String, _ reference: [String: Any]) throws -> EdgeAttributionMethod {
        switch key {
        case "EAP-IG-inputs": return .eapIGInputs(steps: reference["ig_steps"] as! Int)
        case "EAP-IG-activations": return .eapIGActivations(steps: reference["activation_steps"] as! Int)
        default: return try EdgeAttributionMethod(name: key.lowercased())
        }
    }

    static func load(_ name: String) throws -> (EdgePatching, [String: Any]) {
        let checkpoints = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models")
        let model = try TransformerModel.load(Checkpoint(directory: checkpoints.appendingPathComponent(name)))
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("\(name)/eap_variants.json")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let pairs = try PromptPairs(clean: reference["clean"] as! [[Int]], corrupted: reference["corrupted"] as! [[Int]],
                                    answers: reference["answers"] as! [Int], wrongs: reference["wrongs"] as! [Int])
        return (try EdgePatching(model: model, pairs: pairs, metric: .logitDiff), reference)
    }
}

/// Expects equal counts and `|a − e| ≤ 1e-4 · max |e|` everywhere.
private func expectClose(_ actual: [Float], _ expected: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    let tolerance = 1e-4 * (expected.map { Swift.abs($0) }.max() ?? 0)
    let worst = zip(actual, expected).map { Swift.abs($0 - $1) }.max() ?? 0
    #expect(worst <= tolerance, "\(what): max |Δ| = \(worst) > \(tolerance)", sourceLocation: sourceLocation)
}
