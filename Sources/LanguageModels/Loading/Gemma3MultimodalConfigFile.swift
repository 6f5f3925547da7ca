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

    /// The fields of the wrapper that apply to its language model, taking precedence over `text_config`'s.
    static let wrapperFields = ["tie_word_embeddings", "bos_token_id", "eos_token_id", "torch_dtype", "dtype",
                                "quantization", "quantization_config"]

    /// Decodes a `gemma3` `config.json`; `source` names the file in errors.
    public init(json data: Data, source: String = "config.json") throws {
        let checker = ConfigurationChecker(source: source)
        guard let wrapper = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LoadingError("\(source): not a JSON object")
        }
        guard wrapper["model_type"] as? String == "gemma3" else { throw checker.error("model_type", "is not gemma3") }
        guard let text = wrapper["text_config"] as? [String: Any] else {
            throw checker.error("text_config", "is missing or not an object (a gemma3 checkpoint describes its language model there)")
        }
        if let type = text["model_type"], type as? String != "gemma3_text" {
            throw checker.error("text_config.model_type", "'\(type)' is not gemma3_text")
        }
        var merged = Self.textConfigDefaults.merging(text) { $1 }
        for field in Self.wrapperFields { if let value = wrapper[field], !(value is NSNull) { merged[field] = value } }
        let textData = try JSONSerialization.data(withJSONObject: merged)
        do {
            textConfig = try JSONDecoder().decode(GemmaConfigFile.self, from: textData)
        } catch let error as DecodingError {
            throw LoadingError("\(source): text_config: \(error.fieldDescription)")
        }
        visionModelType = (wrapper["vision_config"] as? [String: Any])?["model_type"] as? String
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
