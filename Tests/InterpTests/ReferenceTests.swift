import Foundation
import Testing
import Interp

/// Our activations, direct logit attribution, activation patching and attribution patching against
/// TransformerLens 3.9 and torch autograd on the tiny checkpoint fixtures (scripts/make_interp_references.py).
///
/// Every comparison allows `1e-4 * max(1, max |expected|)` per tensor or sweep. Known semantic differences,
/// each checked rather than hidden:
/// - `attn.hook_attn_scores`: both mask with `-inf`; the masked entries must agree exactly, finite ones within tolerance.
/// - `ln1.hook_scale` / `ln1.hook_normalized` with split q/k/v inputs: TransformerLens normalizes each head's copy
///   (q, then k, then v) and its cache keeps the last call, the value input's: `[batch, pos, kvHeads, ...]`. So does
///   ours. With the standard filter (no split inputs) they are `[batch, pos, 1]` and are compared with a second
///   TransformerLens model without split inputs (`standard/...` entries).
/// - Grouped-query attention: TransformerLens 3.9 keeps `hook_k` / `hook_v` (and `hook_rot_k`, the k/v inputs) at
///   `n_key_value_heads`, as we do; the key-value heads are compared directly.
/// - Direct logit attribution: TransformerLens' `logit_attrs` is exact only with folded norms, so the reference
///   comes from a second model loaded with `fold_ln=True` (gain folded into `W_U`, the final norm's bias into
///   `b_U`); our contributions apply the gain inside each component and report the bias as `biasTerm`.
@Suite struct InterpReferenceTests {
    static let models = ["gpt2", "llama_gqa", "qwen2"]

    @Test(arguments: models) func everyHookMatchesTransformerLens(name: String) throws {
        let fixture = try ReferenceFixture(name)
        let cache = try SafetensorsFile(contentsOf: fixture.directory.appendingPathComponent("cache.safetensors"))
        #expect(fixture.model.hookNames == fixture.json["hook_names"] as! [String], "\(name): hook point lists differ")
        let (logits, ours) = try fixture.model.runWithCache(fixture.clean, filter: .all)
        expectClose(logits, try cache.tensor(named: "logits"), "\(name) logits")
        for hook in fixture.model.hookNames {
            let expected = try cache.tensor(named: hook)
            let actual = try ours.activation(hook)
            #expect(actual.shape == expected.shape, "\(name) \(hook): shape \(actual.shape) vs \(expected.shape)")
            guard actual.shape == expected.shape else { continue }
            if hook.hasSuffix("hook_attn_scores") {
                let masked = expected.scalars.map { $0 == -.infinity }
                #expect(actual.scalars.map { $0 == -.infinity } == masked, "\(name) \(hook): masked entries differ")
                let finite = masked.indices.filter { !masked[$0] }
                expectClose(finite.map { actual.scalars[$0] }, finite.map { expected.scalars[$0] }, "\(name) \(hook)")
            } else {
                expectClose(actual, expected, "\(name) \(hook)")
            }
        }
        let (_, standard) = try fixture.model.runWithCache(fixture.clean, filter: .standard)
        for l in 0..<fixture.model.layerCount {
            for hook in ["blocks.\(l).ln1.hook_scale", "blocks.\(l).ln1.hook_normalized"] {
                let expected = try cache.tensor(named: "standard/" + hook)
                let actual = try standard.activation(hook)
                #expect(actual.shape == expected.shape, "\(name) standard \(hook): shape \(actual.shape) vs \(expected.shape)")
                expectClose(actual, expected, "\(name) standard \(hook)")
            }
        }
    }

    @Test(arguments: models) func directLogitAttributionMatchesFoldedTransformerLens(name: String) throws {
        let fixture = try ReferenceFixture(name)
        let reference = fixture.json["dla"] as! [String: Any]
        let target = reference["target"] as! Int, wrong = reference["wrong"] as! Int
        for (key, logitTarget) in [("token", LogitTarget.token(target)), ("difference", .difference(answer: target, wrong: wrong))] {
            let expected = reference[key] as! [String: Any]
            let components = expected["components"] as! [String: Any]
            let dla = try fixture.model.directLogitAttribution(fixture.clean, target: logitTarget, position: -1)
            let attentionOutputs = components.keys.filter { $0.hasSuffix("_attn_out") }
            #expect(Set(dla.labels) == Set(components.keys).subtracting(attentionOutputs), "\(name) \(key): component labels differ")
            for (index, label) in dla.labels.enumerated() {
                guard let value = components[label] else { continue }
                expectClose(dla.contributions.select(axis: 0, index).scalars, flatFloats(value), "\(name) DLA \(key) \(label)")
            }
            for l in 0..<fixture.model.layerCount {
                let labels = (0..<fixture.model.headCount).map { "L\(l)H\($0)" } + ["\(l)_attn_bias"]
                let summed = labels.compactMap { dla.labels.firstIndex(of: $0) }
                    .map { dla.contributions.select(axis: 0, $0) }.reduce(Tensor.zeros([fixture.clean.batchSize]), +)
                expectClose(summed.scalars, flatFloats(components["\(l)_attn_out"]!), "\(name) DLA \(key) \(l)_attn_out")
            }
            expectClose(dla.biasTerm, flatFloats(expected["bias_term"]!), "\(name) DLA \(key) bias term")
            expectClose(dla.logits, flatFloats(expected["logits"]!), "\(name) DLA \(key) logits")
        }
    }

