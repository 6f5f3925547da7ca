import Foundation

/// The `config.json` of a Hugging Face `mistral3` multimodal checkpoint (Mistral3ForConditionalGeneration: Mistral
/// Small 3.1/3.2, the Ministral 3 releases): a `text_config` (a `mistral` or `ministral3` model) next to a
/// `vision_config` (a Pixtral tower) and its projector.
///
/// Only the language model is described: ``modelConfiguration(source:)`` is the text model's, marked with
/// ``ModelConfiguration/multimodalWrapper``; the vision tower and projector are neither described nor read. As
/// transformers 5 reads the file, `text_config` without a `model_type` is a `mistral` model, the wrapper's
/// `tie_word_embeddings` (default true) decides the tying, and a checkpoint that has its own `lm_head` is not tied
/// (``ModelConfiguration/resolvingTiedEmbeddings(_:)``).
public struct Mistral3ConfigFile: Equatable, Sendable {
    /// The text model's fields, with the defaults filled in and the wrapper's `tie_word_embeddings`, `bos_token_id`,
    /// `eos_token_id`, dtype and quantization in force.
    public var textConfig: LlamaConfigFile
    /// The `model_type` of `vision_config` (`pixtral`); not read further.
    public var visionModelType: String?

    /// `MistralConfig`'s and `Ministral3Config`'s defaults (transformers 5) for the fields `LlamaConfigFile` requires.
    public static func textConfigDefaults(_ modelType: String) -> [String: Any] {
        ["vocab_size": modelType == "ministral3" ? 131_072 : 32_000, "hidden_size": 4096, "intermediate_size": 14_336,
         "num_hidden_layers": modelType == "ministral3" ? 34 : 32, "num_attention_heads": 32]
    }

    /// Decodes a `mistral3` `config.json`; `source` names the file in errors.
    public init(json data: Data, source: String = "config.json") throws {
        let file = try MultimodalTextConfig(json: data, wrapperType: "mistral3", textTypes: ["mistral", "ministral3"],
                                            textDefaults: Self.textConfigDefaults,
                                            wrapperDefaults: ["tie_word_embeddings": true], source: source)
        textConfig = try file.decode(source: source) { try LlamaConfigFile(json: $0) }
        visionModelType = file.visionModelType
    }

    /// The language model's normalized description; throws naming `source` and the field for values this library
    /// does not support.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        var configuration = try textConfig.modelConfiguration(source: "\(source): text_config")
        configuration.multimodalWrapper = "mistral3"
        return configuration
    }
}
