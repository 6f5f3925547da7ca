import Foundation
import Testing
import LanguageModels

/// A config.json stating billions of layers or an enormous width is refused by name before anything is built from
/// it. Such a count crashed every family (an array of one window per layer: "failed to allocate 32000000032 bytes")
/// or ran for minutes (SmolLM3's NoPE layers, a rotary table of head_dim / 2 entries); an enormous head count
/// overflowed.
@Suite struct CorruptSizeTests {
    static let families = ["gpt2", "llama_gqa", "mistral", "qwen2", "qwen3", "smollm3", "gpt_neox_parallel", "gemma", "gemma2",
                           "gemma3", "gemma3_multimodal", "phi3", "olmo2", "olmo3", "phi_qk", "olmo_clip", "olmoe", "mixtral", "qwen2_moe",
                           "qwen3_moe"]

    @Test(arguments: families) func billionsOfLayersAreRefused(name: String) throws {
        let field = name == "gpt2" ? "n_layer" : "num_hidden_layers"
        let data = try FamilyConfigurationErrorTests.edited(name) { config in
            Self.editModel(&config) { $0[field] = 2_000_000_000 }
        }
        expectLoadingError(containing: ["config.json", "\(field) 2000000000 is more than 65536 layers"]) {
            _ = try ModelConfiguration(json: data)
        }
    }

    @Test(arguments: ["llama_gqa", "smollm3", "olmo3", "gemma3_multimodal", "phi3"])
    func enormousWidthsAreRefused(name: String) throws {
        for field in ["head_dim", "num_attention_heads", "hidden_size", "vocab_size"] {
            let data = try FamilyConfigurationErrorTests.edited(name) { config in
                Self.editModel(&config) { $0[field] = 1 << 62 }
            }
            expectLoadingError(containing: ["config.json", "\(field) \(1 << 62) is more than 16777216"]) {
                _ = try ModelConfiguration(json: data)
            }
        }
    }

    @Test(arguments: [("olmoe", "num_experts"), ("mixtral", "num_local_experts"), ("qwen2_moe", "num_experts"),
                      ("qwen3_moe", "num_local_experts")])
    func billionsOfExpertsAreRefused(name: String, field: String) throws {
        let data = try FamilyConfigurationErrorTests.edited(name) { $0[field] = 2_000_000_000 }
        expectLoadingError(containing: ["config.json", "\(field) 2000000000 is more than 65536 experts"]) {
            _ = try ModelConfiguration(json: data)
        }
    }

    /// Edits the language model's fields: the wrapper's text_config for gemma3, else the file itself.
    static func editModel(_ config: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        guard config["text_config"] != nil else { return edit(&config) }
        NewerFamilyTests.editText(&config, edit)
    }
}
