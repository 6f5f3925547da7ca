import Foundation

extension LanguageModel {
    /// Loads a llama.cpp GGUF file: configuration from its metadata, weights kept in their stored types (quantized
    /// ones packed), tokenizer rebuilt from `tokenizer.ggml.*`. ``directory`` is the file's URL.
    ///
    /// ```swift
    /// let lm = try LanguageModel.load(gguf: URL(fileURLWithPath: "models/qwen2.5-0.5b-instruct-q4_k_m.gguf"))
    /// ```
    public static func load(gguf url: URL) throws -> LanguageModel {
        let file = try GGUFFile(contentsOf: url)
        let configuration = try ModelConfiguration(gguf: file)
        let model = try TransformerModel.build(configuration, weights: try GGUFWeights(file: file, configuration: configuration),
                                               source: url.path)
        return LanguageModel(directory: url, configuration: configuration, model: model,
                             tokenizer: try GGUFTokenizer.tokenizer(from: file))
    }
}
