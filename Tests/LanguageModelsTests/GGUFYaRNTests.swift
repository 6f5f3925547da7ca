import Foundation
import Testing
import TestScratch
import Tensors
import LanguageModels

/// YaRN rotary scaling in GGUF files (`rope.scaling.type` `yarn`): llama-yarn.gguf, qwen3-yarn.gguf,
/// smollm3-yarn.gguf (its 4th layer without rotary), olmo3-yarn.gguf and mistral3-yarn.gguf (Ministral 3, queries scaled by
/// position past 16) are tiny models written as convert_hf_to_gguf writes them from a transformers `rope_scaling` of
/// type yarn (scripts/make_gguf_fixtures.py yarn); on 40 tokens, past their original context of 32, their logits are
/// those of the transformers models they were written from (transformers' GGUF loader ignores `rope.scaling.*` for
/// these architectures, so it cannot be the reference).
@Suite struct GGUFYaRNTests {
    @Test(arguments: ["llama-yarn.gguf", "qwen3-yarn.gguf", "smollm3-yarn.gguf", "olmo3-yarn.gguf", "mistral3-yarn.gguf"])
    func logitsMatchTransformers(name: String) throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent(name))
        let reference = try JSONSerialization.jsonObject(
            with: Data(contentsOf: GGUFTests.directory.appendingPathComponent("yarn_reference.json"))) as! [String: Any]
        let ids = (reference[name] as! [String: Any])["input_ids"] as! [[Int]]
        #expect(ids.allSatisfy { $0.count > 32 })
        let expected = try SafetensorsFile(contentsOf: GGUFTests.directory.appendingPathComponent("yarn_reference_logits.safetensors"))
            .tensor(named: name).scalars
        expectLogits(lm.model.forward(TokenBatch(ids)), match: expected, name)
    }

    /// The settings the converter wrote; absent ones take transformers' defaults (betas 32 and 1, attention factor
    /// 0.1 ln(factor) + 1), present ones are followed where llama.cpp would not (qwen3's betas and attention factor).
    @Test func scalingComesFromTheMetadata() throws {
        let llama = try ModelConfiguration(gguf: GGUFTests.file("llama-yarn.gguf"))
        #expect(llama.rotary(layer: 0)?.scaling == .yarn(factor: 4, originalMaxPositionEmbeddings: 32, betaFast: 32, betaSlow: 1,
                                                          truncate: true, attentionFactor: 0.1 * Foundation.log(4) + 1))
        let qwen3 = try ModelConfiguration(gguf: GGUFTests.file("qwen3-yarn.gguf"))
        #expect(qwen3.rotary(layer: 1)?.scaling == .yarn(factor: 3, originalMaxPositionEmbeddings: 32, betaFast: 8, betaSlow: 2,
                                                          truncate: true, attentionFactor: Double(Float(1.3))))
        let smollm3 = try ModelConfiguration(gguf: GGUFTests.file("smollm3-yarn.gguf"))
        #expect(smollm3.rotary(layer: 3) == nil)
        #expect(smollm3.rotary(layer: 2)?.scaling == .yarn(factor: 2, originalMaxPositionEmbeddings: 32, betaFast: 32, betaSlow: 1,
                                                            truncate: true, attentionFactor: 0.1 * Foundation.log(2) + 1))
        let olmo3 = try ModelConfiguration(gguf: GGUFTests.file("olmo3-yarn.gguf"))
        #expect(olmo3.family == .olmo3 && olmo3.slidingWindows == [4, 4, 4, nil])
        #expect(olmo3.rotary(layer: 3)?.scaling == .yarn(factor: 4, originalMaxPositionEmbeddings: 32, betaFast: 32, betaSlow: 1,
                                                          truncate: true, attentionFactor: Double(Float(0.1 * Foundation.log(4) + 1))))
        #expect(olmo3.rotary(layer: 3)?.base == 10_000)
        for layer in 0..<3 { #expect(olmo3.rotary(layer: layer) == RotaryEmbedding(headDim: 32, base: 500_000)) }
        let ministral3 = try ModelConfiguration(gguf: GGUFTests.file("mistral3-yarn.gguf"))
        #expect(ministral3.family == .llama(.ministral3))
        #expect(ministral3.rotary(layer: 0)?.scaling == .yarn(factor: 4, originalMaxPositionEmbeddings: 16, betaFast: 32, betaSlow: 1,
                                                               truncate: true, attentionFactor: 1))
        #expect(ministral3.rotary(layer: 0)?.queryScaling == QueryPositionScaling(beta: 0.5, originalMaxPositionEmbeddings: 16))
    }

    /// A metadata-only `architecture` file in `directory` with a small decoder's shape and `scaling` (keys without
    /// the `<architecture>.rope.scaling.` prefix; strings, integers or floats).
    private func file(_ scaling: [(String, Any)], architecture a: String = "llama", layers: UInt32 = 1,
                      in directory: URL) throws -> URL {
        var bytes = GGUFBytes()
        let shape: [(String, UInt32)] = [("vocab_size", 16), ("block_count", layers), ("embedding_length", 32),
                                         ("attention.head_count", 2), ("feed_forward_length", 64)]
        bytes.header(tensors: 0, metadata: UInt64(2 + shape.count + scaling.count))
        bytes.keyString("general.architecture", a)
        for (key, value) in shape { bytes.keyUInt32("\(a).\(key)", value) }
        bytes.keyFloat32("\(a).attention.layer_norm_rms_epsilon", 1e-5)
        for (key, value) in scaling {
            let name = "\(a).rope.scaling.\(key)"
            switch value {
            case let string as String: bytes.keyString(name, string)
            case let integer as Int: bytes.keyUInt32(name, UInt32(integer))
            default: bytes.keyFloat32(name, Float(value as! Double))
            }
        }
        let url = directory.appendingPathComponent("\(a)-\(UUID().uuidString).gguf")
        try bytes.data.write(to: url)
        return url
    }

    private func scaling(_ url: URL) throws -> RotaryEmbedding.Scaling? {
        try ModelConfiguration(gguf: GGUFFile(contentsOf: url)).rotary(layer: 0)?.scaling
    }

    @Test func nonsenseAndUnrepresentableSettingsNameTheKey() throws {
        try withTemporaryDirectory { directory in
            let yarn: [(String, Any)] = [("type", "yarn"), ("factor", 4.0), ("original_context_length", 16)]
            let expected = RotaryEmbedding.Scaling.yarn(factor: 4, originalMaxPositionEmbeddings: 16, betaFast: 32, betaSlow: 1,
                                                        truncate: true, attentionFactor: 0.1 * Foundation.log(4) + 1)
            #expect(try scaling(file(yarn, in: directory)) == expected)
            let neutral: [(String, Any)] = [("yarn_ext_factor", 1.0), ("yarn_log_multiplier", 0.0), ("attn_factor", 1.0)]
            #expect(try scaling(file(yarn + neutral, in: directory)) == expected)
            let cases: [([(String, Any)], String)] = [
                ([("type", "yarn")], "metadata 'llama.rope.scaling.factor' is missing"),
                ([("type", "yarn"), ("factor", 0.0)], "metadata 'llama.rope.scaling.factor' must be positive for yarn rope scaling, found 0"),
                ([("type", "yarn"), ("factor", -2.0)], "metadata 'llama.rope.scaling.factor' must be positive"),
                ([("type", "yarn"), ("factor", Double.infinity)], "metadata 'llama.rope.scaling.factor' must be positive for yarn rope scaling, found inf"),
                (yarn.dropLast() + [("original_context_length", 0)], "metadata 'llama.rope.scaling.original_context_length' must be positive, found 0"),
                (yarn + [("yarn_beta_fast", 0.0)], "metadata 'llama.rope.scaling.yarn_beta_fast' must be positive"),
                (yarn + [("yarn_beta_slow", -1.0)], "metadata 'llama.rope.scaling.yarn_beta_slow' must be positive"),
                (yarn + [("yarn_attn_factor", 0.0)], "metadata 'llama.rope.scaling.yarn_attn_factor' must be positive"),
                (yarn + [("yarn_ext_factor", 0.5)], "metadata 'llama.rope.scaling.yarn_ext_factor' 0.5 is not supported"),
                (yarn + [("yarn_log_multiplier", 0.5)], "metadata 'llama.rope.scaling.yarn_log_multiplier' 0.5 is not supported"),
                (yarn + [("attn_factor", 2.0)], "metadata 'llama.rope.scaling.attn_factor' 2.0 is not supported"),
                ([("type", "ntk")], "metadata 'llama.rope.scaling.type' 'ntk' is not supported (supported: none, linear, yarn)"),
            ]
            for (settings, message) in cases {
                let url = try file(settings, in: directory)
                expectLoadingError(containing: [url.path, message]) { _ = try scaling(url) }
            }
            // Gemma-3: the global layer (every 6th) scales, the sliding-window ones keep base 10000 unscaled.
            let gemma3 = try ModelConfiguration(gguf: GGUFFile(contentsOf: file(yarn, architecture: "gemma3", layers: 6, in: directory)))
            #expect(gemma3.rotary(layer: 5)?.scaling == expected)
            #expect(gemma3.rotary(layer: 0) == RotaryEmbedding(headDim: 16, base: 10_000))
            // Ministral 3: llama.cpp's graph cancels the attention factor; transformers agrees when mscale_all_dim is 1.
            let mistral3 = try file(yarn + [("yarn_log_multiplier", 1.0)], architecture: "mistral3", in: directory)
            #expect(try scaling(mistral3) == .yarn(factor: 4, originalMaxPositionEmbeddings: 16, betaFast: 32, betaSlow: 1,
                                                    truncate: true, attentionFactor: 1))
            for key in ["yarn_log_multiplier", "yarn_attn_factor"] {
                let url = try file(yarn + [(key, 0.5)], architecture: "mistral3", in: directory)
                expectLoadingError(containing: [url.path, "metadata 'mistral3.rope.scaling.\(key)' 0.5 is not supported",
                                                "cancels YaRN's attention factor"]) { _ = try scaling(url) }
            }
            let phi3 = try file(yarn, architecture: "phi3", in: directory)
            expectLoadingError(containing: [phi3.path, "metadata 'phi3.rope.scaling.type' 'yarn' is not supported for phi3"]) {
                _ = try scaling(phi3)
            }
        }
    }
}
