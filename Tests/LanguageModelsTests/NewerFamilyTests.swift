import Foundation
import Testing
import TestScratch
import Tensors
import LanguageModels

/// OLMo-3, SmolLM3 and the Gemma-3 multimodal wrapper beyond what ``FamilyTests`` compares with transformers:
/// transformers' defaults and layouts, malformed files refused by name, and the wrapper's text-only loading.
@Suite struct NewerFamilyTests {
    static func configuration(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> ModelConfiguration {
        try ModelConfiguration(json: FamilyConfigurationErrorTests.edited(name, edit))
    }

    @Test func refusesMalformedConfigs() throws {
        let types = ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]
        let cases: [(String, (inout [String: Any]) -> Void, [String])] = [
            ("olmo3", { $0["layer_types"] = ["sliding_attention", "full_attention"] }, ["layer_types", "2 entries for 4 layers"]),
            ("olmo3", { $0["layer_types"] = Array(types.dropLast()) + ["chunked_attention"] }, ["layer_types[3]", "'chunked_attention'"]),
            ("olmo3", { $0["sliding_window"] = NSNull() }, ["sliding_window is null", "layer 0 is a sliding_attention layer"]),
            ("olmo3", { $0["sliding_window"] = 0 }, ["sliding_window must be positive"]),
            ("olmo3", { $0["rope_parameters"] = ["rope_type": "default", "rope_theta": 10000.0] },
             ["rope_parameters must be keyed by layer type"]),
            ("olmo3", { $0["rope_parameters"] = ["full_attention": ["rope_type": "default", "rope_theta": 10000.0]] },
             ["rope_scaling is not supported next to rope_parameters.full_attention"]),
            ("olmo3", { $0["rope_scaling"] = ["rope_type": "default", "partial_rotary_factor": 0.5] },
             ["rope_scaling.partial_rotary_factor", "OLMo-3 rotates whole heads"]),
            ("olmo3", { $0["rope_scaling"] = ["rope_type": "longrope", "factor": 2.0] }, ["rope_scaling.rope_type", "'longrope'"]),
            ("smollm3", { $0["no_rope_layers"] = [1, 0] }, ["no_rope_layers", "2 entries for 4 layers"]),
            ("smollm3", { $0["no_rope_layers"] = [1, 2, 1, 1] }, ["no_rope_layers[1]", "must be 0 (NoPE) or 1 (rotary), found 2"]),
            ("smollm3", { $0["no_rope_layer_interval"] = 0 }, ["no_rope_layer_interval must be positive"]),
            ("smollm3", { $0["layer_types"] = types; $0["sliding_window"] = NSNull() }, ["sliding_window is null", "layer 0"]),
            ("smollm3", { $0["rope_parameters"] = ["rope_type": "default", "partial_rotary_factor": 0.5] },
             ["partial_rotary_factor", "rotates whole heads"]),
            ("gemma3_multimodal", { $0.removeValue(forKey: "text_config") }, ["text_config is missing"]),
            ("gemma3_multimodal", { $0["text_config"] = ["model_type": "llama"] }, ["text_config.model_type", "'llama' is not gemma3_text"]),
            ("gemma3_multimodal", { Self.editText(&$0) { $0["hidden_size"] = "wide" } }, ["text_config:", "hidden_size"]),
            ("gemma3_multimodal", { Self.editText(&$0) { $0["sliding_window"] = 0 } }, ["text_config", "sliding_window must be positive"]),
            ("gemma3_multimodal", { Self.editText(&$0) { $0["num_hidden_layers"] = 0 } }, ["text_config: num_hidden_layers must be positive"]),
        ]
        for (name, edit, fragments) in cases {
            let data = try FamilyConfigurationErrorTests.edited(name, edit)
            expectLoadingError(containing: ["config.json"] + fragments) { _ = try ModelConfiguration(json: data) }
        }
    }

    static func editText(_ object: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var text = object["text_config"] as! [String: Any]
        edit(&text)
        object["text_config"] = text
    }

