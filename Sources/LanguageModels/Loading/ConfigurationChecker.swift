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

    /// The most layers a configuration may state. The deepest released decoders have a few hundred; the per-layer
    /// descriptions are built before any weight is read, so a corrupt count (billions) must stop here, not
    /// exhaust memory.
    static let maximumLayers = 65_536

    /// The largest width a configuration may state (hidden and MLP sizes, heads, head size, vocabulary): far above
    /// every released model, and small enough that the shapes derived from widths neither overflow nor allocate
    /// tables (rotary frequencies) of billions of entries before the weights are read.
    static let maximumWidth = 1 << 24

    /// The most experts per layer a configuration may state: released mixtures have a few hundred; the experts are
    /// described before their weights are read, so a corrupt count must stop here.
    static let maximumExperts = 65_536

    /// Checks a mixture's expert count (`field`: positive and at most ``maximumExperts``) and its experts per token
    /// (`num_experts_per_tok`: between 1 and the count).
    func requireExperts(_ experts: Int, _ field: String, perToken: Int) throws {
        try requirePositive(experts, field)
        guard experts <= Self.maximumExperts else {
            throw error(field, "\(experts) is more than \(Self.maximumExperts) experts; the file is corrupt")
        }
        guard perToken >= 1 && perToken <= experts else {
            throw error("num_experts_per_tok", "\(perToken) is not between 1 and \(field) \(experts)")
        }
    }

    /// Checks a width: positive and at most ``maximumWidth``.
    func requireWidth(_ value: Int, _ field: String) throws {
        try requirePositive(value, field)
        guard value <= Self.maximumWidth else {
            throw error(field, "\(value) is more than \(Self.maximumWidth); the file is corrupt")
        }
    }

    /// Checks a layer count: positive and at most ``maximumLayers``.
    func requireLayerCount(_ layers: Int, _ field: String) throws {
        try requirePositive(layers, field)
        guard layers <= Self.maximumLayers else {
            throw error(field, "\(layers) is more than \(Self.maximumLayers) layers; the file is corrupt")
        }
    }

    /// The sizes every decoder family states with the same Hugging Face fields, validated: each positive and at most
    /// ``maximumWidth`` (the layers at most ``maximumLayers``), the key-value heads dividing the heads, and the head size `head_dim`, or `hidden_size / num_attention_heads`
    /// when `headDim` is nil.
    ///
    /// - Returns: the number of key-value heads and the head size.
    func decoderShape(hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, keyValueHeads: Int,
                      headDim: Int?, vocabularySize: Int) throws -> (keyValueHeads: Int, headDim: Int) {
        for (value, field) in [(hiddenSize, "hidden_size"), (intermediateSize, "intermediate_size"),
                               (heads, "num_attention_heads"), (vocabularySize, "vocab_size"),
                               (keyValueHeads, "num_key_value_heads")] {
            try requireWidth(value, field)
        }
        try requireLayerCount(layers, "num_hidden_layers")
        guard heads % keyValueHeads == 0 else {
            throw error("num_key_value_heads", "\(keyValueHeads) does not divide num_attention_heads \(heads)")
        }
        if let headDim {
            try requireWidth(headDim, "head_dim")
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

    /// OLMo's `clip_qkv` (the bound q, k and v are clamped to): nil when absent, refused unless positive.
    func clipQKV(_ value: Double?) throws -> Float? {
        guard let value else { return nil }
        guard value > 0 else { throw error("clip_qkv", "must be positive, found \(value)") }
        return Float(value)
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
