import Foundation
import Testing
import LanguageModels

/// Logits of every fixture family against Hugging Face transformers' (recorded by scripts/make_fixtures.py).
@Suite struct ModelLogitsTests {
    static let families = ["gpt2", "llama_gqa", "llama_bf16", "llama_untied", "llama_sharded", "mistral", "qwen2",
                           "qwen2_fp16", "qwen3", "llama_mlx_q4", "llama_mlx_q8"]

    @Test(arguments: families) func logitsMatchTransformers(name: String) throws {
        let reference = try Fixtures.reference(name)
        let model = try Fixtures.model(name)
        let batch = reference["batch"] as! [String: Any]
        let ids = (batch["input_ids"] as! [[Int]])
        let logits = model.forward(TokenBatch(ids))
        let expected = flatFloats(batch["logits"]!)
        #expect(logits.count == expected.count)
        let worst = zip(logits.scalars, expected).map { Swift.abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "\(name): max |Δ logits| = \(worst)")
    }

    @Test(arguments: families) func leftPaddedLogitsMatchTransformers(name: String) throws {
        let worst = try Fixtures.paddedLogitsError(name)
        #expect(worst <= 1e-4, "\(name): max |Δ logits| at real positions = \(worst)")
    }

    @Test func blockOutputsMatchHiddenStates() throws {
        for name in ["gpt2", "qwen3"] {
            let reference = try Fixtures.reference(name)["batch"] as! [String: Any]
            let model = try Fixtures.model(name)
            let (_, cache) = try model.runWithCacheOfResiduals(TokenBatch(reference["input_ids"] as! [[Int]]))
            for (l, expected) in (reference["block_outputs"] as! [Any]).enumerated() {
                let ours = cache["blocks.\(l).hook_resid_post"]!
                let worst = zip(ours.scalars, flatFloats(expected)).map { Swift.abs($0 - $1) }.max()!
                #expect(worst <= 1e-4, "\(name) block \(l): \(worst)")
            }
        }
    }
}

extension TransformerModel {
    /// Runs the model caching every block's output (a plain ForwardHooks cache, independent of the Interp module).
    func runWithCacheOfResiduals(_ batch: TokenBatch) throws -> (Tensor, [String: Tensor]) {
        let hooks = ForwardHooks()
        hooks.cache { $0.hasSuffix("hook_resid_post") }
        let logits = forward(batch, hooks: hooks)
        return (logits, hooks.cached)
    }
}