    /// transformers' Olmo3Config without layer_types, sliding_window and rotary fields: every fourth layer full,
    /// window 4096, base 500000 everywhere; rope_parameters keyed by layer type (as transformers 5 writes it)
    /// decodes like the fixture's older layout.
    @Test func olmo3DefaultsAndLayoutsFollowTransformers() throws {
        let bare = try Self.configuration("olmo3") {
            for key in ["layer_types", "sliding_window", "rope_theta", "rope_scaling", "num_hidden_layers"] { $0.removeValue(forKey: key) }
            $0["num_hidden_layers"] = 8
        }
        #expect(bare.slidingWindows == [4096, 4096, 4096, nil, 4096, 4096, 4096, nil])
        #expect(bare.rotary(layer: 0)?.base == 500_000 && bare.rotary(layer: 3)?.base == 500_000)
        #expect(bare.normEpsilon == 1e-6 && !bare.tiedEmbeddings && bare.qkNorm)

        let fixture = try ModelConfiguration(contentsOf: Fixtures.directory("olmo3"))
        let newer = try Self.configuration("olmo3") {
            let scaling = $0.removeValue(forKey: "rope_scaling") as! [String: Any]
            let theta = $0.removeValue(forKey: "rope_theta")!
            $0["rope_parameters"] = ["full_attention": scaling.merging(["rope_theta": theta]) { $1 },
                                     "sliding_attention": ["rope_type": "default", "rope_theta": 500000.0]]
            $0["layer_types"] = ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]
        }
        #expect(newer == fixture)
        #expect(fixture.optionsInForce.contains("sliding window 4 on layers 0,1,2"))
        #expect(fixture.optionsInForce.contains("q/k norms over all heads"))
    }

    /// Explicit no_rope_layers and layer_types decode like the interval they follow from; transformers' SmolLM3
    /// defaults (4 key-value heads, tied embeddings, base 2000000, a NoPE layer every 4th, no windows).
    @Test func smolLM3ListsAndDefaultsFollowTransformers() throws {
        let fixture = try ModelConfiguration(contentsOf: Fixtures.directory("smollm3"))
        #expect(fixture.noRotaryLayers == [1, 3] && fixture.slidingWindows == [nil, 4, nil, 4])
        let explicit = try Self.configuration("smollm3") {
            $0["no_rope_layers"] = [1, 0, 1, 0, 1, 1]
            $0["layer_types"] = ["full_attention", "sliding_attention", "full_attention", "sliding_attention"]
            $0["no_rope_layer_interval"] = 3
        }
        #expect(explicit == fixture)
        let unwindowed = try Self.configuration("smollm3") { $0["use_sliding_window"] = false }
        #expect(unwindowed.slidingWindows == [nil, nil, nil, nil] && unwindowed.noRotaryLayers == [1, 3])

        let bare = try Self.configuration("smollm3") {
            for key in ["num_key_value_heads", "tie_word_embeddings", "rope_parameters", "no_rope_layer_interval",
                        "use_sliding_window", "sliding_window", "max_position_embeddings"] { $0.removeValue(forKey: key) }
            $0["num_attention_heads"] = 8
        }
        #expect(bare.nKVHeads == 4 && bare.tiedEmbeddings && bare.maxPositions == 32_768)
        #expect(bare.noRotaryLayers == [3] && bare.slidingWindows == [nil, nil, nil, nil])
        #expect(bare.rotary(layer: 0)?.base == 2_000_000 && bare.rotary(layer: 3) == nil)
        #expect(fixture.optionsInForce.contains("no rotary (NoPE) on layers 1,3"))
    }

    /// The wrapper's language model is the gemma3_text model its text_config describes, with transformers'
    /// Gemma3TextConfig defaults for the fields the hub's files leave out and the wrapper's tied embeddings and
    /// EOS ids.
    @Test func gemma3WrapperDescribesItsTextModel() throws {
        let wrapper = try ModelConfiguration(contentsOf: Fixtures.directory("gemma3_multimodal"))
        #expect(wrapper.family == .gemma(.gemma3Text) && wrapper.multimodalWrapper == "gemma3")
        #expect(wrapper.nHeads == 8 && wrapper.nKVHeads == 4 && wrapper.dHead == 8 && wrapper.tiedEmbeddings)
        #expect(wrapper.eosTokenIDs == [2, 3] && wrapper.bosTokenIDs == [1])
        #expect(wrapper.slidingWindows == [4, nil])
        #expect(wrapper.rotary(layer: 0)?.base == 10_000 && wrapper.rotary(layer: 1)?.scaling == .linear(factor: 4))
        #expect(wrapper.optionsInForce.first == "language model of a gemma3 multimodal checkpoint (vision tower not loaded)")
        #expect(ModelConfiguration.supportedModelTypes.contains("gemma3"))
    }

    /// A weight source that records the names looked up.
    final class RecordingWeights: WeightSource {
        let base: WeightStore
        var names: [String] = []
        init(_ base: WeightStore) { self.base = base }
        func has(_ name: String) -> Bool { base.has(name) }
        func tensor(named name: String, shape: [Int]) throws -> Tensor {
            names.append(name)
            return try base.tensor(named: name, shape: shape)
        }
        func weightMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> WeightMatrix {
            names.append(module)
            return try base.weightMatrix(module: module, shape: shape, quantization: quantization)
        }
    }

    /// Only the language model's tensors are read; the vision tower's and projector's are not.
    @Test func gemma3WrapperReadsOnlyTheLanguageModel() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("gemma3_multimodal"))
        #expect(checkpoint.weights.tensorNames.contains { $0.hasPrefix("vision_tower.") })
        let recording = RecordingWeights(checkpoint.weights)
        _ = try TransformerModel.build(checkpoint.configuration, weights: recording)
        #expect(!recording.names.isEmpty && recording.names.allSatisfy { $0.hasPrefix("language_model.model.") })
    }

    /// The layout transformers 5 writes (`model.language_model.*`, `model.vision_tower.*`) loads to the same logits
    /// as the hub layout of the fixture.
    @Test func gemma3WrapperReadsTheTransformers5Layout() throws {
        let hub = try Checkpoint(directory: Fixtures.directory("gemma3_multimodal"))
        try withTemporaryDirectory { directory in
            var writer = SafetensorsWriter(metadata: ["format": "pt"])
            for name in hub.weights.tensorNames {
                let renamed = name.hasPrefix("language_model.model.")
                    ? "model.language_model." + name.dropFirst("language_model.model.".count) : "model." + name
                writer.add(try hub.weights.tensor(named: name), named: renamed)
            }
            try writer.write(to: directory.appendingPathComponent("model.safetensors"))
            try FileManager.default.copyItem(at: Fixtures.directory("gemma3_multimodal").appendingPathComponent("config.json"),
                                             to: directory.appendingPathComponent("config.json"))
            let batch = TokenBatch([[3, 1, 4, 1, 5, 9, 2, 6]])
            let newer = try TransformerModel.load(Checkpoint(directory: directory)).forward(batch)
            #expect(newer == (try TransformerModel.load(hub).forward(batch)))
        }
    }

    /// Saving the wrapper's language model writes a text-only gemma3_text checkpoint with the same logits.
    @Test func gemma3WrapperSavesItsTextModel() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("gemma3_multimodal"))
        let model = try TransformerModel.load(checkpoint)
        try withTemporaryDirectory { directory in
            try model.save(to: directory, configuration: checkpoint.configuration)
            var expected = checkpoint.configuration
            expected.multimodalWrapper = nil
            expected.dtype = "float32"
            #expect(try ModelConfiguration(contentsOf: directory) == expected)
            let batch = TokenBatch([[3, 1, 4, 1, 5, 9, 2, 6]])
            #expect(try TransformerModel.load(Checkpoint(directory: directory)).forward(batch) == model.forward(batch))
        }
    }
}

