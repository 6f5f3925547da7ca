import Foundation
import Testing
import TestScratch
import Tensors
import LanguageModels

/// GPT-NeoX, Gemma 1/2/3, Phi-3, OLMo-2, OLMo-3, SmolLM3, Phi, OLMo, OLMoE, Mixtral, Qwen2-MoE, Qwen3-MoE, Ministral and Ministral 3 saved in Hugging Face layout load back to the same configuration and
/// logits, under the names and fused layouts transformers wrote for the fixtures (scripts/make_family_fixtures.py).
/// That transformers reads the saved directories to the same logits is checked by
/// `scripts/check_exported_checkpoint.py --export` (Python, outside the tests).
@Suite struct FamilySavingTests {
    static let families = ["gpt_neox_parallel", "gpt_neox_sequential", "gpt_neox_fp16", "gemma", "gemma2", "gemma3", "phi3",
                           "phi3_bf16", "olmo2", "olmo2_mha", "phi_qk", "phi_tied_bf16", "olmo_clip", "olmo_gqa_bf16",
                           "olmo3", "smollm3", "olmoe", "olmoe_norm_bf16", "mixtral", "qwen2_moe", "qwen3_moe", "ministral",
                           "ministral3"]

    @Test(arguments: families) func saveAndLoadGiveTheSameModel(name: String) throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory(name))
        let model = try TransformerModel.load(checkpoint)
        try withTemporaryDirectory { directory in
            try model.save(to: directory, configuration: checkpoint.configuration)

            var expected = checkpoint.configuration
            expected.dtype = "float32"
            #expect(try ModelConfiguration(contentsOf: directory) == expected, "\(name): configuration")
            let reloaded = try TransformerModel.load(Checkpoint(directory: directory))
            let batch = TokenBatch([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5]])
            let (ours, theirs) = (reloaded.forward(batch), model.forward(batch))
            #expect(ours == theirs, "\(name): max |Δ logits| \(ours.maxAbsDifference(theirs))")

            // The checkpoint's own names and fused layouts; values equal up to Gemma's `(1 + w) - 1` rounding.
            let saved = try WeightStore(directory: directory)
            #expect(Set(saved.tensorNames) == Set(checkpoint.weights.tensorNames), "\(name): tensor names")
            for tensorName in saved.tensorNames {
                let difference = try saved.tensor(named: tensorName).maxAbsDifference(checkpoint.weights.tensor(named: tensorName))
                #expect(difference <= 1e-6, "\(name): \(tensorName) differs by \(difference)")
            }
        }
    }

    /// A bfloat16 Phi-3 saved in bfloat16 keeps its bits: the reload is 16-bit throughout and computes the same logits.
    @Test func aBFloat16CheckpointSavesInBFloat16() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("phi3_bf16"))
        let model = try TransformerModel.load(checkpoint)
        try withTemporaryDirectory { directory in
            try model.save(to: directory, configuration: checkpoint.configuration, dtype: .bfloat16)
            let reloaded = try TransformerModel.load(Checkpoint(directory: directory))
            #expect(HalfPrecisionWeightsTests.matrices(reloaded).allSatisfy { if case .halfPrecision = $0 { true } else { false } })
            let batch = TokenBatch([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]])
            #expect(reloaded.forward(batch) == model.forward(batch))
            #expect(try ModelConfiguration(contentsOf: directory).dtype == "bfloat16")
        }
    }

    /// A Gemma-2 GGUF file (quantized weights) written as a Hugging Face checkpoint gives the GGUF model's logits.
    @Test func aGGUFFileExportsToAHuggingFaceCheckpoint() throws {
        let lm = try LanguageModel.load(gguf: GGUFTests.directory.appendingPathComponent("gemma2.gguf"))
        try withTemporaryDirectory { directory in
            try lm.model.save(to: directory, configuration: lm.configuration,
                              tokenizer: GGUFTokenizer.files(from: GGUFTests.file("gemma2.gguf")))
            let reloaded = try LanguageModel.load(from: directory)
            let batch = TokenBatch([[2, 300, 319, 458, 573, 266, 481, 845, 718]])
            // Few-row products with the packed weights take the fused kernel (another summation order than the GEMM).
            let logits = lm.model.forward(batch)
            let scale = Swift.max(1, logits.scalars.map(abs).max() ?? 0)
            #expect(reloaded.model.forward(batch).maxAbsDifference(logits) <= 1e-5 * scale)
            let text = "<start_of_turn>user\nhi  there<end_of_turn>"
            #expect(try reloaded.tokens(text) == lm.tokens(text))
        }
    }

    /// Gemma-2/3 and OLMo-3 with no sliding layer (a checkpoint whose layer_types are all full_attention) are written
    /// with a window no layer uses, transformers' default 4096, not null: transformers builds their sliding-window mask
    /// whatever the layer types and refuses to run one whose sliding_window is null ("Could not find a
    /// `sliding_window` argument in the config"), so the export of such a checkpoint did not run there (sweep seed 1511).
    @Test(arguments: ["gemma2", "gemma3", "olmo3"]) func aModelWithoutSlidingLayersIsWrittenWithAWindow(name: String) throws {
        var configuration = try ModelConfiguration(contentsOf: Fixtures.directory(name))
        configuration.slidingWindows = Array(repeating: nil, count: configuration.nLayers)
        let object = try JSONSerialization.jsonObject(with: configuration.configJSON()) as! [String: Any]
        #expect(object["sliding_window"] as? Int == 4096, "\(name): sliding_window \(object["sliding_window"] ?? "absent")")
        #expect(object["layer_types"] as? [String] == Array(repeating: "full_attention", count: configuration.nLayers))
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("config.json")
            try configuration.configJSON().write(to: url)
            #expect(try ModelConfiguration(contentsOf: directory).slidingWindows == configuration.slidingWindows)
        }
    }

    @Test func inexpressibleConfigurationsAreRefused() throws {
        var phi3 = try ModelConfiguration(contentsOf: Fixtures.directory("phi3"))
        phi3.attentionQKVBias = true
        #expect(throws: SavingError.self) { try phi3.configJSON() }
        var gemma = try ModelConfiguration(contentsOf: Fixtures.directory("gemma"))
        gemma.slidingWindows = [4, nil]
        #expect(throws: SavingError.self) { try gemma.configJSON() }
        var neox = try ModelConfiguration(contentsOf: Fixtures.directory("gpt_neox_parallel"))
        neox.nKVHeads = 1
        #expect(throws: SavingError.self) { try neox.configJSON() }
    }
}
