import Foundation
import Testing
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
        let logits = lm.model.forward(TokenBatch(ids))
        #expect(logits.count == expected.count)
        let scale = Swift.max(1, expected.map(Swift.abs).max()!)
        let worst = zip(logits.scalars, expected).map { Swift.abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4 * scale, "\(name): max |Δ logits| = \(worst) at logit scale \(scale)")
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
