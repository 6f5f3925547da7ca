import Foundation
import Testing
import TestScratch

/// `interp` on a GGUF file (the fixtures of scripts/make_gguf_fixtures.py).
@Suite struct GGUFCommandTests {
    static let llama = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LanguageModelsTests/Fixtures/gguf/llama.gguf").path

    @Test func infoNamesTheFamilyAndTheQuantizationMix() throws {
        let result = try CLI.run(["info", "--model", Self.llama, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let info = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
        #expect(info["family"] as? String == "llama" && info["layers"] as? Int == 3)
        let types = info["ggufTensorTypes"] as! [[String: Any]]
        let tensors = Dictionary(uniqueKeysWithValues: types.map { ($0["type"] as! String, $0["tensors"] as! Int) })
        // 3 layers: Q4_0 attn_q x3 + output, Q2_K/Q3_K/Q4_K one down projection each, F32 norms 2 x 3 + output_norm + ffn_up.0.
        #expect(tensors["Q4_0"] == 4 && tensors["Q2_K"] == 1 && tensors["Q3_K"] == 1 && tensors["Q4_K"] == 1 && tensors["F32"] == 8)
        let text = try CLI.run(["info", "--model", Self.llama])
        #expect(text.standardOutput.contains("GGUF types") && text.standardOutput.contains("Q4_K 1 tensors"))
    }

    /// A Qwen2-MoE file (make_gguf_moe_fixtures.py): the family, the shared expert, and the parameters transformers'
    /// `Qwen2MoeForCausalLM` counts (234,944); F32 tensors are the norms, biases, routers and shared-expert gates.
    @Test func infoDescribesAQwenMixtureOfExperts() throws {
        let path = URL(fileURLWithPath: Self.llama).deletingLastPathComponent().appendingPathComponent("qwen2moe-q8_0.gguf").path
        let result = try CLI.run(["info", "--model", path, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let info = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
        #expect(info["family"] as? String == "qwen2_moe" && info["parameters"] as? Int == 234_944 && info["dMLP"] as? Int == 96)
        let options = info["options"] as! [String]
        #expect(options.contains("mixture of experts: 3 of 5 experts per token (width 32), weights renormalized"))
        #expect(options.contains("a gated shared expert of width 64"))
        let types = info["ggufTensorTypes"] as! [[String: Any]]
        // 2 layers: attn_norm, ffn_norm, q/k/v biases, router, shared gate = 7 each, + output_norm.
        #expect(types.first { $0["type"] as? String == "F32" }?["tensors"] as? Int == 15)
    }

    @Test func runPredictsFromAGGUFFile() throws {
        let result = try CLI.run(["run", "--model", Self.llama, "--prompt", "Hello world", "--top-k", "3"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.split(separator: "\n").count == 3)
    }

    @Test func aBrokenGGUFFileIsNamed() throws {
        try withTemporaryDirectory { scratch in
            let url = scratch.appendingPathComponent("broken.gguf")
            try Data("GGUF\u{3}\0\0\0".utf8).write(to: url)
            let result = try CLI.run(["info", "--model", url.path])
            #expect(result.status != 0 && result.standardError.contains(url.path) && result.standardError.contains("tensor_count"))
        }
    }
}
