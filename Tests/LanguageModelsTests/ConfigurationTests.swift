import Foundation
import Testing
import LanguageModels

/// config.json decoding, against what transformers derives from the same files.
@Suite struct ConfigurationTests {
    @Test(arguments: Fixtures.modelNames.filter { $0 != "gpt2" })
    func llamaFamilyMatchesTransformers(model: String) throws {
        let configuration = try ModelConfiguration(contentsOf: Fixtures.directory(model))
        let expected = try Fixtures.reference(model)["config"] as! [String: Any]
        let variant = ModelConfiguration.LlamaVariant(rawValue: expected["model_type"] as! String)!
        #expect(configuration.family == .llama(variant))
        #expect(configuration.normalization == .rmsNorm)
        #expect(configuration.dModel == expected["d_model"] as! Int)
        #expect(configuration.nLayers == expected["n_layers"] as! Int)
        #expect(configuration.nHeads == expected["n_heads"] as! Int)
        #expect(configuration.nKVHeads == expected["n_kv_heads"] as! Int)
        #expect(configuration.dHead == expected["d_head"] as! Int)
        #expect(configuration.dMLP == expected["d_mlp"] as! Int)
        #expect(configuration.vocabularySize == expected["vocab_size"] as! Int)
        #expect(configuration.maxPositions == expected["max_positions"] as! Int)
        #expect(configuration.normEpsilon == Float(expected["norm_eps"] as! Double))
        #expect(configuration.activation == .silu)
        #expect(configuration.tiedEmbeddings == expected["tied"] as! Bool)
        #expect(configuration.attentionQKVBias == expected["qkv_bias"] as! Bool)
        #expect(configuration.attentionOutputBias == expected["output_bias"] as! Bool)
        #expect(configuration.mlpBias == expected["mlp_bias"] as! Bool)
        #expect(configuration.qkNorm == expected["qk_norm"] as! Bool)
        #expect(abs(configuration.attentionScale(layer: 1) - Float(expected["attention_scale"] as! Double)) < 1e-7)
        #expect(configuration.slidingWindows == (expected["sliding_windows"] as! [Any]).map { $0 as? Int })
        #expect(configuration.bosTokenIDs == [1] && configuration.eosTokenIDs == [2])
        guard case .rotary(let rotary) = configuration.positionEncoding else {
            Issue.record("\(model): expected rotary positions")
            return
        }
        let frequencies = rotary.inverseFrequencies
        let reference = flatFloats(expected["inverse_frequencies"]!)
        #expect(frequencies.count == reference.count)
        for (ours, theirs) in zip(frequencies, reference) {
            #expect(abs(ours - theirs) <= 2e-7 * theirs, "\(model): inverse frequency \(ours) vs \(theirs)")
        }
    }

    @Test func gpt2MatchesTransformers() throws {
        let configuration = try ModelConfiguration(contentsOf: Fixtures.directory("gpt2"))
        let expected = try Fixtures.reference("gpt2")["config"] as! [String: Any]
        #expect(configuration.family == .gpt2)
        #expect(configuration.normalization == .layerNorm)
        #expect(configuration.dModel == expected["d_model"] as! Int)
        #expect(configuration.nLayers == expected["n_layers"] as! Int)
        #expect(configuration.nHeads == expected["n_heads"] as! Int)
        #expect(configuration.nKVHeads == configuration.nHeads)
        #expect(configuration.dHead == 8)
        #expect(configuration.dMLP == expected["d_mlp"] as! Int)
        #expect(configuration.vocabularySize == expected["vocab_size"] as! Int)
        #expect(configuration.maxPositions == expected["max_positions"] as! Int)
        #expect(configuration.normEpsilon == Float(expected["norm_eps"] as! Double))
        #expect(configuration.activation == .geluTanh)
        #expect(configuration.tiedEmbeddings == expected["tied"] as! Bool)
        #expect(configuration.positionEncoding == .learned)
        #expect(configuration.attentionQKVBias && configuration.attentionOutputBias && configuration.mlpBias)
        #expect(configuration.attentionScale(layer: 1) == 1 / Float(8).squareRoot())
        #expect(configuration.quantization == nil)
    }

