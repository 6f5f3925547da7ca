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

    /// The activation named by a Hugging Face `hidden_act` / `activation_function` value.
    func activation(_ name: String, field: String) throws -> Activation {
        guard let activation = Activation(huggingFaceName: name) else {
            throw error(field, "'\(name)' is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish)")
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
