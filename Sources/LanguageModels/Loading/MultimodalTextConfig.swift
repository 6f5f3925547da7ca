import Foundation

/// The language model's fields of a multimodal `config.json` (Gemma3ForConditionalGeneration,
/// Mistral3ForConditionalGeneration): its `text_config` over the text model class's defaults, with the wrapper's
/// fields that apply to the language model in force. The vision tower's `vision_config` is not read further.
struct MultimodalTextConfig {
    /// The fields of the wrapper that apply to its language model, taking precedence over `text_config`'s.
    static let wrapperFields = ["tie_word_embeddings", "bos_token_id", "eos_token_id", "torch_dtype", "dtype",
                                "quantization", "quantization_config"]

    /// The text model's `config.json` object, ready for its family's decoder.
    let text: [String: Any]
    /// The `model_type` of `vision_config`; not read further.
    let visionModelType: String?

    /// Reads the wrapper `data` (`model_type` `wrapperType`) whose `text_config` has one of `textTypes` as its
    /// `model_type` (the first when it names none); `textDefaults(type)` are the text class's defaults for that
    /// type, `wrapperDefaults` the wrapper class's defaults of ``wrapperFields`` it declares.
    init(json data: Data, wrapperType: String, textTypes: [String], textDefaults: (String) -> [String: Any],
         wrapperDefaults: [String: Any] = [:], source: String) throws {
        let checker = ConfigurationChecker(source: source)
        guard let wrapper = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LoadingError("\(source): not a JSON object")
        }
        guard wrapper["model_type"] as? String == wrapperType else { throw checker.error("model_type", "is not \(wrapperType)") }
        guard let text = wrapper["text_config"] as? [String: Any] else {
            throw checker.error("text_config", "is missing or not an object (a \(wrapperType) checkpoint describes its language model there)")
        }
        let type = text["model_type"] ?? textTypes[0]
        guard let name = type as? String, textTypes.contains(name) else {
            throw checker.error("text_config.model_type", "'\(type)' is not \(textTypes.joined(separator: " or "))")
        }
        var merged = textDefaults(name).merging(text) { $1 }
        merged["model_type"] = name
        for field in Self.wrapperFields {
            if let value = wrapper[field] ?? wrapperDefaults[field], !(value is NSNull) { merged[field] = value }
        }
        self.text = merged
        visionModelType = (wrapper["vision_config"] as? [String: Any])?["model_type"] as? String
    }

    /// The text model's fields decoded by `decode` from their JSON bytes; errors name `text_config`.
    func decode<File>(source: String, _ decode: (Data) throws -> File) throws -> File {
        do {
            return try decode(try JSONSerialization.data(withJSONObject: text))
        } catch let error as DecodingError {
            throw LoadingError("\(source): text_config: \(error.fieldDescription)")
        }
    }
}
