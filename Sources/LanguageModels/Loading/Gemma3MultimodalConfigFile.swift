import Foundation

/// The `config.json` of a Hugging Face `gemma3` multimodal checkpoint (Gemma3ForConditionalGeneration, e.g.
/// google/gemma-3-4b-it): a `text_config` (a `gemma3_text` model) next to a `vision_config` (a SigLIP tower).
///
/// Only the language model is described: ``modelConfiguration(source:)`` is the text model's, marked with
/// ``ModelConfiguration/multimodalWrapper``; the vision tower and projector are neither described nor read.
/// The hub's `text_config` holds only what differs from transformers' `Gemma3TextConfig` defaults, which
/// ``textConfigDefaults`` fills in (e.g. 8 attention heads and 4 key-value heads for gemma-3-4b).
public struct Gemma3MultimodalConfigFile: Equatable, Sendable {
    /// The text model's fields, with the defaults filled in and the wrapper's `tie_word_embeddings`,
    /// `bos_token_id`, `eos_token_id` and dtype in force.
    public var textConfig: GemmaConfigFile
    /// The `model_type` of `vision_config` (`siglip_vision_model`); not read further.
    public var visionModelType: String?

    /// `Gemma3TextConfig`'s defaults (transformers 5) for the fields `GemmaConfigFile` requires.
    public static let textConfigDefaults: [String: Any] = [
        "model_type": "gemma3_text", "vocab_size": 262_208, "hidden_size": 2304, "intermediate_size": 9216,
        "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
    ]

    /// Decodes a `gemma3` `config.json`; `source` names the file in errors.
    public init(json data: Data, source: String = "config.json") throws {
        let file = try MultimodalTextConfig(json: data, wrapperType: "gemma3", textTypes: ["gemma3_text"],
                                            textDefaults: { _ in Self.textConfigDefaults }, source: source)
        textConfig = try file.decode(source: source) { try JSONDecoder().decode(GemmaConfigFile.self, from: $0) }
        visionModelType = file.visionModelType
    }

    /// The language model's normalized description; throws naming `source` and the field for values this library
    /// does not support. Without final logit soft-capping whatever `text_config.final_logit_softcapping` says:
    /// transformers' Gemma3ForConditionalGeneration does not apply it (only Gemma3ForCausalLM does).
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        var configuration = try textConfig.modelConfiguration(source: "\(source): text_config")
        configuration.multimodalWrapper = "gemma3"
        configuration.finalLogitSoftcap = nil
        return configuration
    }
}
