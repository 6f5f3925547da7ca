import Foundation
import Testing
import Interp

/// Activation patching on GPT-NeoX (parallel and sequential), Gemma 1/2, Phi-3, OLMo-2, Phi and OLMo against TransformerLens 3.9's
/// `patching` module on the same checkpoints (scripts/make_family_tl_references.py): residual stream, attention and
/// MLP outputs per layer and position, every head's `z` over all positions and per position, every query head's `q`
/// and attention pattern (denoising), and the noising residual sweep. On Gemma-2 and OLMo-2 `attn_out` / `mlp_out` are the outputs after the post-norms, in both.
@Suite struct FamilyPatchingTests {
    static let families = ["gpt_neox_parallel", "gpt_neox_sequential", "gemma", "gemma2", "phi3", "olmo2_mha", "phi_tied_bf16",
                           "olmo_clip"]

    @Test(arguments: families) func activationPatchingMatchesTransformerLens(name: String) throws {
        let checkpoints = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models")
        let model = try TransformerModel.load(Checkpoint(directory: checkpoints.appendingPathComponent(name)))
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("family_patching").appendingPathComponent("\(name).json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let pairs = try PromptPairs(clean: json["clean"] as! [[Int]], corrupted: json["corrupted"] as! [[Int]],
                                    answers: json["answers"] as! [Int], wrongs: json["wrongs"] as! [Int])
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        let reference = json["sweeps"] as! [String: Any]

        let denoising = try ActivationPatching(model: model, pairs: pairs, metric: metric)
        expectClose([denoising.cleanValue, denoising.corruptedValue],
                    [flatFloats(json["clean_value"]!)[0], flatFloats(json["corrupted_value"]!)[0]], "\(name) unpatched metrics")
        let sweeps: [(String, PatchComponent, PatchGranularity)] = [
            ("resid_pre", .residPre, .standard), ("attn_out", .attnOut, .standard), ("mlp_out", .mlpOut, .standard),
            ("head_out", .headOut, .standard), ("head_out/byPosition", .headOut, .byPosition),
            ("q", .q, .standard), ("pattern", .pattern, .standard),
        ]
        for (key, component, granularity) in sweeps {
            expectClose(try denoising.sweep(component, granularity: granularity).values, flatFloats(reference[key]!),
                        "\(name) patching \(key)")
        }
        let noising = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: .noising)
        expectClose(try noising.sweep(.residPre).values, flatFloats(reference["noising/resid_pre"]!), "\(name) noising resid_pre")
    }
}
