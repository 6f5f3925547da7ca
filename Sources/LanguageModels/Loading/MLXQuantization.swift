/// MLX affine quantization settings, as mlx-lm writes them under `quantization` in `config.json`.
///
/// A quantized linear or embedding `W` is stored as `W.weight` (`U32`, each row a little-endian bit stream of
/// `bits`-bit codes `q`), `W.scales` and `W.biases` (one per `groupSize` consecutive inputs); the weight is
/// `scale * q + bias`. Entries keyed by a module path override the defaults for that module: an object
/// `{"group_size": 64, "bits": 8}` changes them, `false` means the module is stored unquantized.
///
/// ```json
/// "quantization": {"group_size": 64, "bits": 4, "model.layers.0.mlp.down_proj": {"group_size": 64, "bits": 8}}
/// ```
public struct MLXQuantization: Codable, Equatable, Sendable {
    /// The bit widths whose packing is supported.
    public static let supportedBits: Set<Int> = [2, 3, 4, 5, 6, 8]

    /// How one module is stored.
    public enum ModuleSetting: Equatable, Sendable {
        /// Stored unquantized.
        case unquantized
        /// Quantized with these settings.
        case quantized(groupSize: Int, bits: Int)
    }

    /// The number of consecutive inputs sharing one scale and bias.
    public var groupSize: Int
    /// The bits per code.
    public var bits: Int
    /// MLX's quantization mode; only `"affine"` (the default when absent) is supported.
    public var mode: String?
    /// Hugging Face's quantization method (e.g. `"gptq"`) when the object came from `quantization_config`.
    public var quantMethod: String?
    /// Per-module overrides keyed by module path (e.g. `model.layers.0.mlp.down_proj`).
    public var overrides: [String: ModuleSetting]

    /// Creates settings with no per-module overrides.
    public init(groupSize: Int, bits: Int, mode: String? = nil, overrides: [String: ModuleSetting] = [:]) {
        self.groupSize = groupSize
        self.bits = bits
        self.mode = mode
        self.quantMethod = nil
        self.overrides = overrides
    }

    /// The setting for the module at `path` (the tensor name without `.weight`).
    public func setting(forModule path: String) -> ModuleSetting {
        overrides[path] ?? .quantized(groupSize: groupSize, bits: bits)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Override: Codable {
        var groupSize: Int
        var bits: Int
        enum CodingKeys: String, CodingKey {
            case groupSize = "group_size"
            case bits
        }
    }

    private static let groupSizeKey = Key(stringValue: "group_size")
    private static let bitsKey = Key(stringValue: "bits")
    private static let modeKey = Key(stringValue: "mode")
    private static let quantMethodKey = Key(stringValue: "quant_method")

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        quantMethod = try container.decodeIfPresent(String.self, forKey: Self.quantMethodKey)
        mode = try container.decodeIfPresent(String.self, forKey: Self.modeKey)
        if quantMethod != nil {
            // Another library's settings: kept only so that the configuration can refuse them by name.
            groupSize = (try? container.decodeIfPresent(Int.self, forKey: Self.groupSizeKey)) ?? 0
            bits = (try? container.decodeIfPresent(Int.self, forKey: Self.bitsKey)) ?? 0
            overrides = [:]
            return
        }
        groupSize = try container.decode(Int.self, forKey: Self.groupSizeKey)
        bits = try container.decode(Int.self, forKey: Self.bitsKey)
        overrides = [:]
        let settingKeys: Set<String> = ["group_size", "bits", "mode", "quant_method"]
        for key in container.allKeys where !settingKeys.contains(key.stringValue) {
            if let enabled = try? container.decode(Bool.self, forKey: key) {
                overrides[key.stringValue] = enabled ? .quantized(groupSize: groupSize, bits: bits) : .unquantized
            } else if (try? container.nestedContainer(keyedBy: Key.self, forKey: key)) != nil {
                let override = try container.decode(Override.self, forKey: key)
                overrides[key.stringValue] = .quantized(groupSize: override.groupSize, bits: override.bits)
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(groupSize, forKey: Self.groupSizeKey)
        try container.encode(bits, forKey: Self.bitsKey)
        try container.encodeIfPresent(mode, forKey: Self.modeKey)
        try container.encodeIfPresent(quantMethod, forKey: Self.quantMethodKey)
        for (path, setting) in overrides {
            switch setting {
            case .unquantized:
                try container.encode(false, forKey: Key(stringValue: path))
            case .quantized(let groupSize, let bits):
                try container.encode(Override(groupSize: groupSize, bits: bits), forKey: Key(stringValue: path))
            }
        }
    }

    /// Throws unless these are MLX affine settings this library can dequantize; `source` names the file.
    func validate(source: String, field: String) throws {
        if let quantMethod {
            throw LoadingError("\(source): \(field).quant_method '\(quantMethod)' is not supported (only MLX affine quantization is)")
        }
        if let mode, mode != "affine" {
            throw LoadingError("\(source): \(field).mode '\(mode)' is not supported (only 'affine' is)")
        }
        let settings = [("", ModuleSetting.quantized(groupSize: groupSize, bits: bits))]
            + overrides.sorted { $0.key < $1.key }.map { (".\($0.key)", $0.value) }
        for case let (path, .quantized(groupSize, bits)) in settings {
            guard Self.supportedBits.contains(bits) else {
                throw LoadingError("\(source): \(field)\(path).bits \(bits) is not supported (supported: 2, 3, 4, 5, 6, 8)")
            }
            guard groupSize > 0, groupSize * bits % 32 == 0 else {
                throw LoadingError("\(source): \(field)\(path).group_size \(groupSize) is not supported (must be positive and a group must fill whole 32-bit words)")
            }
        }
    }
}
