import Foundation
import Testing
import LanguageModels

/// run_with_cache of GPT-NeoX (parallel and sequential), Gemma 1/2, Phi-3, OLMo-2, Phi and OLMo against TransformerLens 3.9
/// (scripts/make_family_tl_references.py): every activation TransformerLens caches under a name this library
/// also publishes, with the same shape and values.
@Suite struct FamilyTransformerLensTests {
    /// TransformerLens hook points this library does not have: the unembedding's input and output (`ln_final`'s
    /// output and the logits, compared through the logits) and the insides of OLMo-2's q/k norms (as for Qwen3 and
    /// Gemma-3, q/k norms publish no hook points here).
    static func isPublished(_ name: String) -> Bool {
        !["logits", "unembed.hook_in", "unembed.hook_out"].contains(name) && !name.contains("_norm.hook_")
    }

    /// This library's name for a TransformerLens hook point: TransformerLens names OLMo-2's post-attention and
    /// post-MLP norms `ln1` / `ln2` (the block has no pre-norms); here they are `ln1_post` / `ln2_post`, as in
    /// Gemma-2, and `ln1` / `ln2` always mean norms before attention / MLP.
    static func ourName(_ name: String, model: TransformerModel) -> String {
        guard model.blocks.first?.ln1 == nil else { return name }
        return name.replacingOccurrences(of: ".ln1.", with: ".ln1_post.").replacingOccurrences(of: ".ln2.", with: ".ln2_post.")
    }

    @Test(arguments: ["gpt_neox_parallel", "gpt_neox_sequential", "gemma", "gemma2", "phi3", "olmo2_mha", "phi_tied_bf16", "olmo_clip"])
    func cacheMatchesTransformerLens(name: String) throws {
        let file = try SafetensorsFile(contentsOf: Fixtures.models.deletingLastPathComponent()
            .appendingPathComponent("transformerlens").appendingPathComponent("\(name).safetensors"))
        let tokens = try JSONDecoder().decode([[Int]].self, from: Data(file.metadata["tokens"]!.utf8))
        let model = try TransformerModel.load(Checkpoint(directory: Fixtures.directory(name)))
        let hooks = ForwardHooks()
        // Without hook_{q,k,v}_input, which would give each head its own ln1 (TransformerLens' split inputs).
        hooks.cache { !$0.hasSuffix("_input") }
        let logits = model.forward(TokenBatch(tokens), hooks: hooks)
        #expect(logits.maxAbsDifference(try file.tensor(named: "logits")) < 1e-4, "\(name) logits")
        let published = Set(model.hookNames)
        var compared = 0
        for tlKey in file.tensorNames where Self.isPublished(tlKey) {
            let key = Self.ourName(tlKey, model: model)
            let isOurs = published.contains(key)
            #expect(isOurs, "\(name): TransformerLens has \(tlKey), which this model does not publish")
            guard let ours = hooks.cached[key] else { continue }
            let theirs = try file.tensor(named: tlKey)
            #expect(ours.shape == theirs.shape, "\(name) \(key): shape \(ours.shape) vs \(theirs.shape)")
            guard ours.shape == theirs.shape else { continue }
            // Masked attention scores are -inf in both; elsewhere the tolerance follows the activation's scale
            // (Gemma's residual stream reaches ~100).
            let pairs = zip(ours.scalars, theirs.scalars)
            #expect(pairs.allSatisfy { $0.isFinite == $1.isFinite }, "\(name) \(key): masks differ")
            let finite = pairs.filter { $0.isFinite && $1.isFinite }
            let scale = Swift.max(10, finite.map { Swift.abs($1) }.max() ?? 0)
            let worst = finite.map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * scale, "\(name) \(key): max |Δ| = \(worst) at scale \(scale)")
            compared += 1
        }
        #expect(compared >= 18 * model.layerCount, "\(name): only \(compared) activations compared")
        #expect(published.contains("blocks.0.hook_resid_mid") == file.tensorNames.contains("blocks.0.hook_resid_mid"))
    }
}
