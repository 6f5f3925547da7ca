import Foundation
import Testing
import TestScratch
import LanguageModels

/// Ministral 3's position-scaled queries, Ministral's and Ministral 3's defaults and refusals, and the Mistral 3
/// multimodal wrapper's reading (fixtures by scripts/make_family_fixtures.py `ministral`; logits, left padding, KV
/// cache and hook structure are in ``FamilyTests``).
@Suite struct MinistralTests {
    /// The 12-token batch of the fixture `name`.
    static func batch(_ name: String) throws -> [[Int]] {
        (try Fixtures.reference(name)["batch"] as! [String: Any])["input_ids"] as! [[Int]]
    }

    /// Gradients of `logits[:, -1, 5] - logits[:, -1, 9]` (summed over the batch) with respect to each block's input
    /// match torch autograd, through the queries scaled at positions 8-11.
    @Test func gradientsThroughScaledQueriesMatchTorchAutograd() throws {
        let reference = try Fixtures.reference("ministral3")["gradients"] as! [String: Any]
        let model = try Fixtures.model("ministral3")
        let batch = TokenBatch(try Self.batch("ministral3"))
        let (metric, gradients) = withGradients { tape -> (Float, [String: Tensor]) in
            let hooks = ForwardHooks()
            let watched = WatchedActivations((0..<model.layerCount).map { HookPoint.residPre($0).name }, hooks: hooks, tape: tape)
            let last = model.forward(batch, hooks: hooks).slice(axis: 1, 11..<12)
            let value = (last.slice(axis: 2, 5..<6) - last.slice(axis: 2, 9..<10)).sum()
            return (value.scalars[0], watched.gradients(of: value, on: tape))
        }
        #expect(Swift.abs(metric - Float(reference["metric"] as! Double)) < 1e-4)
        for (l, expected) in (reference["resid_pre"] as! [Any]).enumerated() {
            let theirs = flatFloats(expected), ours = gradients[HookPoint.residPre(l).name]!.scalars
            let scale = theirs.map(Swift.abs).max()!
            let worst = zip(ours, theirs).map { Swift.abs($0 - $1) }.max()!
            #expect(scale > 1e-3 && worst <= 1e-4 * scale, "layer \(l): max |Δ gradient| \(worst) at scale \(scale)")
        }
    }

