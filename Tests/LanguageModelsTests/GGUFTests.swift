import Foundation
import Testing
import Tensors
import LanguageModels

/// GGUF files written by the gguf package (scripts/make_gguf_fixtures.py): every tensor type dequantizes exactly as
/// `gguf.quants.dequantize`, and the tiny models give transformers' logits from its own GGUF loading.
@Suite struct GGUFTests {
    static let directory = Fixtures.models.deletingLastPathComponent().appendingPathComponent("gguf")
    static func file(_ name: String) throws -> GGUFFile { try GGUFFile(contentsOf: directory.appendingPathComponent(name)) }
    static func reference() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("reference.json"))) as! [String: Any]
    }

    static let typeNames = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
    static let iQuantNames = ["IQ4_NL", "IQ4_XS", "IQ3_S", "IQ3_XXS", "IQ2_S", "IQ2_XS", "IQ2_XXS", "IQ1_S", "IQ1_M"]

    /// (file, tensor type): quants.gguf holds the plain and K-quant types, iquants.gguf the i-quants.
    static let typedTensors = typeNames.map { ("quants", $0) } + iQuantNames.map { ("iquants", $0) }

    @Test(arguments: typedTensors) func everyTypeDequantizesExactlyAsGGUFPy(fileName: String, type: String) throws {
        let file = try Self.file("\(fileName).gguf")
        let expected = try SafetensorsFile(contentsOf: Self.directory.appendingPathComponent("\(fileName)_expected.safetensors"))
            .tensor(named: type)
        #expect(try file.info(named: type).type.name == type)
        let values = try file.tensor(named: type)
        #expect(values.shape == [3, 512])
        #expect(values.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern), "\(type) differs from gguf-py")

        let matrix = try file.matrix(named: type)
        #expect(matrix.columns(100..<300) == expected.slice(axis: 1, 100..<300), "\(type): a column range across blocks")
        #expect(matrix.rows([2, 0]) == expected.indexSelect(axis: 0, [2, 0]))
        let x = Tensor(shape: [2, 512], scalars: (0..<1024).map { Float(($0 * 37) % 17) / 17 - 0.5 })
        #expect(matrix.matmulTransposed(x).maxAbsDifference(x.matmul(expected, transposeOther: true)) <= 1e-4)
    }

    @Test(arguments: ["llama.gguf", "qwen2.gguf", "llama-iquants.gguf"]) func logitsMatchTransformersGGUFLoading(name: String) throws {
        let file = try Self.file(name)
        let configuration = try ModelConfiguration(gguf: file)
        let model = try TransformerModel.build(configuration, weights: try GGUFWeights(file: file, configuration: configuration))
        let reference = (try Self.reference()[name] as! [String: Any])["logits"] as! [String: Any]
        let ids = reference["input_ids"] as! [[Int]]
        let expected = try SafetensorsFile(contentsOf: Self.directory.appendingPathComponent("reference_logits.safetensors"))
            .tensor(named: name).scalars
        expectLogits(model.forward(TokenBatch(ids)), match: expected, name)
    }

    @Test func configurationComesFromTheMetadata() throws {
        let llama = try ModelConfiguration(gguf: try Self.file("llama.gguf"))
        #expect(llama.family == .llama(.llama) && llama.nLayers == 3 && llama.dModel == 64 && llama.nHeads == 4)
        #expect(llama.nKVHeads == 2 && llama.dMLP == 256 && llama.maxPositions == 128 && llama.normEpsilon == 1e-5)
        #expect(!llama.tiedEmbeddings && !llama.attentionQKVBias && llama.bosTokenIDs == [1])
        let qwen = try ModelConfiguration(gguf: try Self.file("qwen2.gguf"))
        #expect(qwen.family == .llama(.qwen2) && qwen.tiedEmbeddings && qwen.attentionQKVBias && qwen.nLayers == 2)
        guard case .rotary(let rotary) = qwen.positionEncoding else { Issue.record("qwen2 needs rotary positions"); return }
        #expect(rotary.base == 1_000_000)
    }

    @Test func quantizedWeightsStayPacked() throws {
        let file = try Self.file("llama.gguf")
        let configuration = try ModelConfiguration(gguf: file)
        let weights = try GGUFWeights(file: file, configuration: configuration)
        let down = try weights.weightMatrix(module: "model.layers.0.mlp.down_proj", shape: [64, 256], quantization: nil)
        guard case .gguf(let matrix) = down else { Issue.record("expected a packed GGUF matrix"); return }
        #expect(matrix.type == .q2_K && matrix.withUnsafePackedBytes(\.count) == 64 * 84)
        let mix = file.quantizationMix
        #expect(Set(mix.shares.map(\.type.name)) == ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K"])
        #expect(mix.shares.reduce(0) { $0 + $1.tensorCount } == file.tensorInfos.count)
        let iQuantMix = try Self.file("llama-iquants.gguf").quantizationMix
        #expect(Set(iQuantMix.shares.map(\.type.name)) == Set(Self.iQuantNames + ["F32"]))
        #expect(iQuantMix.summary.contains("IQ4_XS 6 tensors"), "\(iQuantMix.summary)")
    }

    /// The q/k row order: a query matrix read through GGUFWeights equals the stored rows permuted back the way
    /// transformers' `_reverse_permute_weights` does (here written out independently as a reshape).
    @Test func queryAndKeyRowsAreUnpermuted() throws {
        let file = try Self.file("llama.gguf")
        let configuration = try ModelConfiguration(gguf: file)
        let weights = try GGUFWeights(file: file, configuration: configuration)
        let stored = try file.tensor(named: "blk.1.attn_k.weight")                         // [kvHeads * 16, 64]
        let restored = try weights.weightMatrix(module: "model.layers.1.self_attn.k_proj", shape: [32, 64], quantization: nil)
        // reshape(n_head, dim/2, 2, in).swapaxes(1, 2).reshape(...)
        let reversed = stored.reshaped([2, 8, 2, 64]).transposed(1, 2).reshaped([32, 64])
        #expect(restored.dequantized() == reversed)
    }
}

/// Tokenizers rebuilt from `tokenizer.ggml.*` against transformers' GGUF tokenizers on the same files.
@Suite struct GGUFTokenizerTests {
    @Test(arguments: ["llama.gguf", "qwen2.gguf", "llama3-tokenizer.gguf", "gpt2-tokenizer.gguf"])
    func idsMatchTransformers(name: String) throws {
        let tokenizer = try GGUFTokenizer.tokenizer(from: try GGUFTests.file(name))
        let reference = (try GGUFTests.reference()[name] as! [String: Any])["tokens"] as! [String: Any]
        let texts = reference["texts"] as! [String]
        #expect(texts.count >= 5)
        for (index, text) in texts.enumerated() {
            for (key, special) in [("ids", true), ("ids_without_special_tokens", false)] {
                let ids = try tokenizer.encode(text, addSpecialTokens: special), expected = (reference[key] as! [[Int]])[index]
                #expect(ids == expected, "\(name) \(key): \(text.debugDescription): \(ids) instead of \(expected)")
            }
        }
    }

    @Test func loadsAWholeLanguageModelFromAGGUFFile() throws {
        let url = GGUFTests.directory.appendingPathComponent("qwen2.gguf")
        let lm = try LanguageModel.load(from: url)
        #expect(lm.directory == url && lm.configuration.family == .llama(.qwen2))
        #expect(lm.tokenizer.eosTokenID == lm.configuration.eosTokenIDs.first)
        #expect(try lm.tokens("Hello world").count > 1)
    }
}
