import Foundation
import Testing
import Tensors
import LanguageModels
import TestScratch

/// `phi3` GGUF files written as convert_hf_to_gguf writes them (scripts/make_gguf_fixtures.py phi3): the same tiny
/// Phi-3 in F32, F16 and Q8_0, whose logits equal transformers' loading each file (`from_pretrained(dir,
/// gguf_file=...)`), and a Phi-4-mini-like file (partial rotary, LongRoPE factors, tied embeddings), which
/// transformers' GGUF loader reads without its rotary settings, checked against the transformers model it was
/// written from holding the file's values, on a pass within the original context and one beyond it.
@Suite struct GGUFPhi3Tests {
    static func cases(_ name: String) throws -> [(ids: [[Int]], logits: [Float])] {
        let reference = try JSONSerialization.jsonObject(
            with: Data(contentsOf: GGUFTests.directory.appendingPathComponent("phi3_reference.json"))) as! [String: Any]
        let logits = try SafetensorsFile(contentsOf: GGUFTests.directory.appendingPathComponent("phi3_reference_logits.safetensors"))
        return try (reference[name] as! [[String: Any]]).enumerated().map { index, entry in
            (entry["input_ids"] as! [[Int]], try logits.tensor(named: "\(name)/\(index)").scalars)
        }
    }

