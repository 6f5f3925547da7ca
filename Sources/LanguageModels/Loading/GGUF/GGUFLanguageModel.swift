import Foundation

extension LanguageModel {
    /// Loads a llama.cpp GGUF file: configuration from its metadata, weights kept in their stored types (quantized
    /// ones packed), tokenizer rebuilt from `tokenizer.ggml.*`. ``directory`` is the file's URL.
    ///
    /// ```swift
    /// let lm = try LanguageModel.load(gguf: URL(fileURLWithPath: "models/qwen2.5-0.5b-instruct-q4_k_m.gguf"))
    /// ```
    ///
    /// F16 and BF16 matrices compute in `computePrecision` (see ``ComputePrecision``); quantized ones keep their
    /// fused dequantize-and-dot kernels in `Float`.
    ///
    /// - Throws: ``LoadingError`` when `computePrecision` is ``ComputePrecision/bfloat16`` and the file has no F16
    ///   or BF16 matrix for it to apply to.
    public static func load(gguf url: URL, computePrecision: ComputePrecision = .float32) throws -> LanguageModel {
        let file = try GGUFFile(contentsOf: url)
        if computePrecision == .bfloat16 && !file.tensorInfos.values.contains(where: { $0.dimensions.count == 2 && [.f16, .bf16].contains($0.type) }) {
            throw LoadingError("\(url.path): bfloat16 compute applies to F16 and BF16 matrices, and this file has none "
                               + "(\(file.quantizationMix.shares.map(\.type.name).joined(separator: ", "))); "
                               + "quantized and F32 weights compute in float32")
        }
        let configuration = try ModelConfiguration(gguf: file)
        let weights = try GGUFWeights(file: file, configuration: configuration, computePrecision: computePrecision)
        let model = try TransformerModel.build(configuration, weights: weights, source: url.path)
        return LanguageModel(directory: url, configuration: configuration, model: model,
                             tokenizer: try GGUFTokenizer.tokenizer(from: file))
    }
}
