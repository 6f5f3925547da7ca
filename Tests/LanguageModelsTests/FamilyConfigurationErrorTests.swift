import Foundation
import Testing
import TestScratch
import LanguageModels

/// Options of the new families that this library does not implement are refused by name.
@Suite struct FamilyConfigurationErrorTests {
    static func edited(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        let data = try Data(contentsOf: Fixtures.directory(name).appendingPathComponent("config.json"))
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func refusesUnsupportedOptions() throws {
        let cases: [(String, (inout [String: Any]) -> Void, [String])] = [
            ("phi3", { $0["rope_parameters"] = ["rope_type": "longrope", "rope_theta": 10000.0, "short_factor": [1.0],
                                                "long_factor": [1.0]] },
             ["rope_parameters.short_factor", "has 1 entries; 2 are needed"]),
            ("phi3", { $0["rope_scaling"] = ["type": "su"] }, ["rope_scaling.short_factor is missing"]),
            ("phi3", { $0["rope_scaling"] = ["type": "linear", "factor": 2.0] }, ["rope_scaling.rope_type", "'linear'"]),
            ("gemma3", { $0["use_bidirectional_attention"] = true }, ["use_bidirectional_attention"]),
            ("gemma2", { $0["layer_types"] = ["sliding_attention", "chunked_attention"] }, ["layer_types[1]", "'chunked_attention'"]),
            ("gemma2", { $0["layer_types"] = ["sliding_attention"] }, ["layer_types", "1 entries for 2 layers"]),
            ("gemma2", { $0["hidden_activation"] = "mish" }, ["hidden_activation", "'mish'"]),
            ("gemma3", { $0["rope_scaling"] = ["rope_type": "longrope", "factor": 8.0] }, ["rope_scaling.rope_type", "'longrope'"]),
            // transformers 5 ignores these (the full-attention entry keeps rope_type "default"); transformers 4 applied them.
            ("gemma3", { $0["rope_scaling"] = ["type": "linear", "factor": 8.0] }, ["rope_scaling.type", "'linear'", "rope_type"]),
            ("olmo3", { $0["rope_scaling"] = ["type": "yarn", "factor": 4.0] }, ["rope_scaling.type", "'yarn'", "rope_type"]),
            ("gpt_neox_parallel", { $0["rotary_pct"] = 0.4 }, ["partial_rotary_factor", "rotates 3"]),
            ("gpt_neox_parallel", { $0["rotary_pct"] = 0.1 }, ["partial_rotary_factor", "rotates 0"]),
            ("gpt_neox_parallel", { $0["head_dim"] = 16 }, ["head_dim", "16"]),
            ("olmo2", { $0["num_key_value_heads"] = 3 }, ["num_key_value_heads", "3 does not divide"]),
            ("phi_qk", { $0["partial_rotary_factor"] = 0.5 }, ["partial_rotary_factor", "rotates 5"]),
            ("phi_qk", { $0["head_dim"] = 16 }, ["head_dim", "16 is not supported"]),
            ("phi_qk", { $0["rope_scaling"] = ["rope_type": "longrope", "factor": 2.0] }, ["rope_scaling.rope_type", "'longrope'"]),
            ("phi_qk", { $0["qk_layernorm"] = "yes" }, ["qk_layernorm"]),
            ("phi_tied_bf16", { $0["hidden_act"] = "mish" }, ["hidden_act", "'mish'"]),
            ("olmo_clip", { $0["clip_qkv"] = -1.0 }, ["clip_qkv", "must be positive"]),
            ("olmo_clip", { $0["rope_parameters"] = ["rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5] },
             ["rope_parameters.partial_rotary_factor", "OLMo rotates whole heads"]),
            ("olmo_gqa_bf16", { $0.removeValue(forKey: "num_attention_heads") }, ["num_attention_heads"]),
        ]
        for (name, edit, fragments) in cases {
            let data = try Self.edited(name, edit)
            expectLoadingError(containing: ["config.json"] + fragments) { _ = try ModelConfiguration(json: data) }
        }
    }

    /// An MLX checkpoint whose config.json claims another bit width than its packed words hold names the tensor and
    /// the width the words imply (here Phi-3's fused `qkv_proj`, stored at 6 bits).
    @Test func mlxBitWidthDisagreeingWithTheWordsNamesTheTensor() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.copyItem(at: Fixtures.directory("phi3_mlx_q6").appendingPathComponent("model.safetensors"),
                                             to: directory.appendingPathComponent("model.safetensors"))
            let config = try Self.edited("phi3_mlx_q6") {
                for key in ["quantization", "quantization_config"] { $0[key] = ["group_size": 32, "bits": 4] }
            }
            try config.write(to: directory.appendingPathComponent("config.json"))
            expectLoadingError(containing: ["model.layers.0.self_attn.qkv_proj.weight", "that would be 6 bits"]) {
                _ = try TransformerModel.load(Checkpoint(directory: directory))
            }
        }
    }

    /// A config.json whose MLX mode disagrees with the stored tensors is refused naming the tensor: affine asks for
    /// the biases an mxfp4 checkpoint has not, mxfp8 for twice its words, mxfp4 for the U8 scales of affine ones.
    @Test func mlxModeDisagreeingWithTheTensorsNamesTheTensor() throws {
        let cases: [(fixture: String, quantization: [String: Any], fragments: [String])] = [
            ("llama_mlx_mxfp4", ["group_size": 32, "bits": 4], ["model.layers.0.self_attn.q_proj.biases"]),
            ("llama_mlx_mxfp4", ["group_size": 32, "bits": 8, "mode": "mxfp8"], ["model.layers.0.self_attn.q_proj.weight", "that would be 4 bits"]),
            ("phi_mlx_q4", ["group_size": 32, "bits": 4, "mode": "mxfp4"], ["model.layers.0.self_attn.q_proj.scales: mxfp4 scales must be U8"]),
        ]
        for (fixture, quantization, fragments) in cases {
            try withTemporaryDirectory { directory in
                try FileManager.default.copyItem(at: Fixtures.directory(fixture).appendingPathComponent("model.safetensors"),
                                                 to: directory.appendingPathComponent("model.safetensors"))
                let config = try Self.edited(fixture) { for key in ["quantization", "quantization_config"] { $0[key] = quantization } }
                try config.write(to: directory.appendingPathComponent("config.json"))
                expectLoadingError(containing: fragments) { _ = try TransformerModel.load(Checkpoint(directory: directory)) }
            }
        }
    }

    /// transformers' defaults for absent keys: Gemma-2 soft-caps at 50 and 30 and slides every other layer by
    /// 4096; an explicit null turns an option off.
    @Test func gemma2DefaultsFollowTransformers() throws {
        let absent = try ModelConfiguration(json: Self.edited("gemma2") {
            for key in ["attn_logit_softcapping", "final_logit_softcapping", "sliding_window", "layer_types"] { $0[key] = nil }
        })
        #expect(absent.attentionSoftcap == 50 && absent.finalLogitSoftcap == 30)
        #expect(absent.slidingWindows == [4096, nil])
        let null = try ModelConfiguration(json: Self.edited("gemma2") {
            for key in ["attn_logit_softcapping", "final_logit_softcapping", "sliding_window"] { $0[key] = NSNull() }
        })
        #expect(null.attentionSoftcap == nil && null.finalLogitSoftcap == nil)
        #expect(null.slidingWindows == [nil, nil])
    }
}

/// The options `interp info` lists, and the two Gemma-3 config.json layouts.
@Suite struct FamilyConfigurationOptionsTests {
    @Test func optionsNameWhatTellsFamiliesApart() throws {
        let gemma2 = try ModelConfiguration(contentsOf: Fixtures.directory("gemma2")).optionsInForce
        #expect(gemma2.contains("attention soft-cap 5.0") && gemma2.contains("final logit soft-cap 15.0"))
        #expect(gemma2.contains("sliding window 4 on layers 0") && gemma2.contains("post-attention and post-MLP norms"))
        let neox = try ModelConfiguration(contentsOf: Fixtures.directory("gpt_neox_parallel")).optionsInForce
        #expect(neox.contains("parallel attention and MLP") && neox.contains("rotary on 4 of 8 head dimensions, base 10000.0"))
        #expect(try !ModelConfiguration(contentsOf: Fixtures.directory("gpt_neox_sequential")).optionsInForce
            .contains("parallel attention and MLP"))
        #expect(try ModelConfiguration(contentsOf: Fixtures.directory("olmo2")).optionsInForce.contains("q/k norms over all heads"))
    }

    /// transformers 5 writes Gemma-3's rope settings per layer type and the layer types explicitly; the fixture
    /// carries the older layout (rope_theta, rope_local_base_freq, rope_scaling, sliding_window_pattern).
    @Test func gemma3LayoutsDecodeAlike() throws {
        let older = try ModelConfiguration(contentsOf: Fixtures.directory("gemma3"))
        let newer = try ModelConfiguration(json: FamilyConfigurationErrorTests.edited("gemma3") {
            $0["rope_parameters"] = ["full_attention": ["rope_type": "linear", "factor": 2.0, "rope_theta": 1_000_000.0],
                                     "sliding_attention": ["rope_type": "default", "rope_theta": 100.0]]
            $0["layer_types"] = ["sliding_attention", "full_attention"]
            for key in ["rope_theta", "rope_local_base_freq", "rope_scaling", "sliding_window_pattern"] { $0[key] = nil }
        })
        #expect(newer == older)
        #expect(older.slidingWindows == [4, nil] && older.rotary(layer: 0)?.base == 100 && older.rotary(layer: 1)?.base == 1_000_000)
    }
}
