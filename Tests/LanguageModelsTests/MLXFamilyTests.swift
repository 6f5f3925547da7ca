import Foundation
import Testing
import TestScratch
import LanguageModels

/// Checkpoints of every family quantized by mlx-lm's own converter (`mlx_lm.convert`, as mlx-community's are made;
/// scripts/make_mlx_fixtures.py) against transformers running the same weights dequantized by `mx.dequantize`.
@Suite struct MLXFamilyTests {
    static let names = ["gpt2_mlx_q8", "gpt_neox_mlx_q4", "phi_mlx_q4", "phi3_mlx_q6", "gemma2_mlx_q4", "gemma3_mlx_q3",
                        "olmo2_mlx_q5", "olmo3_mlx_q2", "smollm3_mlx_q8", "qwen3_mlx_mixed", "olmoe_mlx_q4", "mixtral_mlx_q4",
                        "qwen2_moe_mlx_q4", "qwen3_moe_mlx_q4", "llama_mlx_mxfp4", "qwen2_mlx_nvfp4", "mistral_mlx_mxfp8",
                        "llama_mlx_q1"]

    @Test(arguments: names) func logitsMatchTransformers(name: String) throws {
        try Fixtures.expectBatchLogitsMatch(name)
    }

    @Test(arguments: names) func leftPaddedLogitsMatchTransformers(name: String) throws {
        try Fixtures.expectPaddedLogitsMatchAtScale(name)
    }

    /// Every projection stays packed, the parts of fused ones (GPT-2's `c_attn`, GPT-NeoX's interleaved
    /// `query_key_value`, Phi-3's `qkv_proj` and `gate_up_proj`) included, and so does the embedding table.
    @Test(arguments: names) func projectionsStayPacked(name: String) throws {
        let model = try Fixtures.model(name)
        var matrices = [("embedding", model.tokenEmbedding)]
        for (l, block) in model.blocks.enumerated() {
            let attention = block.attention
            matrices += [("\(l).q", attention.query.matrix), ("\(l).k", attention.key.matrix),
                         ("\(l).v", attention.value.matrix), ("\(l).o", attention.output.matrix)]
            if let mlp = block.mlp {
                matrices += [("\(l).in", mlp.input.matrix), ("\(l).out", mlp.output.matrix)]
                if let gate = mlp.gate { matrices.append(("\(l).gate", gate.matrix)) }
            }
        }
        for (label, matrix) in matrices {
            guard case .quantized = matrix else {
                Issue.record("\(name): \(label) is not kept quantized")
                continue
            }
        }
    }

    /// mlx-lm's stacked experts (`switch_mlp.{gate,up,down}_proj`, `[experts, out, in]`) become one matrix per expert,
    /// each its block of the stack's packed rows; the routers and Qwen2-MoE's shared expert and gate stay packed too.
    /// Qwen3-MoE's stacked `down_proj` (32 inputs, below mlx-lm's group of 64) is stored unquantized and read dense.
    @Test(arguments: ["olmoe_mlx_q4", "mixtral_mlx_q4", "qwen2_moe_mlx_q4", "qwen3_moe_mlx_q4"])
    func stackedExpertsStayPacked(name: String) throws {
        let model = try Fixtures.model(name)
        let mixtures = model.blocks.compactMap(\.mixture)
        #expect(mixtures.count == (name == "qwen3_moe_mlx_q4" ? 1 : model.layerCount))
        for mixture in mixtures {
            var packed = [mixture.router.matrix]
            for expert in mixture.experts { packed += [expert.gate!.matrix, expert.input.matrix] }
            if let shared = mixture.shared { packed += [shared.gate.matrix, shared.expert.gate!.matrix, shared.expert.input.matrix, shared.expert.output.matrix] }
            let downs = mixture.experts.map(\.output.matrix)
            if name == "qwen3_moe_mlx_q4" {
                #expect(downs.allSatisfy { if case .dense = $0 { true } else { false } })
            } else {
                packed += downs
            }
            for matrix in packed {
                guard case .quantized(let quantized) = matrix else { Issue.record("\(name): a matrix is not kept quantized"); continue }
                #expect(quantized.rowCount == matrix.shape[0])
            }
            #expect(mixture.experts.map { $0.gate!.matrix.shape[0] } == Array(repeating: mixture.experts[0].gate!.matrix.shape[0], count: mixture.experts.count))
            #expect(mixture.experts[0].gate!.matrix.dequantized() != mixture.experts[1].gate!.matrix.dequantized())
        }
        #expect(model.parameterCount > 0)
    }