extension NewerFamilyTests {
    /// SmolLM3's NoPE layers publish and fire no rotary hook points; the others do.
    @Test func noPELayersHaveNoRotaryHooks() throws {
        let model = try Fixtures.model("smollm3")
        let hooks = ForwardHooks()
        hooks.cache { $0.contains("hook_rot_") }
        _ = model.forward(TokenBatch([[5, 6, 7, 8]]), hooks: hooks)
        for l in 0..<4 {
            let name = "blocks.\(l).attn.hook_rot_q"
            #expect(model.hookNames.contains(name) == (l % 2 == 0) && (hooks.cached[name] != nil) == (l % 2 == 0), "\(name)")
        }
    }
}

extension NewerFamilyTests {
    /// A `smollm3` GGUF file as convert_hf_to_gguf writes it (scripts/make_gguf_fixtures.py smollm3): the 4th layer
    /// without rotary, as llama.cpp places it, and q/k rows un-permuted; logits equal those of transformers'
    /// SmolLM3ForCausalLM the file was written from.
    @Test func smolLM3GGUFMatchesTransformers() throws {
        let url = GGUFTests.directory.appendingPathComponent("smollm3.gguf")
        let lm = try LanguageModel.load(from: url)
        #expect(lm.configuration.family == .llama(.smollm3) && lm.configuration.noRotaryLayers == [3])
        #expect(lm.configuration.tiedEmbeddings && lm.configuration.nKVHeads == 2 && lm.configuration.rotary(layer: 0)?.base == 500)
        let reference = try JSONSerialization.jsonObject(
            with: Data(contentsOf: GGUFTests.directory.appendingPathComponent("smollm3_reference.json"))) as! [String: Any]
        let ids = reference["input_ids"] as! [[Int]]
        expectLogits(lm.model.forward(TokenBatch(ids)), match: flatFloats(reference["logits"]!), "smollm3.gguf")
    }
}