    @Test(arguments: ["phi3.gguf", "phi3-f16.gguf", "phi3-q8_0.gguf", "phi3-longrope.gguf"])
    func logitsMatchTransformers(name: String) throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent(name))
        for (ids, expected) in try Self.cases(name) {
            expectLogits(lm.model.forward(TokenBatch(ids)), match: expected, "\(name), \(ids[0].count) tokens")
        }
        #expect(try lm.tokens("Hello world").count > 1)
    }

    @Test func configurationsComeFromTheMetadata() throws {
        let phi3 = try ModelConfiguration(gguf: try GGUFTests.file("phi3-q8_0.gguf"))
        #expect(phi3.family == .phi3 && phi3.nHeads == 4 && phi3.nKVHeads == 2 && phi3.dMLP == 64 && phi3.activation == .silu)
        #expect(!phi3.tiedEmbeddings && phi3.normEpsilon == 1e-5 && phi3.slidingWindows == [nil, nil] && phi3.dtype == "Q8_0")
        #expect(phi3.rotary(layer: 0) == RotaryEmbedding(headDim: 8, base: 10_000))
        let long = try ModelConfiguration(gguf: try GGUFTests.file("phi3-longrope.gguf"))
        #expect(long.tiedEmbeddings && long.nHeads == 2 && long.nKVHeads == 1 && long.maxPositions == 64)
        guard let rotary = long.rotary(layer: 0), case .longRoPE(let short, let longFactors, 16, let attention) = rotary.scaling else {
            Issue.record("expected LongRoPE with original context 16"); return
        }
        #expect(rotary.headDim == 16 && rotary.rotaryDim == 8 && short.count == 4 && longFactors.count == 4)
        #expect(Swift.abs(attention - (1 + Foundation.log(4.0) / Foundation.log(16.0)).squareRoot()) < 1e-6)
    }

    /// The configuration of a `phi3` file holding the rope-factor tensors `factors` (every value 2) and the metadata
    /// `extra` writes (it returns how many keys), or the error reading it.
    static func longRoPEFile(factors: [(name: String, count: Int)], extra: (inout GGUFBytes) -> Int) throws -> (ModelConfiguration?, Error?) {
        var bytes = GGUFBytes(), body = GGUFBytes()
        let count = extra(&body)
        bytes.header(tensors: UInt64(factors.count), metadata: UInt64(8 + count))
        bytes.keyString("general.architecture", "phi3")
        bytes.keyUInt32("phi3.vocab_size", 10)
        bytes.keyUInt32("phi3.block_count", 1)
        bytes.keyUInt32("phi3.embedding_length", 64)
        bytes.keyUInt32("phi3.attention.head_count", 4)
        bytes.keyUInt32("phi3.feed_forward_length", 128)
        bytes.keyUInt32("phi3.rope.dimension_count", 8)
        bytes.keyFloat32("phi3.attention.layer_norm_rms_epsilon", 1e-5)
        bytes.data.append(body.data)
        var offset: UInt64 = 0
        for (name, count) in factors {
            bytes.tensor(name, [UInt64(count)], type: 0, offset: offset)
            offset += UInt64((count * 4 + 31) / 32 * 32)
        }
        bytes.pad(to: 32)
        for (_, count) in factors {
            (0..<count).forEach { _ in bytes.u32(Float(2).bitPattern) }
            bytes.pad(to: 32)
        }
        return try withTemporaryFile(bytes.data, named: "phi3-longrope.gguf") { url in
            do { return (try ModelConfiguration(gguf: GGUFFile(contentsOf: url)), nil) } catch { return (nil, error) }
        }
    }

    @Test func longRoPEErrorsNameTheTensorOrKey() throws {
        func expectError(_ fragment: String, factors: [(String, Int)], extra: (inout GGUFBytes) -> Int) throws {
            let (configuration, error) = try Self.longRoPEFile(factors: factors, extra: extra)
            #expect(configuration == nil)
            expectLoadingError(containing: ["phi3-longrope.gguf", fragment]) { if let error { throw error } }
        }
        let original: (inout GGUFBytes) -> Int = { $0.keyUInt32("phi3.rope.scaling.original_context_length", 16); return 1 }
        try expectError("tensor 'rope_factors_short.weight' is missing", factors: [("rope_factors_long.weight", 4)], extra: original)
        try expectError("tensor 'rope_factors_long.weight' must hold 4 positive factors",
                        factors: [("rope_factors_short.weight", 4), ("rope_factors_long.weight", 3)], extra: original)
        try expectError("metadata 'phi3.rope.scaling.original_context_length' must be present",
                        factors: [("rope_factors_short.weight", 4), ("rope_factors_long.weight", 4)]) { _ in 0 }
        let (configuration, _) = try Self.longRoPEFile(
            factors: [("rope_factors_short.weight", 4), ("rope_factors_long.weight", 4)]) { bytes in
            bytes.keyUInt32("phi3.rope.scaling.original_context_length", 16)
            bytes.keyFloat32("phi3.rope.scaling.attn_factor", 1.25)
            return 2
        }
        #expect(configuration?.rotary(layer: 0)?.scaling
                == .longRoPE(shortFactors: [2, 2, 2, 2], longFactors: [2, 2, 2, 2], originalMaxPositionEmbeddings: 16, attentionFactor: 1.25))
    }

    /// Without the fused `attn_qkv` (llama.cpp also reads separate q/k/v, which this library does not), loading
    /// fails naming the tensor.
    @Test func missingFusedProjectionIsNamed() throws {
        var bytes = GGUFBytes()
        bytes.header(tensors: 0, metadata: 7)
        bytes.keyString("general.architecture", "phi3")
        bytes.keyUInt32("phi3.vocab_size", 10)
        bytes.keyUInt32("phi3.block_count", 1)
        bytes.keyUInt32("phi3.embedding_length", 64)
        bytes.keyUInt32("phi3.attention.head_count", 4)
        bytes.keyUInt32("phi3.feed_forward_length", 128)
        bytes.keyFloat32("phi3.attention.layer_norm_rms_epsilon", 1e-5)
        try withTemporaryFile(bytes.data, named: "phi3-empty.gguf") { url in
            expectLoadingError(containing: [url.path, "tensor 'blk.0.attn_qkv.weight' (for model.layers.0.self_attn.qkv_proj.weight) is missing"]) {
                _ = try LanguageModel.load(gguf: url)
            }
        }
    }
}
