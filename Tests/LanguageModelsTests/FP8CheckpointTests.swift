import Foundation
import Testing
import TestScratch
import Tensors
import LanguageModels

/// Hugging Face FP8 checkpoints (`quant_method: "fp8"`, `F8_E4M3` weights with `weight_scale_inv` block scales;
/// scripts/make_fp8_fixtures.py) against transformers dequantizing the same checkpoint on the CPU; ministral3_fp8 is
/// the Mistral 3 wrapper around Ministral 3 quantized as the official releases are (one BF16 scale per weight, static
/// activation scheme, vision tower and projector unconverted), qwen3_moe_fp8 a mixture in the hub's per-expert layout.
@Suite struct FP8CheckpointTests {
    static let names = ["llama_fp8", "qwen3_fp8", "qwen3_moe_fp8", "ministral3_fp8"]

    @Test(arguments: names) func logitsMatchTransformers(name: String) throws {
        try Fixtures.expectBatchLogitsMatch(name)
    }

    @Test(arguments: names) func leftPaddedLogitsMatchTransformers(name: String) throws {
        try Fixtures.expectPaddedLogitsMatchAtScale(name)
    }

    /// Exactly the modules the script quantized (those with a `weight_scale_inv`) stay packed as E4M3 codes, one
    /// byte per weight plus one `Float` scale per row and block of columns; `modules_to_not_convert` and the
    /// embeddings stay 16-bit as stored.
    @Test(arguments: names) func fp8ModulesStayPacked(name: String) throws {
        let fp8Modules = Set((try Fixtures.reference(name)["fp8_modules"] as! [String]).map { String($0[$0.range(of: "layers.")!.lowerBound...]) })
        let model = try Fixtures.model(name)
        var matrices: [(String, WeightMatrix)] = []
        for (l, block) in model.blocks.enumerated() {
            let attention = block.attention, prefix = "layers.\(l)."
            matrices += [(prefix + "self_attn.q_proj", attention.query.matrix), (prefix + "self_attn.k_proj", attention.key.matrix),
                         (prefix + "self_attn.v_proj", attention.value.matrix), (prefix + "self_attn.o_proj", attention.output.matrix)]
            func feedForward(_ mlp: FeedForward, _ module: String) -> [(String, WeightMatrix)] {
                [(module + "up_proj", mlp.input.matrix), (module + "gate_proj", mlp.gate!.matrix), (module + "down_proj", mlp.output.matrix)]
            }
            if let mlp = block.mlp { matrices += feedForward(mlp, prefix + "mlp.") }
            if let mixture = block.mixture {
                matrices.append((prefix + "mlp.gate", mixture.router.matrix))
                for (e, expert) in mixture.experts.enumerated() { matrices += feedForward(expert, prefix + "mlp.experts.\(e).") }
            }
        }
        #expect(Set(matrices.map(\.0)).isSuperset(of: fp8Modules) && fp8Modules.count >= 13)
        var packedBytes = 0, floatBytes = 0
        for (module, matrix) in matrices {
            switch matrix {
            case .quantized(let quantized) where fp8Modules.contains(module):
                #expect(quantized.floatCodes == .e4m3 && quantized.bits == 8 && quantized.biases.isEmpty, "\(module)")
                packedBytes += 4 * (quantized.packed.count + quantized.scales.count)
                floatBytes += 4 * quantized.rowCount * quantized.columnCount
            case .halfPrecision where !fp8Modules.contains(module):
                break
            default:
                Issue.record("\(name): \(module) is kept as \(matrix)")
            }
        }
        #expect(Double(packedBytes) < 0.3 * Double(floatBytes), "\(name): \(packedBytes) bytes packed, \(floatBytes) as Float32")
        guard case .halfPrecision = model.tokenEmbedding else { Issue.record("\(name): the embedding is not kept as stored"); return }
    }

    /// Export writes the FP8 weights dequantized, as a checkpoint without quantization settings that loads to the same
    /// logits.
    @Test(arguments: names) func exportWritesDequantizedWeights(name: String) throws {
        try Fixtures.expectExportWritesDequantizedWeights(name) { $0.hasSuffix("_scale_inv") || $0.hasSuffix("activation_scale") }
    }