    @Test func readsRopeScalingFromBothLayouts() throws {
        let older = try ModelConfiguration(contentsOf: Fixtures.directory("llama_untied"))
        #expect(older.positionEncoding == .rotary(RotaryEmbedding(headDim: 8, base: 500, scaling: .linear(factor: 2))))
        #expect(older.dtype == "float32")
        let newer = try ModelConfiguration(contentsOf: Fixtures.directory("llama_gqa"))
        let llama3 = RotaryEmbedding.Scaling.llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositionEmbeddings: 64)
        #expect(newer.positionEncoding == .rotary(RotaryEmbedding(headDim: 8, base: 10_000, scaling: llama3)))
    }

    /// transformers reads `rope_scaling or rope_parameters`: a null or empty `rope_scaling` yields to
    /// `rope_parameters`, any other wins over it (with the top-level `rope_theta`). Expected values from
    /// `LlamaConfig(rope_scaling=..., rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 500.0})`.
    @Test func rotaryObjectFollowsTransformersPrecedence() throws {
        let linear: [String: Any] = ["rope_type": "linear", "factor": 2.0, "rope_theta": 500.0]
        for scaling in [NSNull(), [String: Any]()] as [Any] {
            let configuration = try decode(edited("llama_gqa") {
                $0["rope_parameters"] = linear
                $0["rope_scaling"] = scaling
            })
            #expect(configuration.positionEncoding == .rotary(RotaryEmbedding(headDim: 8, base: 500, scaling: .linear(factor: 2))))
        }
        let both = try decode(edited("llama_gqa") {
            $0["rope_parameters"] = linear
            $0["rope_scaling"] = ["type": "linear", "factor": 4.0]
            $0["rope_theta"] = 300.0
        })
        #expect(both.positionEncoding == .rotary(RotaryEmbedding(headDim: 8, base: 300, scaling: .linear(factor: 4))))
    }

    /// GPT-NeoX's base is `rotary_emb_base` (default 10000), never a top-level `rope_theta`: transformers' loading of
    /// the gpt_neox_parallel fixture with rotary_emb_base replaced by rope_theta 500 has `inv_freq` [1, 0.01].
    @Test func gptNeoXIgnoresTopLevelRopeTheta() throws {
        let configuration = try decode(edited("gpt_neox_parallel") {
            $0.removeValue(forKey: "rotary_emb_base")
            $0["rope_theta"] = 500.0
        })
        #expect(configuration.rotary(layer: 0)!.inverseFrequencies == [1, 0.01])
    }

    /// LongRoPE is read for the llama family too (transformers' rotary embedding of any family reads it). Expected
    /// values: transformers' `LlamaRotaryEmbedding` of this config (`inv_freq` before and after a pass reaching
    /// position 9, `attention_scaling` sqrt(1 + ln 32 / ln 8)).
    @Test func llamaReadsLongRoPE() throws {
        let configuration = try decode(edited("llama_gqa") {
            $0["rope_parameters"] = ["rope_type": "longrope", "rope_theta": 100.0, "short_factor": [1.0, 1.5, 1.0, 2.0],
                                     "long_factor": [2.0, 4.0, 3.0, 5.0], "original_max_position_embeddings": 8]
        })
        let rotary = try #require(configuration.rotary(layer: 0))
        let short: [Float] = [1.0, 0.21081849932670593, 0.10000000149011612, 0.015811389312148094]
        let long: [Float] = [0.5, 0.07905694097280502, 0.03333333507180214, 0.006324555724859238]
        for (ours, theirs) in zip(rotary.inverseFrequencies + (rotary.longInverseFrequencies ?? []), short + long) {
            #expect(Swift.abs(ours - theirs) <= 2e-7 * theirs)
        }
        #expect(rotary.longInverseFrequencies?.count == 4)
        #expect(Swift.abs(rotary.attentionFactor - 1.632993161855452) < 1e-6)
    }

    @Test func readsMLXQuantizationWithOverrides() throws {
        let q4 = try ModelConfiguration(contentsOf: Fixtures.directory("llama_mlx_q4"))
        #expect(q4.dtype == "float16")
        let quantization = try #require(q4.quantization)
        #expect(quantization.groupSize == 32 && quantization.bits == 4)
        #expect(quantization.setting(forModule: "model.layers.0.mlp.down_proj") == .quantized(groupSize: 32, bits: 4, mode: .affine))
        #expect(quantization.setting(forModule: "model.layers.1.mlp.down_proj") == .quantized(groupSize: 64, bits: 8, mode: .affine))
        let q8 = try ModelConfiguration(contentsOf: Fixtures.directory("llama_mlx_q8"))
        #expect(q8.quantization == MLXQuantization(groupSize: 64, bits: 8))
    }

    // MARK: - Variations and errors on an edited llama_gqa config.json

    private func edited(_ base: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        let data = try Data(contentsOf: Fixtures.directory(base).appendingPathComponent("config.json"))
        var json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }

    private func decode(_ data: Data) throws -> ModelConfiguration {
        try ModelConfiguration(json: data, source: "tiny/config.json")
    }

    @Test func qwenSlidingWindowsFollowLayerTypesOrMaxWindowLayers() throws {
        let byMaxWindowLayers = try decode(edited("qwen2") {
            $0["use_sliding_window"] = true
            $0["sliding_window"] = 16
            $0["max_window_layers"] = 1
            $0.removeValue(forKey: "layer_types")
        })
        #expect(byMaxWindowLayers.slidingWindows == [nil, 16])
        let byLayerTypes = try decode(edited("qwen2") {
            $0["use_sliding_window"] = true
            $0["sliding_window"] = 16
            $0["layer_types"] = ["sliding_attention", "full_attention"]
        })
        #expect(byLayerTypes.slidingWindows == [16, nil])
        let disabled = try decode(edited("qwen2") {
            $0["sliding_window"] = 16
            $0["layer_types"] = ["sliding_attention", "sliding_attention"]
        })
        #expect(disabled.slidingWindows == [nil, nil])
    }

    @Test func defaultsFollowTransformers() throws {
        let configuration = try decode(edited("llama_gqa") {
            for key in ["num_key_value_heads", "head_dim", "rope_parameters", "rms_norm_eps", "tie_word_embeddings", "hidden_act"] {
                $0.removeValue(forKey: key)
            }
            $0["eos_token_id"] = [2, 7]
        })
        #expect(configuration.nKVHeads == 4 && configuration.dHead == 8)
        #expect(configuration.positionEncoding == .rotary(RotaryEmbedding(headDim: 8, base: 10_000)))
        #expect(configuration.normEpsilon == 1e-6 && !configuration.tiedEmbeddings && configuration.activation == .silu)
        #expect(configuration.eosTokenIDs == [2, 7])
    }

    @Test func unsupportedValuesAreRefusedByName() throws {
        let cases: [(String, (inout [String: Any]) -> Void, [String])] = [
            ("model_type", { $0["model_type"] = "falcon" }, ["tiny/config.json", "model_type 'falcon' is not supported", "olmo2"]),
            ("missing model_type", { $0.removeValue(forKey: "model_type") }, ["field 'model_type' is missing"]),
            ("missing field", { $0.removeValue(forKey: "num_attention_heads") }, ["field 'num_attention_heads' is missing"]),
            ("wrong type", { $0["hidden_size"] = "32" }, ["field 'hidden_size' has the wrong type"]),
            ("longrope", { $0["rope_parameters"] = ["rope_type": "longrope", "factor": 4.0, "rope_theta": 10000.0] },
             ["rope_parameters.short_factor is missing"]),
            ("rope type", { $0["rope_parameters"] = ["rope_type": "su", "rope_theta": 10000.0] },
             ["rope_parameters.rope_type 'su' is not supported (supported: default, linear, llama3, yarn, dynamic, longrope)"]),
            ("proportional, old layout", { $0.removeValue(forKey: "rope_parameters"); $0["rope_scaling"] = ["type": "proportional", "factor": 2.0] },
             ["rope_scaling.rope_type 'proportional' is not supported"]),
            ("yarn factor", { $0["rope_parameters"] = ["rope_type": "yarn", "factor": -1.0, "rope_theta": 10000.0] },
             ["rope_parameters.factor must be positive"]),
            ("llama3 without factor", { $0["rope_parameters"] = ["rope_type": "llama3", "low_freq_factor": 1.0, "high_freq_factor": 4.0] },
             ["rope_parameters.factor is missing"]),
            ("partial rotary", { $0["partial_rotary_factor"] = 0.5 }, ["partial_rotary_factor 0.5 is not supported"]),
            ("activation", { $0["hidden_act"] = "mish" }, ["hidden_act 'mish' is not supported"]),
            ("kv heads", { $0["num_key_value_heads"] = 3 }, ["num_key_value_heads 3 does not divide num_attention_heads 4"]),
            ("bits", { $0["quantization"] = ["group_size": 32, "bits": 7] }, ["quantization.bits 7 is not supported"]),
            ("override bits", { $0["quantization"] = ["group_size": 32, "bits": 4, "model.layers.0.mlp.up_proj": ["group_size": 32, "bits": 7]] },
             ["quantization.model.layers.0.mlp.up_proj.bits 7 is not supported"]),
            ("mode", { $0["quantization"] = ["group_size": 32, "bits": 4, "mode": "fp3"] },
             ["quantization.mode 'fp3' is not supported (supported: 'affine', 'mxfp4', 'mxfp8', 'nvfp4')"]),
            ("mode's shape", { $0["quantization"] = ["group_size": 32, "bits": 4, "model.layers.0.mlp.up_proj": ["group_size": 32, "bits": 8, "mode": "nvfp4"]] },
             ["quantization.model.layers.0.mlp.up_proj: mode 'nvfp4' stores 4-bit codes in groups of 16, not 8 bits in groups of 32"]),
            ("gptq", { $0["quantization_config"] = ["quant_method": "gptq", "bits": 4, "group_size": 128] },
             ["quantization_config.quant_method 'gptq' is not supported"]),
        ]
        for (label, edit, fragments) in cases {
            let data = try edited("llama_gqa", edit)
            expectLoadingError(containing: fragments) { _ = try decode(data) }
            _ = label
        }
    }

    @Test func slidingWindowAndLayerTypeErrors() throws {
        let mistral = try edited("mistral") { $0["sliding_window"] = 0 }
        expectLoadingError(containing: ["tiny/config.json", "sliding_window must be positive, found 0"]) { _ = try decode(mistral) }
        let qwen = try edited("qwen2") {
            $0["use_sliding_window"] = true
            $0["sliding_window"] = 16
            $0["layer_types"] = ["chunked_attention", "full_attention"]
        }
        expectLoadingError(containing: ["layer_types[0] 'chunked_attention' is not supported"]) { _ = try decode(qwen) }
    }

    @Test func gpt2OptionsAndErrors() throws {
        let scaled = try decode(edited("gpt2") {
            $0["scale_attn_by_inverse_layer_idx"] = true
            $0["scale_attn_weights"] = false
            $0["n_inner"] = 48
        })
        #expect(scaled.attentionScale(layer: 0) == 1 && scaled.attentionScale(layer: 3) == 0.25)
        #expect(scaled.dMLP == 48)
        let crossAttention = try edited("gpt2") { $0["add_cross_attention"] = true }
        expectLoadingError(containing: ["add_cross_attention true is not supported"]) { _ = try decode(crossAttention) }
        let activation = try edited("gpt2") { $0["activation_function"] = "mish" }
        expectLoadingError(containing: ["activation_function 'mish' is not supported"]) { _ = try decode(activation) }
    }

    @Test func unreadableFilesAreReported() {
        expectLoadingError(containing: ["tiny/config.json", "not valid JSON"]) { _ = try decode(Data("{".utf8)) }
        expectLoadingError(containing: ["/nonexistent/config.json", "cannot read"]) {
            _ = try ModelConfiguration(contentsOf: URL(fileURLWithPath: "/nonexistent/config.json"))
        }
    }

    @Test func rotaryFrequenciesOfEachScalingRule() {
        #expect(RotaryEmbedding(headDim: 4, base: 10_000).inverseFrequencies == [1, 0.01])
        #expect(RotaryEmbedding(headDim: 4, base: 10_000, scaling: .linear(factor: 4)).inverseFrequencies == [0.25, 0.0025])
        // Wavelengths 2π (< 8192/4: kept) and 628 (with original context 64: > 64/1, so divided by the factor).
        let llama3 = RotaryEmbedding(headDim: 4, base: 10_000, scaling: .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositionEmbeddings: 64))
        #expect(llama3.inverseFrequencies == [1, 0.01 / 8])
    }
}