    /// Sweep keys of the fixture: component, then the granularity when it is not `.standard`.
    static let sweeps: [(String, PatchComponent, PatchGranularity)] = [
        ("resid_pre", .residPre, .standard), ("resid_mid", .residMid, .standard), ("resid_post", .residPost, .standard),
        ("attn_out", .attnOut, .standard), ("mlp_out", .mlpOut, .standard),
        ("head_out", .headOut, .standard), ("head_out/byPosition", .headOut, .byPosition),
        ("q", .q, .standard), ("k", .k, .standard), ("v", .v, .standard),
        ("q/byPosition", .q, .byPosition), ("k/byPosition", .k, .byPosition), ("v/byPosition", .v, .byPosition),
        ("pattern", .pattern, .standard), ("pattern/destinationSource", .pattern, .destinationSource),
    ]

    @Test(arguments: models) func activationPatchingMatchesTransformerLensPatching(name: String) throws {
        let fixture = try ReferenceFixture(name)
        let reference = fixture.json["patching"] as! [String: Any]
        let denoising = try ActivationPatching(model: fixture.model, pairs: fixture.pairs, metric: fixture.metric)
        expectClose([denoising.cleanValue, denoising.corruptedValue],
                    [flatFloats(reference["clean_value"]!)[0], flatFloats(reference["corrupted_value"]!)[0]], "\(name) unpatched metrics")
        for (key, component, granularity) in Self.sweeps {
            let result = try denoising.sweep(component, granularity: granularity)
            expectClose(result.values, flatFloats(reference[key]!), "\(name) patching \(key)")
        }
        let noising = try ActivationPatching(model: fixture.model, pairs: fixture.pairs, metric: fixture.metric, direction: .noising)
        for (key, component) in [("resid_pre", PatchComponent.residPre), ("head_out", .headOut), ("pattern", .pattern)] {
            let result = try noising.sweep(component)
            expectClose(result.values, flatFloats(reference["noising/" + key]!), "\(name) noising \(key)")
        }
    }

    @Test(arguments: models) func attributionPatchingMatchesAutograd(name: String) throws {
        let fixture = try ReferenceFixture(name)
        let reference = fixture.json["attribution"] as! [String: Any]
        let attribution = AttributionPatching(model: fixture.model, pairs: fixture.pairs, metric: fixture.metric, direction: .noising)
        let sweeps = Self.sweeps.filter { key, _, _ in reference[key] != nil }
        #expect(sweeps.count == reference.count - 1, "\(name): some attribution references are not checked")
        for granularity in [PatchGranularity.standard, .byPosition, .destinationSource] {
            let chosen = sweeps.filter { $0.2 == granularity }
            let results = try attribution.attribute(chosen.map(\.1), granularity: granularity)
            for ((key, _, _), result) in zip(chosen, results) {
                expectClose([result.cleanValue], flatFloats(reference["clean_value"]!), "\(name) attribution clean metric")
                expectClose(result.values, flatFloats(reference[key]!), "\(name) attribution \(key)")
            }
        }
    }
}

/// One model's reference fixture: the checkpoint (read in place from the LanguageModels test fixtures), the
/// prompt pairs and the JSON references.
struct ReferenceFixture {
    let model: TransformerModel
    let json: [String: Any]
    let directory: URL
    let pairs: PromptPairs

    init(_ name: String) throws {
        let checkpoints = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models")
        model = try TransformerModel.load(Checkpoint(directory: checkpoints.appendingPathComponent(name)))
        directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
        json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("reference.json"))) as! [String: Any]
        pairs = try PromptPairs(clean: json["clean"] as! [[Int]], corrupted: json["corrupted"] as! [[Int]],
                                answers: json["answers"] as! [Int], wrongs: json["wrongs"] as! [Int])
    }

    var clean: TokenBatch { pairs.clean }
    var metric: Metric { .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs) }
}

/// JSON numbers (nested arrays) as a flat Float array.
func flatFloats(_ value: Any) -> [Float] {
    if let array = value as? [Any] { return array.flatMap(flatFloats) }
    return [(value as! NSNumber).floatValue]
}

/// Expects equal counts and `|a - e| <= 1e-4 * max(1, max |e|)` everywhere.
func expectClose(_ actual: [Float], _ expected: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    let tolerance = 1e-4 * Swift.max(1, expected.map { Swift.abs($0) }.max() ?? 0)
    let worst = zip(actual, expected).map { Swift.abs($0 - $1) }.max() ?? 0
    #expect(worst <= tolerance, "\(what): max |Δ| = \(worst) > \(tolerance)", sourceLocation: sourceLocation)
}

func expectClose(_ actual: Tensor, _ expected: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(actual.scalars, expected.scalars, what, sourceLocation: sourceLocation)
}
