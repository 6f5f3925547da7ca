import Foundation
import Testing
import TestScratch
import Tensors
import LanguageModels

/// Gemma, Gemma-2 and Gemma-3 GGUF files written as llama.cpp writes them (scripts/make_gguf_fixtures.py): logits
/// equal transformers' GGUF loading (Gemma-2, 3) or the transformers model the file was made from with the file's
/// values (Gemma 1, which transformers does not load from GGUF), and ids equal transformers' rebuilt tokenizer.
@Suite struct GGUFGemmaTests {
    static let names = ["gemma.gguf", "gemma2.gguf", "gemma3.gguf"]

    static func reference(_ name: String) throws -> [String: Any] {
        let url = GGUFTests.directory.appendingPathComponent("gemma_reference.json")
        return (try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any])[name] as! [String: Any]
    }

    @Test(arguments: names) func logitsMatchTransformers(name: String) throws {
        let lm = try LanguageModel.load(gguf: GGUFTests.directory.appendingPathComponent(name))
        let ids = (try Self.reference(name)["logits"] as! [String: Any])["input_ids"] as! [[Int]]
        let expected = try SafetensorsFile(contentsOf: GGUFTests.directory.appendingPathComponent("gemma_reference_logits.safetensors"))
            .tensor(named: name).scalars
        expectLogits(lm.model.forward(TokenBatch(ids)), match: expected, name)
    }

    @Test(arguments: names) func idsMatchTransformers(name: String) throws {
        let tokenizer = try GGUFTokenizer.tokenizer(from: try GGUFTests.file(name))
        let reference = try Self.reference(name)["tokens"] as! [String: Any]
        let texts = reference["texts"] as! [String]
        #expect(texts.count >= 6)
        for (index, text) in texts.enumerated() {
            for (key, special) in [("ids", true), ("ids_without_special_tokens", false)] {
                let ids = try tokenizer.encode(text, addSpecialTokens: special), expected = (reference[key] as! [[Int]])[index]
                #expect(ids == expected, "\(name) \(key): \(text.debugDescription): \(ids) instead of \(expected)")
            }
        }
    }

    @Test func configurationComesFromTheMetadata() throws {
        let gemma = try ModelConfiguration(gguf: try GGUFTests.file("gemma.gguf"))
        #expect(gemma.family == .gemma(.gemma) && gemma.dHead == 16 && gemma.nKVHeads == 1 && gemma.tiedEmbeddings)
        #expect(gemma.attentionSoftcap == nil && gemma.queryPreAttentionScalar == nil && gemma.slidingWindows == [nil, nil])

        let gemma2 = try ModelConfiguration(gguf: try GGUFTests.file("gemma2.gguf"))
        #expect(gemma2.family == .gemma(.gemma2) && gemma2.slidingWindows == [4, nil])
        #expect(gemma2.attentionSoftcap == 50 && gemma2.finalLogitSoftcap == 30 && gemma2.queryPreAttentionScalar == 256)

        let gemma3 = try ModelConfiguration(gguf: try GGUFTests.file("gemma3.gguf"))
        #expect(gemma3.family == .gemma(.gemma3Text) && gemma3.qkNorm && gemma3.finalLogitSoftcap == nil)
        #expect(gemma3.slidingWindows == [4, 4, 4, 4, 4, nil])
        #expect(gemma3.rotary(layer: 0)?.base == 10_000 && gemma3.rotary(layer: 5)?.base == 1_000_000)
    }
}

/// Gemma metadata the tiny fixtures leave at their defaults: llama.cpp's Gemma-3 linear rope scaling (global layers
/// only), `rope.freq_base_swa`, a per-layer sliding-window pattern, Gemma-2's soft-capping keys, and the 27B
/// models' `query_pre_attn_scalar` (`embedding_length / head_count`).
@Suite struct GGUFGemmaMetadataTests {
    static func configuration(_ architecture: String, layers: UInt32, extra: (inout GGUFBytes) -> Int) throws -> ModelConfiguration {
        var bytes = GGUFBytes(), body = GGUFBytes()
        let count = extra(&body)
        bytes.header(tensors: 0, metadata: UInt64(8 + count))
        bytes.keyString("general.architecture", architecture)
        bytes.keyUInt32("\(architecture).vocab_size", 10)
        bytes.keyUInt32("\(architecture).block_count", layers)
        bytes.keyUInt32("\(architecture).embedding_length", 64)
        bytes.keyUInt32("\(architecture).attention.head_count", 2)
        bytes.keyUInt32("\(architecture).attention.key_length", 16)
        bytes.keyUInt32("\(architecture).feed_forward_length", 128)
        bytes.keyFloat32("\(architecture).attention.layer_norm_rms_epsilon", 1e-6)
        bytes.data.append(body.data)
        return try withTemporaryFile(bytes.data, named: "gemma-metadata.gguf") { try ModelConfiguration(gguf: GGUFFile(contentsOf: $0)) }
    }

    @Test func gemma3ScalingBasesAndPattern() throws {
        let c = try Self.configuration("gemma3", layers: 4) { bytes in
            bytes.keyString("gemma3.rope.scaling.type", "linear")
            bytes.keyFloat32("gemma3.rope.scaling.factor", 8)
            bytes.keyFloat32("gemma3.rope.freq_base", 1_000_000)
            bytes.keyFloat32("gemma3.rope.freq_base_swa", 500)
            bytes.keyUInt32("gemma3.attention.sliding_window", 16)
            bytes.keyUInt32("gemma3.attention.sliding_window_pattern", 2)
            return 6
        }
        #expect(c.slidingWindows == [16, nil, 16, nil] && c.queryPreAttentionScalar == 256 && c.finalLogitSoftcap == nil)
        #expect(c.rotary(layer: 1)?.scaling == .linear(factor: 8) && c.rotary(layer: 1)?.base == 1_000_000)
        #expect(c.rotary(layer: 0)?.scaling == RotaryEmbedding.Scaling.none && c.rotary(layer: 0)?.base == 500)
    }

    @Test func gemma2SoftCapsAndTheLargestModelsScale() throws {
        let c = try Self.configuration("gemma2", layers: 46) { bytes in
            bytes.keyFloat32("gemma2.attn_logit_softcapping", 20)
            bytes.keyFloat32("gemma2.final_logit_softcapping", 10)
            return 2
        }
        #expect(c.attentionSoftcap == 20 && c.finalLogitSoftcap == 10)
        #expect(c.queryPreAttentionScalar == 32 && c.slidingWindows.prefix(2) == [4096, nil])
    }
}
