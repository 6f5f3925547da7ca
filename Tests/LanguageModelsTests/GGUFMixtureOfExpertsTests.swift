import Foundation
import Testing
import Tensors
import LanguageModels
import TestScratch

/// Mixture-of-experts GGUF files written as convert_hf_to_gguf writes `olmoe` (OLMoE) and `llama` with experts
/// (Mixtral), stacked or, as older Mixtral files store them, per expert (scripts/make_gguf_moe_fixtures.py): logits
/// equal those of transformers' `OlmoeForCausalLM` / `MixtralForCausalLM` holding the values the files store; each
/// expert's matrix reads its rows of the stacked tensor in place; malformed expert metadata and tensors are refused
/// naming the key or the tensor.
@Suite struct GGUFMixtureOfExpertsTests {
    static let names = ["olmoe-f32.gguf", "olmoe-q8_0.gguf", "mixtral-f16.gguf", "mixtral-split.gguf", "mixtral-kquants.gguf"]

    static func reference(_ name: String) throws -> (ids: [[Int]], logits: [Float]) {
        let json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: GGUFTests.directory.appendingPathComponent("moe_reference.json"))) as! [String: Any]
        let logits = try SafetensorsFile(contentsOf: GGUFTests.directory.appendingPathComponent("moe_reference_logits.safetensors"))
        return ((json[name] as! [String: Any])["input_ids"] as! [[Int]], try logits.tensor(named: name).scalars)
    }

    @Test(arguments: names) func logitsMatchTransformers(name: String) throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent(name))
        let (ids, expected) = try Self.reference(name)
        expectLogits(lm.model.forward(TokenBatch(ids)), match: expected, name)
        #expect(lm.model.blocks.allSatisfy { $0.mixture != nil && $0.mlp == nil })
    }

    @Test func configurationsComeFromTheMetadata() throws {
        let olmoe = try ModelConfiguration(gguf: try GGUFTests.file("olmoe-f32.gguf"))
        #expect(olmoe.family == .olmoe && olmoe.qkNorm && olmoe.nKVHeads == 2 && olmoe.dMLP == 32 && !olmoe.tiedEmbeddings)
        #expect(olmoe.mixture == ModelConfiguration.Mixture(experts: 8, expertsPerToken: 2, normalizesTopK: false))
        #expect(olmoe.optionsInForce.contains("mixture of experts: 2 of 8 experts per token"))
        let normalized = try ModelConfiguration(gguf: try GGUFTests.file("olmoe-q8_0.gguf"))
        #expect(normalized.mixture == ModelConfiguration.Mixture(experts: 6, expertsPerToken: 3, normalizesTopK: true))
        for name in ["mixtral-f16.gguf", "mixtral-split.gguf"] {
            let mixtral = try ModelConfiguration(gguf: try GGUFTests.file(name))
            #expect(mixtral.family == .llama(.mixtral) && mixtral.slidingWindows == [nil, nil] && mixtral.dMLP == 32)
            #expect(mixtral.mixture == ModelConfiguration.Mixture(experts: 5, expertsPerToken: 2, normalizesTopK: true))
        }
        #expect(try ModelConfiguration(gguf: try GGUFTests.file("mixtral-kquants.gguf")).tiedEmbeddings)
    }

    /// Expert `e`'s projection is rows `e·rows ..< (e+1)·rows` of the stacked tensor, read in place in its stored type
    /// (K-quants, i-quants, Q8_0, F16; qwen3moe-kquants.gguf is GGUFQwenMixtureOfExpertsTests'), with the values of the whole stack.
    @Test(arguments: [("mixtral-kquants.gguf", "block_sparse_moe.experts.2.w2", "ffn_down_exps", 256, 256),
                      ("mixtral-kquants.gguf", "block_sparse_moe.experts.1.w1", "ffn_gate_exps", 256, 256),
                      ("olmoe-q8_0.gguf", "mlp.experts.4.up_proj", "ffn_up_exps", 32, 64),
                      ("qwen3moe-kquants.gguf", "mlp.experts.3.gate_proj", "ffn_gate_exps", 256, 256),
                      ("mixtral-f16.gguf", "block_sparse_moe.experts.3.w3", "ffn_up_exps", 32, 64)])
    func expertsReadTheirRowsOfTheStackInPlace(name: String, module: String, stacked: String, rows: Int, columns: Int) throws {
        let file = try GGUFTests.file(name)
        let weights = try GGUFWeights(file: file, configuration: try ModelConfiguration(gguf: file))
        let expert = Int(module.split(separator: ".")[2])!
        let stack = try file.tensor(named: "blk.1.\(stacked).weight"), stackType = try file.info(named: "blk.1.\(stacked).weight").type
        let stackStart = try file.withUnsafeBytes(ofTensor: "blk.1.\(stacked).weight") { $0.baseAddress! }
        let stackBytes = try file.withUnsafeBytes(ofTensor: "blk.1.\(stacked).weight") { $0.count }
        let matrix = try weights.weightMatrix(module: "model.layers.1.\(module)", shape: [rows, columns], quantization: nil)
        let start: UnsafeRawPointer?
        switch matrix {
        case .gguf(let packed):
            #expect(packed.isBorrowed && packed.type == stackType)
            start = packed.withUnsafePackedBytes { $0.baseAddress }
        case .halfPrecision(let half):
            start = UnsafeRawPointer(half.withUnsafeBits { $0.baseAddress })
        default:
            Issue.record("\(name) \(module): expected a packed or 16-bit matrix"); return
        }
        #expect(start == stackStart + expert * stackBytes / (stack.shape[0]), "\(name) \(module): not read in place")
        #expect(matrix.dequantized() == stack.slice(axis: 0, expert..<(expert + 1)).reshaped([rows, columns]))
    }

    /// The vocabulary is rebuilt from `tokenizer.ggml.*` as for every architecture: llama.gguf's (the same
    /// vocabulary) ids from transformers' tokenizer.
    @Test func tokenizerIsRebuiltFromTheMetadata() throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent("olmoe-f32.gguf"))
        let reference = (try GGUFTests.reference()["llama.gguf"] as! [String: Any])["tokens"] as! [String: Any]
        for (text, expected) in zip(reference["texts"] as! [String], reference["ids"] as! [[Int]]) {
            #expect(try lm.tokenizer.encode(text, addSpecialTokens: true) == expected, "\(text.debugDescription)")
        }
        #expect(lm.tokenizer.eosTokenID == 2 && lm.configuration.eosTokenIDs == [2])
    }

    /// `name` with `replace(bytes)` applied, loaded from a temporary copy.
    static func loadEdited(_ name: String, _ replace: (inout Data) -> Void) throws {
        var data = try Data(contentsOf: GGUFTests.directory.appendingPathComponent(name))
        replace(&data)
        try withTemporaryFile(data, named: name) { _ = try LanguageModel.load(from: $0) }
    }

    /// Sets the UInt32 value of metadata `key` (the key string, its 4-byte type, then the value).
    static func setUInt32(_ key: String, _ value: UInt32, in data: inout Data) {
        let range = data.firstRange(of: Data(key.utf8))!
        withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange((range.upperBound + 4)..<(range.upperBound + 8), with: $0) }
    }

    /// Renames a tensor (same length), so that the file lacks it.
    static func rename(_ tensor: String, to other: String, in data: inout Data) {
        data.replaceSubrange(data.firstRange(of: Data(tensor.utf8))!, with: Data(other.utf8))
    }

    /// Sets extent `index` (ggml order: 0 is a row's length) of tensor `tensor` in its header record (the name, a
    /// 4-byte dimension count, then 8-byte extents); the data is not moved.
    static func setExtent(of tensor: String, _ index: Int, to value: UInt64, in data: inout Data) {
        let start = data.firstRange(of: Data(tensor.utf8))!.upperBound + 4 + 8 * index
        withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange(start..<(start + 8), with: $0) }
    }

    @Test func malformedExpertsAreRefusedNamingTheKeyOrTensor() throws {
        // The stacked experts agree with the count (their first 6 experts), the router does not.
        expectLoadingError(containing: ["olmoe-f32.gguf", "tensor 'blk.0.ffn_gate_inp.weight'", "expected shape [6, 32]", "found [8, 32]"]) {
            try Self.loadEdited("olmoe-f32.gguf") {
                Self.setUInt32("olmoe.expert_count", 6, in: &$0)
                for stack in ["gate", "up", "down"] { Self.setExtent(of: "blk.0.ffn_\(stack)_exps.weight", 2, to: 6, in: &$0) }
            }
        }
        // The router agrees with the count (its first 6 rows), the stacked experts do not.
        expectLoadingError(containing: ["olmoe-f32.gguf", "tensor 'blk.0.ffn_up_exps.weight'", "expected shape [6, 32, 32]",
                                        "olmoe.expert_count", "found [8, 32, 32]"]) {
            try Self.loadEdited("olmoe-f32.gguf") {
                Self.setUInt32("olmoe.expert_count", 6, in: &$0)
                Self.setExtent(of: "blk.0.ffn_gate_inp.weight", 1, to: 6, in: &$0)
            }
        }
        expectLoadingError(containing: ["metadata 'olmoe.expert_count'", "70000", "65536"]) {
            try Self.loadEdited("olmoe-f32.gguf") { Self.setUInt32("olmoe.expert_count", 70_000, in: &$0) }
        }
        expectLoadingError(containing: ["metadata 'llama.expert_used_count'", "9 is not between 1 and llama.expert_count 5"]) {
            try Self.loadEdited("mixtral-f16.gguf") { Self.setUInt32("llama.expert_used_count", 9, in: &$0) }
        }
        expectLoadingError(containing: ["tensor 'blk.1.ffn_gate_exps.weight' (for model.layers.1.block_sparse_moe.experts.0.w1.weight) is missing",
                                        "per-expert 'blk.1.ffn_gate.0.weight'"]) {
            try Self.loadEdited("mixtral-f16.gguf") { Self.rename("blk.1.ffn_gate_exps.weight", to: "blk.1.ffn_gate_exps.weighX", in: &$0) }
        }
        expectLoadingError(containing: ["tensor 'blk.1.ffn_down_exps.weight' (for model.layers.1.block_sparse_moe.experts.4.w2.weight) is missing",
                                        "per-expert 'blk.1.ffn_down.4.weight'"]) {
            try Self.loadEdited("mixtral-split.gguf") { Self.rename("blk.1.ffn_down.4.weight", to: "blk.1.ffn_down.4.weighX", in: &$0) }
        }
        expectLoadingError(containing: ["tensor 'blk.0.ffn_up.4.weight' is an expert beyond the 4 of llama.expert_count"]) {
            try Self.loadEdited("mixtral-split.gguf") {
                Self.setUInt32("llama.expert_count", 4, in: &$0)
                Self.setExtent(of: "blk.0.ffn_gate_inp.weight", 1, to: 4, in: &$0)
            }
        }
    }
}