    /// Without the query scaling the logits stay transformers' within the original context (positions 0-7) and leave
    /// them beyond it: the fixture exercises the scaling.
    @Test func queryScalingActsBeyondTheOriginalContextOnly() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("ministral3"))
        var configuration = checkpoint.configuration
        guard case .rotary(var rotary) = configuration.positionEncoding else { Issue.record("no rotary"); return }
        #expect(rotary.queryScaling == QueryPositionScaling(beta: 0.5, originalMaxPositionEmbeddings: 8))
        rotary.queryScaling = nil
        configuration.positionEncoding = .rotary(rotary)
        let unscaled = try TransformerModel.build(configuration, weights: checkpoint.weights)
        let expected = flatFloats((try Fixtures.reference("ministral3")["batch"] as! [String: Any])["logits"]!)
        let logits = unscaled.forward(TokenBatch(try Self.batch("ministral3")))
        let vocab = unscaled.vocabularySize
        var within: Float = 0, beyond: Float = 0
        for (i, value) in logits.scalars.enumerated() {
            let difference = Swift.abs(value - expected[i])
            if (i / vocab) % 12 < 8 { within = Swift.max(within, difference) } else { beyond = Swift.max(beyond, difference) }
        }
        #expect(within <= 1e-4 && beyond > 0.05, "within \(within), beyond \(beyond)")
    }

    /// A left-padded row whose real positions cross the original context (0-9 after two pads) gives transformers'
    /// logits of the same tokens unpadded (the batch's first row, causal prefix), with and without the KV cache.
    @Test func leftPaddedRowCrossingTheOriginalContext() throws {
        let model = try Fixtures.model("ministral3")
        let row = try Self.batch("ministral3")[0]
        let expected = flatFloats((try Fixtures.reference("ministral3")["batch"] as! [String: Any])["logits"]!)
        let vocab = model.vocabularySize
        let ids = [[0, 0] + Array(row.prefix(10)), row]
        let mask = [[false, false] + Array(repeating: true, count: 10), Array(repeating: true, count: 12)]
        let full = model.forward(TokenBatch(tokens: ids, mask: mask))
        let cache = KeyValueCache(layerCount: model.layerCount)
        var steps = [model.forward(TokenBatch(tokens: ids.map { Array($0.prefix(5)) }, mask: mask.map { Array($0.prefix(5)) }), cache: cache)]
        for p in 5..<12 {
            steps.append(model.forward(TokenBatch(tokens: ids.map { [$0[p]] }, mask: mask.map { [$0[p]] }), cache: cache))
        }
        let cached = Tensor.concatenate(steps, axis: 1)
        var worst: Float = 0
        for p in 0..<10 {
            for v in 0..<vocab {
                let theirs = expected[p * vocab + v], i = (2 + p) * vocab + v
                worst = Swift.max(worst, Swift.abs(full.scalars[i] - theirs), Swift.abs(cached.scalars[i] - theirs))
            }
        }
        #expect(worst <= 1e-4, "max |Δ logits| \(worst)")
    }

    static func edited(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        try FamilyConfigurationErrorTests.edited(name, edit)
    }

    /// transformers' Ministral3Config defaults: without rope_parameters, YaRN (factor 16, original context 16384,
    /// base 1e6, attention factor 1) with query scaling 0.1; head_dim 128, 8 key-value heads, eps 1e-5.
    @Test func ministral3Defaults() throws {
        let data = try Self.edited("ministral3") {
            for key in ["rope_parameters", "head_dim", "num_key_value_heads", "rms_norm_eps", "max_position_embeddings"] {
                $0.removeValue(forKey: key)
            }
            $0["num_attention_heads"] = 16
        }
        let c = try ModelConfiguration(json: data)
        #expect(c.family == .llama(.ministral3) && c.dHead == 128 && c.nKVHeads == 8 && c.normEpsilon == 1e-5)
        #expect(c.maxPositions == 262_144 && c.slidingWindows.allSatisfy { $0 == nil })
        let rotary = try #require(c.rotary(layer: 0))
        #expect(rotary.base == 1_000_000 && rotary.attentionFactor == 1)
        #expect(rotary.scaling == .yarn(factor: 16, originalMaxPositionEmbeddings: 16_384, betaFast: 32, betaSlow: 1,
                                        truncate: true, attentionFactor: 1))
        #expect(rotary.queryScaling == QueryPositionScaling(beta: 0.1, originalMaxPositionEmbeddings: 16_384))
        #expect(c.optionsInForce.contains("queries x (1 + 0.1 ln(1 + floor(position / 16384)))"))
        // YaRN without its own original context takes max_position_embeddings, for the query scaling too.
        let yarn = try ModelConfiguration(json: try Self.edited("ministral3") {
            var parameters = $0["rope_parameters"] as! [String: Any]
            parameters.removeValue(forKey: "original_max_position_embeddings")
            $0["rope_parameters"] = parameters
        })
        #expect(yarn.rotary(layer: 0)?.queryScaling?.originalMaxPositionEmbeddings == 64)
    }

    /// What transformers 5's `AutoConfig` reads from a Mistral-line file without `sliding_window` or
    /// `num_key_value_heads` (checked with transformers 5.25): Mistral and Ministral default the window to 4096
    /// (Ministral on every layer), an explicit null is no window; Mistral, Mixtral and Ministral default to 8 key-value
    /// heads.
    @Test func mistralLineDefaultsOfAbsentFields() throws {
        func configuration(_ name: String, _ edit: @escaping (inout [String: Any]) -> Void) throws -> ModelConfiguration {
            try ModelConfiguration(json: try Self.edited(name) {
                $0.removeValue(forKey: "num_key_value_heads")
                $0["num_attention_heads"] = 16
                $0["head_dim"] = 2
                edit(&$0)
            })
        }
        let mistral = try configuration("mistral") { $0.removeValue(forKey: "sliding_window") }
        #expect(mistral.nKVHeads == 8 && mistral.slidingWindows.allSatisfy { $0 == 4096 })
        #expect(try configuration("mistral") { $0["sliding_window"] = NSNull() }.slidingWindows.allSatisfy { $0 == nil })
        let ministral = try configuration("ministral") {
            $0.removeValue(forKey: "sliding_window")
            $0.removeValue(forKey: "layer_types")
        }
        #expect(ministral.nKVHeads == 8 && ministral.slidingWindows == [4096, 4096, 4096])
        let mixtral = try configuration("mixtral") { $0.removeValue(forKey: "sliding_window") }
        #expect(mixtral.nKVHeads == 8 && mixtral.slidingWindows.allSatisfy { $0 == nil })
        // The same inside a Mistral 3 wrapper's text_config.
        let wrapped = try ModelConfiguration(json: try Self.edited("mistral3_mistral") {
            var text = $0["text_config"] as! [String: Any]
            text.removeValue(forKey: "sliding_window")
            $0["text_config"] = text
        })
        #expect(wrapped.slidingWindows.allSatisfy { $0 == 4096 })
    }

    /// The queries' factors are transformers' `1 + beta · log(1 + floor(p / original))` (values from torch).
    @Test func queryFactorsMatchTorch() {
        let scaling = QueryPositionScaling(beta: 0.1, originalMaxPositionEmbeddings: 8)
        let torch: [(Int, Float)] = [(0, 1), (7, 1), (8, 1.06931471824646), (15, 1.06931471824646), (16, 1.1098612546920776),
                                     (24, 1.13862943649292), (100, 1.2564949989318848)]
        for (position, factor) in torch {
            #expect(Swift.abs(scaling.factor(position: position) - factor) <= 1e-7, "position \(position)")
        }
    }

    @Test func refusesWhatTransformersCannotRun() throws {
        let cases: [(String, (inout [String: Any]) -> Void, [String])] = [
            ("ministral3", { $0["rope_parameters"] = ["rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0] },
             ["rope_parameters.llama_4_scaling_beta is missing"]),
            ("ministral3", { $0["rope_parameters"] = ["rope_type": "default", "rope_theta": 10000.0, "llama_4_scaling_beta": 0.1] },
             ["rope_parameters.original_max_position_embeddings is missing"]),
            ("ministral3", { $0["original_max_position_embeddings"] = 16 }, ["original_max_position_embeddings", "top level"]),
            ("ministral3", { $0["rope_parameters"] = ["rope_type": "default", "rope_theta": 10000.0, "llama_4_scaling_beta": 0.1,
                                                      "original_max_position_embeddings": 0] },
             ["rope_parameters.original_max_position_embeddings", "must be positive"]),
            ("ministral", { $0.removeValue(forKey: "head_dim") }, ["head_dim is missing"]),
            ("ministral", { $0["layer_types"] = ["sliding_attention", "full_attention"] }, ["layer_types", "2 entries for 3 layers"]),
            ("ministral", { $0["sliding_window"] = NSNull() }, ["sliding_window is null", "layer 0"]),
            // The official Ministral 3 releases are FP8 (transformers' FineGrainedFP8, read); malformed settings are refused.
            ("mistral3_ministral3", { $0["quantization_config"] = ["quant_method": "fp8", "weight_block_size": [128]] },
             ["quantization_config.weight_block_size [128] must be two positive integers or null"]),
            ("mistral3_ministral3", { $0["text_config"] = ["model_type": "llama"] }, ["text_config.model_type", "'llama'"]),
            ("mistral3_ministral3", { $0.removeValue(forKey: "text_config") }, ["text_config is missing"]),
            ("mistral3_ministral3", {
                var text = $0["text_config"] as! [String: Any]
                text.removeValue(forKey: "rope_parameters")
                text["rope_scaling"] = ["rope_type": "yarn", "factor": 2.0]
                $0["text_config"] = text
            }, ["text_config", "rope_scaling.llama_4_scaling_beta is missing"]),
        ]
        for (name, edit, fragments) in cases {
            let data = try Self.edited(name, edit)
            expectLoadingError(containing: ["config.json"] + fragments) { _ = try ModelConfiguration(json: data) }
        }
    }

    /// The wrapper's `tie_word_embeddings` defaults to true (absent in the hub layout), yet a checkpoint with its own
    /// `lm_head` keeps it, as transformers 5 loads it; one without `lm_head` is tied.
    @Test func mistral3TyingFollowsTheCheckpoint() throws {
        let hub = try ModelConfiguration(contentsOf: Fixtures.directory("mistral3_ministral3"))
        #expect(hub.multimodalWrapper == "mistral3" && hub.family == .llama(.ministral3) && hub.tiedEmbeddings)
        #expect(try !Checkpoint(directory: Fixtures.directory("mistral3_ministral3")).configuration.tiedEmbeddings)
        let tied = try Checkpoint(directory: Fixtures.directory("mistral3_mistral")).configuration
        #expect(tied.multimodalWrapper == "mistral3" && tied.family == .llama(.mistral) && tied.tiedEmbeddings)
        // A text_config without model_type is a Mistral model.
        let untyped = try ModelConfiguration(json: try Self.edited("mistral3_mistral") {
            var text = $0["text_config"] as! [String: Any]
            text.removeValue(forKey: "model_type")
            $0["text_config"] = text
        })
        #expect(untyped.family == .llama(.mistral))
    }

    /// The language model of a Mistral 3 checkpoint exports as a text-only `ministral3` checkpoint with the same
    /// logits; Ministral 3's rotary settings are written as one `rope_parameters` object with its query scaling.
    @Test func mistral3LanguageModelExportsAsMinistral3() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("mistral3_ministral3"))
        let model = try TransformerModel.load(checkpoint)
        try withTemporaryDirectory { directory in
            try model.save(to: directory, configuration: checkpoint.configuration)
            var expected = checkpoint.configuration
            expected.dtype = "float32"
            expected.multimodalWrapper = nil
            #expect(try ModelConfiguration(contentsOf: directory) == expected)
            let written = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as! [String: Any]
            let parameters = written["rope_parameters"] as! [String: Any]
            #expect(written["model_type"] as? String == "ministral3" && parameters["llama_4_scaling_beta"] as? Double == 0.3)
            let reloaded = try TransformerModel.load(Checkpoint(directory: directory))
            let batch = TokenBatch(try Self.batch("mistral3_ministral3"))
            #expect(reloaded.forward(batch) == model.forward(batch))
        }
    }
}
