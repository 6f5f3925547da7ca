import Foundation
import Testing
import Tensors
import LanguageModels
import TestScratch

/// `gpt2` GGUF files written as convert_hf_to_gguf writes them (scripts/make_gguf_fixtures.py gpt2): a tiny GPT-2
/// with fused `attn_qkv` and its bias, `position_embd`, LayerNorms, F32/F16/Q8_0 matrices and a separate Q8_0
/// `output.weight` (gpt2.gguf) or none (gpt2-tied.gguf); logits equal transformers' loading each file.
@Suite struct GGUFGPT2Tests {
    @Test(arguments: ["gpt2.gguf", "gpt2-tied.gguf"]) func logitsMatchTransformers(name: String) throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent(name))
        let reference = try JSONSerialization.jsonObject(
            with: Data(contentsOf: GGUFTests.directory.appendingPathComponent("gpt2_reference.json"))) as! [String: Any]
        let ids = (reference[name] as! [String: Any])["input_ids"] as! [[Int]]
        let expected = try SafetensorsFile(contentsOf: GGUFTests.directory.appendingPathComponent("gpt2_reference_logits.safetensors"))
            .tensor(named: name).scalars
        expectLogits(lm.model.forward(TokenBatch(ids)), match: expected, name)
        #expect(try lm.tokens("Hello world").count > 1)
    }

    @Test func configurationComesFromTheMetadata() throws {
        let gpt2 = try ModelConfiguration(gguf: try GGUFTests.file("gpt2.gguf"))
        #expect(gpt2.family == .gpt2 && gpt2.positionEncoding == .learned && gpt2.activation == .geluTanh)
        #expect(gpt2.nHeads == 4 && gpt2.dHead == 8 && gpt2.dMLP == 128 && gpt2.maxPositions == 32 && gpt2.normEpsilon == 1e-5)
        #expect(gpt2.attentionQKVBias && gpt2.attentionOutputBias && gpt2.mlpBias && !gpt2.tiedEmbeddings)
        #expect(try ModelConfiguration(gguf: try GGUFTests.file("gpt2-tied.gguf")).tiedEmbeddings)
    }

    /// The transposed `Conv1D` weights are read in place in their stored type.
    @Test func conv1DWeightsAreReadInPlace() throws {
        let file = try GGUFTests.file("gpt2.gguf")
        let weights = try GGUFWeights(file: file, configuration: try ModelConfiguration(gguf: file))
        let fused = try weights.conv1DWeight(named: "transformer.h.1.attn.c_attn.weight", inputs: 32, outputs: 96)
        guard case .gguf(let matrix) = fused else { Issue.record("expected a packed Q8_0 matrix"); return }
        #expect(matrix.withUnsafePackedBytes { $0.baseAddress } == (try file.withUnsafeBytes(ofTensor: "blk.1.attn_qkv.weight") { $0.baseAddress }))
        #expect(weights.has("transformer.wpe.weight") && !weights.has("transformer.h.0.attn.bias"))
    }

    @Test func errorsNameTheKeyOrTensor() throws {
        func file(headsKV: UInt32) -> Data {
            var bytes = GGUFBytes()
            bytes.header(tensors: 0, metadata: 8)
            bytes.keyString("general.architecture", "gpt2")
            bytes.keyUInt32("gpt2.vocab_size", 10)
            bytes.keyUInt32("gpt2.block_count", 1)
            bytes.keyUInt32("gpt2.embedding_length", 32)
            bytes.keyUInt32("gpt2.attention.head_count", 4)
            bytes.keyUInt32("gpt2.attention.head_count_kv", headsKV)
            bytes.keyUInt32("gpt2.feed_forward_length", 128)
            bytes.keyFloat32("gpt2.attention.layer_norm_epsilon", 1e-5)
            return bytes.data
        }
        try withTemporaryFile(file(headsKV: 2), named: "gpt2-gqa.gguf") { url in
            expectLoadingError(containing: [url.path, "metadata 'gpt2.attention.head_count_kv' 2 differs from the head count 4"]) {
                _ = try ModelConfiguration(gguf: GGUFFile(contentsOf: url))
            }
        }
        try withTemporaryFile(file(headsKV: 4), named: "gpt2-empty.gguf") { url in
            expectLoadingError(containing: [url.path, "tensor 'blk.0.attn_qkv.weight' (for h.0.attn.c_attn.weight) is missing"]) {
                _ = try LanguageModel.load(gguf: url)
            }
        }
    }
}
