import Foundation
import Testing
import Interp
import TestScratch

/// Sparse autoencoders in SAELens' format against SAELens 6 and torch (scripts/make_sae_fixtures.py): feature
/// activations, reconstructions, spliced logits with and without the error term, feature interventions and
/// Marks et al.'s node attribution, on the tiny GPT-2 and grouped-query Llama fixtures.
@Suite struct SparseAutoencoderTests {
    static let cases: [(String, String)] = ["standard", "jumprelu", "topk", "gated", "layer_norm", "constant_norm", "legacy", "hook_z"].map { ("gpt2", $0) }
        + ["standard", "jumprelu", "topk", "gated", "hook_z"].map { ("llama_gqa", $0) }

    @Test(arguments: cases) func matchesSAELens(model name: String, sae saeName: String) throws {
        let fixture = try SAEFixture(name)
        let sae = try fixture.sae(saeName)
        let info = fixture.info(saeName)
        let hook = info["hook"] as! String
        #expect(sae.hookName == hook)
        var x = try fixture.model.runWithCache(fixture.clean, filter: .names([hook])).cache[hook]
        if sae.configuration.flattensHeads { x = x.reshaped([x.shape[0], x.shape[1], x.shape[2] * x.shape[3]]) }
        let features = sae.encode(x)
        expectClose(features, try fixture.reference("\(saeName).acts"), "\(name) \(saeName) encode")
        expectClose(sae.decode(features, input: x), try fixture.reference("\(saeName).recons"), "\(name) \(saeName) decode")

        // Spliced without the error term: the reconstruction replaces the activation; the cache holds SAELens' features.
        let spliced = try fixture.model.trace(fixture.clean, saes: [sae], cache: .names([sae.hookName(.featureActivations)]), logitPositions: .last)
        expectClose(spliced.logits, try fixture.reference("\(saeName).logits_spliced"), "\(name) \(saeName) spliced")
        expectClose(try spliced.activations[sae.hookName(.featureActivations)], features, "\(name) \(saeName) cached features")

        // With the error term the model's output is unchanged; interventions on features change it as in SAELens.
        var kept = sae
        kept.usesErrorTerm = true
        let plain = try fixture.model.trace(fixture.clean, cache: nil, logitPositions: .last).logits
        let withError = try fixture.model.trace(fixture.clean, saes: [kept], cache: nil, logitPositions: .last).logits
        expectClose(withError, plain, "\(name) \(saeName) error term keeps the logits")
        expectClose(withError, try fixture.reference("\(saeName).logits_error"), "\(name) \(saeName) error term")
        let ablate = try Intervention.setFeature(info["ablated_feature"] as! Int, of: kept, to: 0,
                                                 positions: [info["ablated_position"] as! Int])
        let set = try Intervention.setFeature(info["set_feature"] as! Int, of: kept, to: (info["set_value"] as! NSNumber).floatValue,
                                              positions: info["set_positions"] as? [Int])
        for (intervention, key) in [(ablate, "logits_ablated"), (set, "logits_set")] {
            let logits = try fixture.model.trace(fixture.clean, saes: [kept], cache: nil, interventions: [intervention], logitPositions: .last).logits
            expectClose(logits, try fixture.reference("\(saeName).\(key)"), "\(name) \(saeName) \(key)")
        }

        let attribution = try SAEFeatureAttribution(model: fixture.model, saes: [sae], pairs: fixture.pairs, metric: fixture.metric).attribute()
        let scores = try #require(attribution.scores.first)
        expectClose(scores.features, try fixture.reference("\(saeName).attr_features"), "\(name) \(saeName) feature attribution")
        expectClose(scores.error, try fixture.reference("\(saeName).attr_error"), "\(name) \(saeName) error attribution")
        #expect(attribution.cleanValue.isApproximatelyEqual(to: (fixture.json["clean_metric"] as! NSNumber).floatValue))
        #expect(attribution.corruptedValue.isApproximatelyEqual(to: (fixture.json["corrupted_metric"] as! NSNumber).floatValue))
    }

    @Test func twoSAEsSplicedAtOnce() throws {
        let fixture = try SAEFixture("gpt2")
        let saes = [try fixture.sae("standard"), try fixture.sae("jumprelu")]
        let logits = try fixture.model.trace(fixture.clean, saes: saes, cache: nil, logitPositions: .last).logits
        expectClose(logits, try fixture.reference("pair.logits_spliced"), "standard and jumprelu spliced together")
    }

