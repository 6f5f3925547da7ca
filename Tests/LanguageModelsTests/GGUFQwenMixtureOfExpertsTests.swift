import Foundation
import Testing
import Tensors
import LanguageModels
import TestScratch

/// Qwen mixtures of experts in GGUF files written as convert_hf_to_gguf writes `qwen2moe` (Qwen1.5-MoE: q/k/v biases,
/// a shared expert `ffn_{gate,up,down}_shexp` gated by `ffn_gate_inp_shexp`) and `qwen3moe` (Qwen3-30B-A3B: per-head
/// q/k norms) (scripts/make_gguf_moe_fixtures.py): logits equal those of transformers' `Qwen2MoeForCausalLM` /
/// `Qwen3MoeForCausalLM` holding the values the files store; the widths come from `expert_feed_forward_length` and
/// `expert_shared_feed_forward_length`; missing tensors and widths that disagree with them are refused naming them.
@Suite struct GGUFQwenMixtureOfExpertsTests {
    static let names = ["qwen2moe-f32.gguf", "qwen2moe-q8_0.gguf", "qwen3moe-f32.gguf", "qwen3moe-kquants.gguf"]

    @Test(arguments: names) func logitsMatchTransformers(name: String) throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent(name))
        let (ids, expected) = try GGUFMixtureOfExpertsTests.reference(name)
        expectLogits(lm.model.forward(TokenBatch(ids)), match: expected, name)
        let shared = name.hasPrefix("qwen2moe")
        #expect(lm.model.blocks.allSatisfy { $0.mlp == nil && ($0.mixture?.shared != nil) == shared })
    }

    @Test func configurationsComeFromTheMetadata() throws {
        typealias Mixture = ModelConfiguration.Mixture
        let qwen2 = try ModelConfiguration(gguf: try GGUFTests.file("qwen2moe-f32.gguf"))
        #expect(qwen2.family == .llama(.qwen2MoE) && qwen2.attentionQKVBias && !qwen2.attentionOutputBias && !qwen2.qkNorm)
        #expect(qwen2.dMLP == 96 && !qwen2.tiedEmbeddings && qwen2.nKVHeads == 2)
        #expect(qwen2.mixture == Mixture(experts: 6, expertsPerToken: 2, normalizesTopK: false, expertWidth: 32, sharedExpertWidth: 64))
        let normalized = try ModelConfiguration(gguf: try GGUFTests.file("qwen2moe-q8_0.gguf"))
        #expect(normalized.mixture == Mixture(experts: 5, expertsPerToken: 3, normalizesTopK: true, expertWidth: 32, sharedExpertWidth: 64))
        let qwen3 = try ModelConfiguration(gguf: try GGUFTests.file("qwen3moe-f32.gguf"))
        #expect(qwen3.family == .llama(.qwen3MoE) && qwen3.qkNorm && !qwen3.attentionQKVBias && qwen3.tiedEmbeddings)
        #expect(qwen3.dHead == 16 && qwen3.dModel == 32 && qwen3.dMLP == 72)
        #expect(qwen3.mixture == Mixture(experts: 8, expertsPerToken: 3, normalizesTopK: true, expertWidth: 24))
        let kquants = try ModelConfiguration(gguf: try GGUFTests.file("qwen3moe-kquants.gguf"))
        #expect(kquants.dHead == 32 && !kquants.tiedEmbeddings)
        #expect(kquants.mixture == Mixture(experts: 4, expertsPerToken: 2, normalizesTopK: true, expertWidth: 256))
        // The shared expert's gate as today's converter writes it, [1, dModel], and as older ones squeezed it, [dModel].
        #expect(try GGUFTests.file("qwen2moe-f32.gguf").info(named: "blk.0.ffn_gate_inp_shexp.weight").shape == [1, 64])
        #expect(try GGUFTests.file("qwen2moe-q8_0.gguf").info(named: "blk.0.ffn_gate_inp_shexp.weight").shape == [64])
    }

    /// Without `expert_weights_norm` the top-k weights are renormalized as llama.cpp fixes it per architecture: not
    /// for `qwen2moe`, for `qwen3moe`; without `expert_feed_forward_length` experts are `feed_forward_length /
    /// expert_used_count` wide (llama.cpp's default).
    @Test func missingKeysTakeLlamaCppDefaults() throws {
        func configuration(_ name: String, hiding keys: [String]) throws -> ModelConfiguration {
            var data = try Data(contentsOf: GGUFTests.directory.appendingPathComponent(name))
            for key in keys { GGUFMixtureOfExpertsTests.rename(key, to: String(key.dropLast()) + "X", in: &data) }
            return try withTemporaryFile(data, named: name) { try ModelConfiguration(gguf: try GGUFFile(contentsOf: $0)) }
        }
        let qwen2 = try configuration("qwen2moe-q8_0.gguf", hiding: ["qwen2moe.expert_weights_norm"])
        #expect(qwen2.mixture?.normalizesTopK == false)
        let qwen3 = try configuration("qwen3moe-f32.gguf", hiding: ["qwen3moe.expert_weights_norm", "qwen3moe.expert_feed_forward_length"])
        #expect(qwen3.mixture?.normalizesTopK == true && qwen3.mixture?.expertWidth == 72 / 3)
    }

    /// The byte-level BPE vocabulary is rebuilt from `tokenizer.ggml.*` as for every architecture: qwen2.gguf's (the
    /// same vocabulary) ids from transformers' tokenizer.
    @Test func tokenizerIsRebuiltFromTheMetadata() throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent("qwen3moe-f32.gguf"))
        let reference = (try GGUFTests.reference()["qwen2.gguf"] as! [String: Any])["tokens"] as! [String: Any]
        for (text, expected) in zip(reference["texts"] as! [String], reference["ids"] as! [[Int]]) {
            #expect(try lm.tokenizer.encode(text, addSpecialTokens: true) == expected, "\(text.debugDescription)")
        }
    }

    @Test func malformedFilesAreRefusedNamingTheKeyOrTensor() throws {
        typealias Edit = GGUFMixtureOfExpertsTests
        expectLoadingError(containing: ["qwen2moe-f32.gguf", "tensor 'blk.1.ffn_down_shexp.weight' (for model.layers.1.mlp.shared_expert.down_proj.weight) is missing"]) {
            try Edit.loadEdited("qwen2moe-f32.gguf") { Edit.rename("blk.1.ffn_down_shexp.weight", to: "blk.1.ffn_down_shexp.weighX", in: &$0) }
        }
        expectLoadingError(containing: ["tensor 'blk.0.ffn_gate_inp_shexp.weight' (for model.layers.0.mlp.shared_expert_gate.weight) is missing"]) {
            try Edit.loadEdited("qwen2moe-q8_0.gguf") { Edit.rename("blk.0.ffn_gate_inp_shexp.weight", to: "blk.0.ffn_gate_inp_shexp.weighX", in: &$0) }
        }
        expectLoadingError(containing: ["tensor 'blk.1.ffn_gate_inp.weight' (for model.layers.1.mlp.gate.weight) is missing"]) {
            try Edit.loadEdited("qwen3moe-f32.gguf") { Edit.rename("blk.1.ffn_gate_inp.weight", to: "blk.1.ffn_gate_inp.weighX", in: &$0) }
        }
        expectLoadingError(containing: ["_shexp.weight' (for model.layers.0.mlp.shared_expert.", "expected shape [32, 64]", "found [64, 64]"]) {
            try Edit.loadEdited("qwen2moe-f32.gguf") { Edit.setUInt32("qwen2moe.expert_shared_feed_forward_length", 32, in: &$0) }
        }
        expectLoadingError(containing: ["_exps.weight' (for model.layers.0.mlp.experts.0.", "expected shape [8, 16, 32]", "found [8, 24, 32]"]) {
            try Edit.loadEdited("qwen3moe-f32.gguf") { Edit.setUInt32("qwen3moe.expert_feed_forward_length", 16, in: &$0) }
        }
        expectLoadingError(containing: ["metadata 'qwen2moe.expert_shared_feed_forward_length'", "found 0"]) {
            try Edit.loadEdited("qwen2moe-f32.gguf") { Edit.setUInt32("qwen2moe.expert_shared_feed_forward_length", 0, in: &$0) }
        }
        expectLoadingError(containing: ["metadata 'qwen3moe.expert_used_count'", "9 is not between 1 and qwen3moe.expert_count 8"]) {
            try Edit.loadEdited("qwen3moe-f32.gguf") { Edit.setUInt32("qwen3moe.expert_used_count", 9, in: &$0) }
        }
    }
}
