import Foundation
import Testing
import Interp

/// The logit lens against TransformerLens 3.9 (scripts/make_logit_lens_references.py): its `ln_final` and `unembed`
/// (and Gemma-2's final soft-capping) applied to every layer's `hook_resid_pre` and the last `hook_resid_post`, each
/// row normalized with its own scale, on GPT-2, grouped-query Llama, Qwen2, Gemma-2 and Phi-3 fixtures: the top 5
/// tokens and probabilities and a target's probability and rank per layer, at the last position and at position 2.
/// The batch also holds the prompt's first 5 tokens, right-padded, whose position 2 must read the same.
@Suite struct LogitLensReferenceTests {
    static let references: [String: Any] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("logit_lens.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    @Test(arguments: ["gpt2", "llama_gqa", "qwen2", "gemma2", "phi3"])
    func logitLensMatchesTransformerLens(name: String) throws {
        let checkpoints = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models")
        let model = try TransformerModel.load(Checkpoint(directory: checkpoints.appendingPathComponent(name)))
        let reference = Self.references[name] as! [String: Any]
        let tokens = reference["tokens"] as! [Int]
        let batch = TokenBatch(tokens: [tokens, Array(tokens.prefix(5)) + Array(repeating: 0, count: tokens.count - 5)],
                               mask: [Array(repeating: true, count: tokens.count),
                                      Array(repeating: true, count: 5) + Array(repeating: false, count: tokens.count - 5)])
        for read in reference["reads"] as! [[String: Any]] {
            let position = read["position"] as! Int, target = read["target"] as! Int
            var examples = [0]
            if position < 5 { examples.append(1) }
            for example in examples {
                let lens = try model.logitLens(batch, example: example, position: position, topK: 5, target: target)
                let label = "\(name) example \(example) position \(position)"
                #expect(lens.layers.count == (read["top_ids"] as! [[Int]]).count, "\(label): rows")
                for (row, layer) in lens.layers.enumerated() {
                    #expect(layer.topTokens.map(\.token) == (read["top_ids"] as! [[Int]])[row], "\(label) row \(row): top tokens")
                    expectClose(layer.topTokens.map(\.probability), flatFloats((read["top_probabilities"] as! [Any])[row]),
                                "\(label) row \(row): top probabilities")
                    expectClose([layer.targetProbability!], [flatFloats(read["target_probability"]!)[row]], "\(label) row \(row): target")
                    #expect(layer.targetRank == (read["target_rank"] as! [Int])[row], "\(label) row \(row): target rank")
                }
            }
        }
    }
}