    /// Two SAEs attributed at once, each keeping its error term: the gradients reaching the earlier SAE are the
    /// model's (the later SAE passes them on unchanged), as in torch with the error recomputed from each input.
    @Test(arguments: ["gpt2", "llama_gqa"]) func twoSAEsAttributedTogether(model name: String) throws {
        let fixture = try SAEFixture(name)
        let names = ["jumprelu", "standard"]
        let attribution = try SAEFeatureAttribution(model: fixture.model, saes: try names.map(fixture.sae), pairs: fixture.pairs,
                                                    metric: fixture.metric).attribute()
        for (saeName, scores) in zip(names, attribution.scores) {
            expectClose(scores.features, try fixture.reference("pair.\(saeName).attr_features"), "\(name) joint \(saeName) features")
            expectClose(scores.error, try fixture.reference("pair.\(saeName).attr_error"), "\(name) joint \(saeName) error")
        }
    }

    @Test func topEntriesAreTheLargestScores() throws {
        // Per position: the entries by decreasing |score|, each the score at its feature (or error) and position;
        // summed over positions: every feature and the error node.
        let fixture = try SAEFixture("gpt2")
        let attribution = try SAEFeatureAttribution(model: fixture.model, saes: [try fixture.sae("standard")], pairs: fixture.pairs,
                                                    metric: fixture.metric).attribute()
        let top = attribution.top(5)
        #expect(top.count == 5 && zip(top, top.dropFirst()).allSatisfy { abs($0.score) >= abs($1.score) })
        let scores = attribution.scores[0]
        let best = top[0]
        let expected = best.feature.map { scores.features.scalars[best.position! * 24 + $0] } ?? scores.error.scalars[best.position!]
        #expect(best.score == expected && best.node.hasPrefix("blocks.1.hook_resid_pre/"))
        let totals = attribution.top(100, byPosition: false)
        #expect(totals.count == 25 && totals.contains { $0.node == "blocks.1.hook_resid_pre/error" })
    }

    @Test func featureOutOfRangeIsRefused() throws {
        let sae = try SAEFixture("gpt2").sae("standard")
        #expect(throws: SparseAutoencoderError.featureOutOfRange(hook: "blocks.1.hook_resid_pre", feature: 24, dSAE: 24)) {
            try Intervention.setFeature(24, of: sae)
        }
    }

    @Test func twoSAEsAtOneHookAreRefused() throws {
        let fixture = try SAEFixture("gpt2")
        let sae = try fixture.sae("standard")
        #expect(throws: SparseAutoencoderError.duplicateHook("blocks.1.hook_resid_pre")) {
            try fixture.model.trace(fixture.clean, saes: [sae, sae], cache: nil)
        }
    }

    @Test func widthIsCheckedWhenSplicingAnSAELoadedWithoutAModel() throws {
        let fixture = try SAEFixture("gpt2")
        try withTemporaryDirectory { directory in
            try fixture.copy("standard", to: directory, changing: "hook=blocks.0.mlp.hook_post")
            let sae = try SparseAutoencoder(contentsOf: directory)
            let error = try #require(throws: LoadingError.self) { try fixture.model.trace(fixture.clean, saes: [sae], cache: nil) }
            #expect(error.description == "SAE at 'blocks.0.mlp.hook_post': d_in 32 does not match the activation's width 128")
        }
    }

    /// (what to change, the words the error must contain)
    static let badInputs: [(String, [String])] = [
        ("architecture=transcoder", ["cfg.json", "architecture", "'transcoder'", "transcoders"]),
        ("architecture=abstopk", ["cfg.json", "architecture", "'abstopk'"]),
        ("normalize_activations=expected_average_only_in", ["cfg.json", "normalize_activations", "fold"]),
        ("normalize_activations=covariance_whitening", ["cfg.json", "normalize_activations", "'covariance_whitening'"]),
        ("reshape_activations=hook_q", ["cfg.json", "reshape_activations"]),
        ("dtype=int8", ["cfg.json", "dtype", "'int8'"]),
        ("hook=blocks.7.hook_resid_pre", ["cfg.json", "metadata.hook_name", "blocks.7.hook_resid_pre", "not a hook point"]),
        ("hook=blocks.0.attn.hook_pattern", ["cfg.json", "metadata.hook_name", "[batch, pos, d_in]"]),
        ("hook=blocks.0.mlp.hook_post", ["cfg.json", "metadata.hook_name", "d_in 32", "width 128"]),
        ("hook=", ["cfg.json", "metadata.hook_name", "missing"]),
        ("hook_head_index=2", ["cfg.json", "hook_head_index"]),
        ("d_sae=0", ["cfg.json", "d_sae"]),
        ("d_in=", ["cfg.json", "d_in", "missing"]),
        ("tensor-=b_enc", ["sae_weights.safetensors", "'b_enc'"]),
        ("tensor+=log_threshold", ["sae_weights.safetensors", "'log_threshold'", "not part of a standard SAE"]),
        ("tensor~=W_dec", ["sae_weights.safetensors", "'W_dec'", "expected shape [24, 32]", "found [32, 24]"]),
        ("tensor+=scaling_factor", ["sae_weights.safetensors", "'scaling_factor'"]),
    ]

    @Test(arguments: badInputs) func badInputIsRefusedByName(change: String, words: [String]) throws {
        let fixture = try SAEFixture("gpt2")
        try withTemporaryDirectory { directory in
            try fixture.copy("standard", to: directory, changing: change)
            let error = try #require(throws: LoadingError.self) { try SparseAutoencoder(contentsOf: directory, model: fixture.model) }
            for word in words { #expect(error.description.contains(word), "\(change): \(error.description)") }
        }
    }
}

