import Tensors

/// The language model's tensors of a multimodal checkpoint under the names a text-only checkpoint uses
/// (`model.layers.0...`, `lm_head.weight`): the vision tower's and projector's tensors are never looked up.
///
/// Two layouts are recognized by the embedding's name: the one the google/gemma-3-*-it checkpoints were written in
/// (transformers 4: `language_model.model.*`, `language_model.lm_head.*`) and the one transformers 5 writes
/// (`model.language_model.*`, `lm_head.*`). Tensors already under text-only names (``NamedTensors`` made from a
/// model) are read as they are.
public struct MultimodalLanguageModelWeights<Base: WeightSource>: WeightSource {
    public let base: Base
    /// The prefixes replacing `model.` and `lm_head.` in the text-only names.
    let modelPrefix: String, headPrefix: String

    public init(_ base: Base) {
        self.base = base
        if base.has("language_model.model.embed_tokens.weight") {
            (modelPrefix, headPrefix) = ("language_model.model.", "language_model.lm_head.")
        } else if base.has("model.language_model.embed_tokens.weight") {
            (modelPrefix, headPrefix) = ("model.language_model.", "lm_head.")
        } else {
            (modelPrefix, headPrefix) = ("model.", "lm_head.")
        }
    }

    /// The checkpoint's name of the text-only name `name`.
    public func checkpointName(_ name: String) -> String {
        if name.hasPrefix("model.") { return modelPrefix + name.dropFirst("model.".count) }
        if name.hasPrefix("lm_head.") { return headPrefix + name.dropFirst("lm_head.".count) }
        return name
    }

    /// The checkpoint's name of the module `module` (`model.embed_tokens`, `lm_head`).
    private func checkpointModule(_ module: String) -> String {
        module == "lm_head" ? String(headPrefix.dropLast()) : checkpointName(module)
    }

    public func has(_ name: String) -> Bool { base.has(checkpointName(name)) }

    public func tensor(named name: String, shape: [Int]) throws -> Tensor {
        try base.tensor(named: checkpointName(name), shape: shape)
    }

    public func weightMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> WeightMatrix {
        try base.weightMatrix(module: checkpointModule(module), shape: shape, quantization: quantization)
    }

    public func conv1DWeight(named name: String, inputs: Int, outputs: Int) throws -> WeightMatrix {
        try base.conv1DWeight(named: checkpointName(name), inputs: inputs, outputs: outputs)
    }
}
