/// Field checks shared by the `config.json` layouts; every error names the file and the field.
struct ConfigurationChecker {
    /// The file being checked, as named in errors.
    let source: String

    func error(_ field: String, _ problem: String) -> LoadingError {
        LoadingError("\(source): \(field) \(problem)")
    }

    func requirePositive(_ value: Int, _ field: String) throws {
        guard value > 0 else { throw error(field, "must be positive, found \(value)") }
    }

    /// The sizes every decoder family states with the same Hugging Face fields, validated: each positive, the
    /// key-value heads dividing the heads, and the head size `head_dim`, or `hidden_size / num_attention_heads`
    /// when `headDim` is nil.
    ///
    /// - Returns: the number of key-value heads and the head size.
    func decoderShape(hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, keyValueHeads: Int,
                      headDim: Int?, vocabularySize: Int) throws -> (keyValueHeads: Int, headDim: Int) {
        for (value, field) in [(hiddenSize, "hidden_size"), (intermediateSize, "intermediate_size"),
                               (layers, "num_hidden_layers"), (heads, "num_attention_heads"), (vocabularySize, "vocab_size"),
                               (keyValueHeads, "num_key_value_heads")] {
            try requirePositive(value, field)
        }
        guard heads % keyValueHeads == 0 else {
            throw error("num_key_value_heads", "\(keyValueHeads) does not divide num_attention_heads \(heads)")
        }
        if let headDim {
            try requirePositive(headDim, "head_dim")
            return (keyValueHeads, headDim)
        }
        guard hiddenSize % heads == 0 else {
            throw error("hidden_size", "\(hiddenSize) is not a multiple of num_attention_heads \(heads) and head_dim is absent")
        }
        return (keyValueHeads, hiddenSize / heads)
    }

    /// Per layer, `window` for a `sliding_attention` entry of `layer_types` and nil for `full_attention`; throws
    /// for a count other than `layers`, another type, or a sliding layer without a window.
    func slidingWindows(layerTypes: [String], window: Int?, layers: Int) throws -> [Int?] {
        guard layerTypes.count == layers else {
            throw error("layer_types", "has \(layerTypes.count) entries for \(layers) layers")
        }
        if let window { try requirePositive(window, "sliding_window") }
        return try layerTypes.enumerated().map { index, type in
            switch type {
            case "full_attention": return nil
            case "sliding_attention":
                guard let window else { throw error("sliding_window", "is null, but layer \(index) is a sliding_attention layer") }
                return window
            default: throw error("layer_types[\(index)]", "'\(type)' is not supported (full_attention, sliding_attention)")
            }
        }
    }

    /// The activation named by a Hugging Face `hidden_act` / `activation_function` value.
    func activation(_ name: String, field: String) throws -> Activation {
        guard let activation = Activation(huggingFaceName: name) else {
            throw error(field, "'\(name)' is not supported (supported: gelu, gelu_python, gelu_new, gelu_pytorch_tanh, gelu_fast, "
                        + "gelu_accurate, gelu_python_tanh, gelu_10, quick_gelu, relu, relu2, relu6, leaky_relu, silu, swish, tanh, "
                        + "sigmoid, linear)")
        }
        return activation
    }

    /// The MLX settings from `quantization` (mlx-lm) or, failing that, `quantization_config`, validated.
    func quantization(_ quantization: MLXQuantization?, _ quantizationConfig: MLXQuantization?) throws -> MLXQuantization? {
        if let quantization {
            try quantization.validate(source: source, field: "quantization")
            return quantization
        }
        if let quantizationConfig {
            try quantizationConfig.validate(source: source, field: "quantization_config")
            return quantizationConfig
        }
        return nil
    }
}