/// An SAE fixture directory of one model, with its model and reference values.
struct SAEFixture {
    let base: ReferenceFixture
    let directory: URL
    let json: [String: Any]
    let references: SafetensorsFile

    init(_ name: String) throws {
        base = try ReferenceFixture(name)
        directory = base.directory.deletingLastPathComponent().appendingPathComponent("saes/\(name)")
        json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("reference.json"))) as! [String: Any]
        references = try SafetensorsFile(contentsOf: directory.appendingPathComponent("reference.safetensors"))
    }

    var model: TransformerModel { base.model }
    var clean: TokenBatch { base.clean }
    var pairs: PromptPairs { base.pairs }
    var metric: Metric { base.metric }

    func info(_ sae: String) -> [String: Any] { (json["saes"] as! [String: Any])[sae] as! [String: Any] }
    func sae(_ name: String) throws -> SparseAutoencoder { try SparseAutoencoder(contentsOf: directory.appendingPathComponent(name), model: model) }
    func reference(_ name: String) throws -> Tensor { try references.tensor(named: name) }

    /// Copies an SAE directory into `target` with one change: `field=value` in cfg.json (`hook=` the 6.x hook,
    /// empty value: removed), `tensor-=name` (removed), `tensor+=name` (an extra `[d_sae]` tensor of twos),
    /// `tensor~=name` (transposed).
    func copy(_ sae: String, to target: URL, changing change: String) throws {
        let source = directory.appendingPathComponent(sae)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("cfg.json"))) as! [String: Any]
        let weights = try SafetensorsFile(contentsOf: source.appendingPathComponent("sae_weights.safetensors"))
        var tensors = try Dictionary(uniqueKeysWithValues: weights.tensorNames.map { ($0, try weights.tensor(named: $0)) })
        let (key, value) = change.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init).pair
        switch key {
        case "tensor-": tensors[value] = nil
        case "tensor+": tensors[value] = Tensor(repeating: 2, shape: [24])
        case "tensor~": tensors[value] = tensors[value]!.transposed()
        case "hook":
            var metadata = config["metadata"] as! [String: Any]
            metadata["hook_name"] = value.isEmpty ? nil : value
            config["metadata"] = metadata
        default: config[key] = value.isEmpty ? nil : Int(value).map { $0 as Any } ?? value
        }
        try JSONSerialization.data(withJSONObject: config).write(to: target.appendingPathComponent("cfg.json"))
        var writer = SafetensorsWriter()
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) { writer.add(tensor, named: name) }
        try writer.write(to: target.appendingPathComponent("sae_weights.safetensors"))
    }
}

private extension Array where Element == String {
    var pair: (String, String) { (self[0], count > 1 ? self[1] : "") }
}