    /// A stacked expert module whose stored codes disagree with config.json's settings for it is refused naming it.
    @Test(arguments: [(#"{"group_size": 32, "bits": 8}"#, "model.layers.0.mlp.switch_mlp.up_proj.weight: expected packed shape [4, 64, 8]"),
                      ("false", "marks model.layers.0.mlp.switch_mlp.up_proj unquantized")])
    func stackedExpertsDisagreeingWithTheirSettingsAreRefused(setting: String, message: String) throws {
        let source = Fixtures.directory("olmoe_mlx_q4")
        try withTemporaryDirectory { directory in
            try FileManager.default.copyItem(at: source.appendingPathComponent("model.safetensors"),
                                             to: directory.appendingPathComponent("model.safetensors"))
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
            var quantization = config["quantization"] as! [String: Any]
            quantization["model.layers.0.mlp.switch_mlp.up_proj"] = try JSONSerialization.jsonObject(with: Data(setting.utf8), options: .fragmentsAllowed)
            config["quantization"] = quantization
            try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
            do {
                _ = try TransformerModel.load(Checkpoint(directory: directory))
                Issue.record("the checkpoint loaded")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    /// Export writes the weights dequantized, under transformers' names, with no `quantization` in config.json; the
    /// reload computes the quantized model's logits (the same affine values, summed in another order).
    @Test(arguments: ["gpt2_mlx_q8", "gpt_neox_mlx_q4", "phi3_mlx_q6", "gemma2_mlx_q4", "mixtral_mlx_q4", "qwen2_moe_mlx_q4",
                      "qwen2_mlx_nvfp4", "mistral_mlx_mxfp8"])
    func exportWritesDequantizedWeights(name: String) throws {
        try Fixtures.expectExportWritesDequantizedWeights(name) { $0.hasSuffix(".scales") || $0.hasPrefix("model.h.") }
    }

    /// The microscaling modes keep their FP codes packed, with no biases, in the mode and group config.json gives.
    @Test(arguments: ["llama_mlx_mxfp4", "qwen2_mlx_nvfp4", "mistral_mlx_mxfp8"])
    func microscalingModulesKeepTheirMode(name: String) throws {
        let config = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Fixtures.directory(name).appendingPathComponent("config.json"))) as! [String: Any]
        let settings = config["quantization"] as! [String: Any]
        let mode = settings["mode"] as! String, groupSize = settings["group_size"] as! Int
        let model = try Fixtures.model(name)
        for (l, block) in model.blocks.enumerated() {
            for (label, linear) in [("q", block.attention.query), ("o", block.attention.output), ("down", block.mlp!.output)] {
                guard case .quantized(let matrix) = linear.matrix else { Issue.record("\(name) \(l).\(label) not quantized"); continue }
                #expect(matrix.mode.rawValue == mode && matrix.groupSize == groupSize && matrix.biases.isEmpty, "\(name) \(l).\(label)")
            }
        }
    }

    /// mlx-lm's mixed_3_6 recipe writes per-module bit widths into config.json; each module keeps its own.
    @Test func mixedRecipeKeepsEachModulesBits() throws {
        let name = "qwen3_mlx_mixed"
        let config = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Fixtures.directory(name).appendingPathComponent("config.json"))) as! [String: Any]
        let settings = config["quantization"] as! [String: Any]
        func bits(_ module: String) -> Int { (settings[module] as! [String: Any])["bits"] as! Int }
        let model = try Fixtures.model(name)
        var widths = Set<Int>()
        for (l, block) in model.blocks.enumerated() {
            let p = "model.layers.\(l)."
            for (module, linear) in [("self_attn.v_proj", block.attention.value), ("mlp.down_proj", block.mlp!.output),
                                     ("self_attn.q_proj", block.attention.query)] {
                guard case .quantized(let matrix) = linear.matrix else { Issue.record("\(p + module) not quantized"); continue }
                #expect(matrix.bits == bits(p + module), "\(p + module)")
                widths.insert(matrix.bits)
            }
        }
        #expect(widths == [3, 6], "the recipe should mix 3- and 6-bit modules, found \(widths)")
    }
}