    /// The settings as config.json gives them, and written back in the same form.
    @Test func settingsAreRead() throws {
        let llama = try ModelConfiguration(contentsOf: Fixtures.directory("llama_fp8")).quantization?.fp8
        #expect(llama == FP8Quantization(weightBlockSize: [32, 32], activationScheme: "dynamic",
                                         modulesToNotConvert: ["lm_head", "model.layers.1.mlp.down_proj"]))
        let qwen = try ModelConfiguration(contentsOf: Fixtures.directory("qwen3_fp8")).quantization?.fp8
        #expect(qwen == FP8Quantization(weightBlockSize: nil, activationScheme: "static", modulesToNotConvert: ["lm_head"]))
        let settings = MLXQuantization(fp8: llama!)
        let encoded = try JSONEncoder().encode(settings)
        let fields = try JSONSerialization.jsonObject(with: encoded) as! [String: Any]
        #expect(fields["quant_method"] as? String == "fp8" && fields["weight_block_size"] as? [Int] == [32, 32], "\(fields)")
        #expect(try JSONDecoder().decode(MLXQuantization.self, from: encoded) == settings)
    }

    /// Settings transformers refuses, or formats this library does not read, are refused naming the field.
    @Test func unsupportedSettingsAreRefused() throws {
        let cases: [([String: Any], String)] = [
            (["weight_block_size": [128]], "quantization_config.weight_block_size [128] must be two positive integers or null"),
            (["weight_block_size": [0, 128]], "quantization_config.weight_block_size [0, 128] must be two positive integers"),
            (["activation_scheme": "per_token"], "quantization_config.activation_scheme 'per_token' is not supported"),
            (["scale_fmt": "ue8m0"], "quantization_config.scale_fmt 'ue8m0' is not supported"),
            (["expert_dtype": "fp4"], "quantization_config.expert_dtype 'fp4' is not supported"),
        ]
        for (fields, message) in cases {
            var settings: [String: Any] = ["quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [128, 128]]
            settings.merge(fields) { $1 }
            let data = try edited("llama_fp8") { $0["quantization_config"] = settings }
            expectLoadingError(containing: ["config.json", message]) { _ = try ModelConfiguration(json: data) }
        }
    }

    /// Scales that do not match the configured blocks (as partial blocks would not: transformers' CPU reading
    /// divides the weight evenly by the scales' grid) are refused naming the tensor; so are FP8 weights without
    /// FP8 settings, and FP8 codes read without their scales.
    @Test func mismatchedCheckpointsAreRefused() throws {
        let blocks = try edited("llama_fp8") {
            var settings = $0["quantization_config"] as! [String: Any]
            settings["weight_block_size"] = [16, 16]
            $0["quantization_config"] = settings
        }
        try expectCheckpointError(config: blocks, ["model.layers.0.self_attn.q_proj.weight_scale_inv: the grid [2, 2] makes blocks of 32x32",
                                                   "weight_block_size is [16, 16] (partial blocks are not supported)"])
        let unquantized = try edited("llama_fp8") { $0.removeValue(forKey: "quantization_config") }
        try expectCheckpointError(config: unquantized, ["model.layers.0.self_attn.q_proj.weight_scale_inv",
                                                        "no quantization_config with quant_method 'fp8'"])
        let weights = try WeightStore(directory: Fixtures.directory("llama_fp8"))
        expectLoadingError(containing: ["model.layers.0.mlp.up_proj.weight", "F8_E4M3", "weight_scale_inv"]) {
            _ = try weights.tensor(named: "model.layers.0.mlp.up_proj.weight")
        }
    }

    /// Per-tensor scales (`weight_block_size` null) may be stored as one element of any rank up to 2; a grid that does
    /// not divide the weight is refused naming the tensor. Checked on a hand-made checkpoint: codes 0x38 (1.0) and
    /// 0xC0 (−2.0) times the scales.
    @Test func scaleShapes() throws {
        let codes: [UInt8] = Array(repeating: 0x38, count: 8) + Array(repeating: 0xC0, count: 8)   // [4, 4]
        for (scaleShape, scales, expected) in [([Int](), [Float(0.5)], [Float](repeating: 0.5, count: 8) + Array(repeating: -1, count: 8)),
                                               ([1, 1], [0.5], Array(repeating: 0.5, count: 8) + Array(repeating: -1, count: 8)),
                                               ([2, 2], [1, 2, 3, 4], [1, 1, 2, 2, 1, 1, 2, 2, -6, -6, -8, -8, -6, -6, -8, -8])] {
            try withFP8Weight(codes: codes, scaleShape: scaleShape, scales: scales) { store in
                let settings = FP8Quantization(weightBlockSize: scaleShape == [2, 2] ? [2, 2] : nil)
                let matrix = try store.fp8Matrix(module: "w", shape: [4, 4], settings: settings)
                #expect(matrix.dequantized().scalars == expected, "\(scaleShape)")
            }
        }
        try withFP8Weight(codes: codes, scaleShape: [3, 1], scales: [1, 2, 3]) { store in
            expectLoadingError(containing: ["w.weight_scale_inv: the grid [3, 1] does not divide the weight [4, 4]"]) {
                _ = try store.fp8Matrix(module: "w", shape: [4, 4], settings: FP8Quantization(weightBlockSize: nil))
            }
        }
    }

    private func withFP8Weight(codes: [UInt8], scaleShape: [Int], scales: [Float], _ body: (WeightStore) throws -> Void) throws {
        let header: [String: Any] = [
            "w.weight": ["dtype": "F8_E4M3", "shape": [4, 4], "data_offsets": [0, codes.count]],
            "w.weight_scale_inv": ["dtype": "F32", "shape": scaleShape, "data_offsets": [codes.count, codes.count + 4 * scales.count]],
        ]
        var json = try JSONSerialization.data(withJSONObject: header)
        json.append(contentsOf: Array(repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(contentsOf: codes)
        for scale in scales { withUnsafeBytes(of: scale.bitPattern.littleEndian) { file.append(contentsOf: $0) } }
        try withTemporaryDirectory { directory in
            try file.write(to: directory.appendingPathComponent("model.safetensors"))
            try body(try WeightStore(directory: directory))
        }
    }

    private func expectCheckpointError(config: Data, _ fragments: [String]) throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.copyItem(at: Fixtures.directory("llama_fp8").appendingPathComponent("model.safetensors"),
                                             to: directory.appendingPathComponent("model.safetensors"))
            try config.write(to: directory.appendingPathComponent("config.json"))
            expectLoadingError(containing: fragments) { _ = try TransformerModel.load(Checkpoint(directory: directory)) }
        }
    }

    private func edited(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.directory(name).appendingPathComponent("config.json"))) as! [String: Any]
        edit(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }
}