extension NewerFamilyTests {
    /// The config.json layouts of allenai/Olmo-3-7B, HuggingFaceTB/SmolLM3-3B and google/gemma-3-4b-it (their
    /// architecture fields; the long per-layer lists are built here) decode to what transformers 5.25 derives from
    /// them (`Olmo3Config`, `SmolLM3Config`, `Gemma3Config.from_dict`): OLMo-3's YaRN on the full-attention layers
    /// only, SmolLM3's NoPE layers 3, 7, ..., 35 and no windows, Gemma-3's 8/4 heads of 256 and 1024-token windows
    /// on five layers of six from the defaults of a sparse text_config.
    @Test func realCheckpointLayoutsDecodeAsTransformersReadsThem() throws {
        func decode(_ json: String, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> ModelConfiguration {
            var object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            edit(&object)
            return try ModelConfiguration(json: JSONSerialization.data(withJSONObject: object))
        }
        let olmo = try decode(#"""
            {"architectures":["Olmo3ForCausalLM"],"model_type":"olmo3","attention_bias":false,"eos_token_id":100257,
            "pad_token_id":100277,"hidden_act":"silu","hidden_size":4096,"intermediate_size":11008,
            "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":32,"max_position_embeddings":65536,
            "rms_norm_eps":1e-06,"sliding_window":4096,"rope_theta":500000,
            "rope_scaling":{"attention_factor":1.2079441541679836,"beta_fast":32,"beta_slow":1,"factor":8.0,
            "original_max_position_embeddings":8192,"rope_type":"yarn"},"tie_word_embeddings":false,"vocab_size":100278,
            "torch_dtype":"bfloat16"}
            """#) {
            $0["layer_types"] = (0..<32).map { ($0 + 1) % 4 == 0 ? "full_attention" : "sliding_attention" }
        }
        #expect(olmo.family == .olmo3 && olmo.nKVHeads == 32 && olmo.maxPositions == 65_536 && !olmo.tiedEmbeddings)
        #expect(olmo.slidingWindows == (0..<32).map { ($0 + 1) % 4 == 0 ? nil : 4096 })
        let full = olmo.rotary(layer: 3)!, sliding = olmo.rotary(layer: 0)!
        #expect(full.base == 500_000 && sliding.base == 500_000 && sliding.scaling == .none)
        guard case .yarn(let factor, let original, _, _, _, let attentionFactor) = full.scaling else {
            Issue.record("OLMo-3's full-attention layers use YaRN, found \(full.scaling)")
            return
        }
        #expect(factor == 8 && original == 8192 && attentionFactor == 1.2079441541679836)

        let smol = try decode(#"""
            {"architectures":["SmolLM3ForCausalLM"],"model_type":"smollm3","hidden_size":2048,"num_hidden_layers":36,
            "num_attention_heads":16,"num_key_value_heads":4,"intermediate_size":11008,"vocab_size":128256,
            "max_position_embeddings":65536,"rope_theta":5000000.0,"rope_scaling":null,"rms_norm_eps":1e-06,
            "tie_word_embeddings":true,"no_rope_layer_interval":4,"use_sliding_window":false,"sliding_window":null,
            "max_window_layers":28,"bos_token_id":128000,"eos_token_id":128012,"pad_token_id":128004,
            "torch_dtype":"bfloat16"}
            """#) {
            $0["no_rope_layers"] = (0..<36).map { ($0 + 1) % 4 != 0 ? 1 : 0 }
            $0["layer_types"] = Array(repeating: "full_attention", count: 36)
        }
        #expect(smol.family == .llama(.smollm3) && smol.noRotaryLayers == Set(stride(from: 3, to: 36, by: 4)))
        #expect(smol.slidingWindows.allSatisfy { $0 == nil } && smol.rotary(layer: 0)?.base == 5_000_000)
        #expect(smol.nKVHeads == 4 && smol.tiedEmbeddings && smol.eosTokenIDs == [128_012] && smol.dHead == 128)

        let gemma = try decode(#"""
            {"architectures":["Gemma3ForConditionalGeneration"],"boi_token_index":255999,"eoi_token_index":256000,
            "eos_token_id":[1,106],"image_token_index":262144,"initializer_range":0.02,"mm_tokens_per_image":256,
            "model_type":"gemma3","text_config":{"hidden_size":2560,"intermediate_size":10240,
            "model_type":"gemma3_text","num_hidden_layers":34,"rope_scaling":{"factor":8.0,"rope_type":"linear"},
            "sliding_window":1024},"torch_dtype":"bfloat16","transformers_version":"4.50.0.dev0",
            "vision_config":{"hidden_size":1152,"image_size":896,"intermediate_size":4304,
            "model_type":"siglip_vision_model","num_attention_heads":16,"num_hidden_layers":27,"patch_size":14,
            "vision_use_head":false}}
            """#)
        #expect(gemma.family == .gemma(.gemma3Text) && gemma.multimodalWrapper == "gemma3")
        #expect(gemma.nHeads == 8 && gemma.nKVHeads == 4 && gemma.dHead == 256 && gemma.vocabularySize == 262_208)
        #expect(gemma.nLayers == 34 && gemma.dModel == 2560 && gemma.maxPositions == 131_072 && gemma.tiedEmbeddings)
        #expect(gemma.queryPreAttentionScalar == 256 && gemma.eosTokenIDs == [1, 106] && gemma.activation == .geluTanh)
        #expect(gemma.slidingWindows == (0..<34).map { ($0 + 1) % 6 == 0 ? nil : 1024 })
        #expect(gemma.rotary(layer: 5)?.base == 1_000_000 && gemma.rotary(layer: 5)?.scaling == .linear(factor: 8))
        #expect(gemma.rotary(layer: 0)?.base == 10_000 && gemma.rotary(layer: 0)?.scaling == RotaryEmbedding.Scaling.none)
    }
}
