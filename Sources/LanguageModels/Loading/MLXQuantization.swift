/// MLX quantization settings, as mlx-lm writes them under `quantization` in `config.json`.
///
/// A quantized linear or embedding `W` is stored as `W.weight` (`U32`, each row a little-endian bit stream of
/// `bits`-bit codes `q`) and `W.scales` (one per `groupSize` consecutive inputs), and in the affine mode
/// `W.biases`: the weight is `scale * q + bias` (affine) or `scale * value(q)` (the microscaling modes, see
/// ``Mode``). Entries keyed by a module path override the defaults for that module: an object
/// `{"group_size": 64, "bits": 8}` changes them (its `mode` is `"affine"` when absent, as MLX reads it), `false`
/// means the module is stored unquantized.
///
/// ```json
/// "quantization": {"group_size": 64, "bits": 4, "model.layers.0.mlp.down_proj": {"group_size": 64, "bits": 8}}
/// ```
public struct MLXQuantization: Codable, Equatable, Sendable {
    /// The bit widths whose affine packing is supported.
    public static let supportedBits: Set<Int> = [1, 2, 3, 4, 5, 6, 8]

    /// MLX's quantization modes (`mx.quantize(..., mode:)`, `mlx_lm.convert --q-mode`).
    public enum Mode: String, CaseIterable, Codable, Sendable {
        /// `scale · q + bias`: 1 to 8-bit unsigned codes, a scale and a bias per group (stored in the model's dtype).
        case affine
        /// OCP microscaling FP4: E2M1 codes (±0, 0.5, 1, 1.5, 2, 3, 4, 6) times a power-of-two E8M0 scale per
        /// 32 columns.
        case mxfp4
        /// OCP microscaling FP8: E4M3 codes times a power-of-two E8M0 scale per 32 columns.
        case mxfp8
        /// NVIDIA FP4: E2M1 codes times an E4M3 scale per 16 columns.
        case nvfp4

        /// The bits per code and the group size the mode requires (nil: any supported, for the affine mode).
        var fixedShape: (bits: Int, groupSize: Int)? {
            switch self {
            case .affine: nil
            case .mxfp4: (4, 32)
            case .mxfp8: (8, 32)
            case .nvfp4: (4, 16)
            }
        }
    }

    /// How one module is stored.
    public enum ModuleSetting: Equatable, Sendable {
        /// Stored unquantized.
        case unquantized
        /// Quantized with these settings.
        case quantized(groupSize: Int, bits: Int, mode: Mode)
    }

    /// The number of consecutive inputs sharing one scale and bias.
    public var groupSize: Int
    /// The bits per code.
    public var bits: Int
    /// MLX's quantization mode as written (`"affine"` when absent); ``validate(source:field:)`` refuses others
    /// than ``Mode``'s.
    public var mode: String?
    /// Hugging Face's quantization method (e.g. `"gptq"`) when the object came from `quantization_config`.
    public var quantMethod: String?
    /// Per-module overrides keyed by module path (e.g. `model.layers.0.mlp.down_proj`).
    public var overrides: [String: ModuleSetting]
    /// Hugging Face's FP8 settings when `quantMethod` is `"fp8"` (the weights with a `weight_scale_inv` are then
    /// FP8 matrices, and `groupSize` and `bits` are unused).
    public var fp8: FP8Quantization?

    /// Creates settings with no per-module overrides.
    public init(groupSize: Int, bits: Int, mode: String? = nil, overrides: [String: ModuleSetting] = [:]) {
        self.groupSize = groupSize
        self.bits = bits
        self.mode = mode
        self.quantMethod = nil
        self.overrides = overrides
    }

    /// Hugging Face FP8 settings (`quantization_config` with `quant_method: "fp8"`).
    public init(fp8: FP8Quantization) {
        self.init(groupSize: 0, bits: 0)
        quantMethod = "fp8"
        self.fp8 = fp8
    }

    /// The mode of the modules without an override (``Mode/affine`` when `mode` is absent or unknown, which
    /// ``validate(source:field:)`` refuses).
    public var defaultMode: Mode { Mode(rawValue: mode ?? "affine") ?? .affine }

    /// The setting for the module at `path` (the tensor name without `.weight`).
    public func setting(forModule path: String) -> ModuleSetting {
        overrides[path] ?? .quantized(groupSize: groupSize, bits: bits, mode: defaultMode)
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
        var mode: Mode?
        enum CodingKeys: String, CodingKey {
            case groupSize = "group_size"
            case bits
            case mode
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
            fp8 = quantMethod == "fp8" ? try FP8Quantization(from: decoder) : nil
            return
        }
        groupSize = try container.decode(Int.self, forKey: Self.groupSizeKey)
        bits = try container.decode(Int.self, forKey: Self.bitsKey)
        overrides = [:]
        let settingKeys: Set<String> = ["group_size", "bits", "mode", "quant_method"]
        for key in container.allKeys where !settingKeys.contains(key.stringValue) {
            if let enabled = try? container.decode(Bool.self, forKey: key) {
                overrides[key.stringValue] = enabled ? .quantized(groupSize: groupSize, bits: bits, mode: defaultMode) : .unquantized
            } else if (try? container.nestedContainer(keyedBy: Key.self, forKey: key)) != nil {
                let override = try container.decode(Override.self, forKey: key)
                overrides[key.stringValue] = .quantized(groupSize: override.groupSize, bits: override.bits,
                                                        mode: override.mode ?? .affine)
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        if let fp8 {
            try fp8.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encodeIfPresent(quantMethod, forKey: Self.quantMethodKey)
            return
        }
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(groupSize, forKey: Self.groupSizeKey)
        try container.encode(bits, forKey: Self.bitsKey)
        try container.encodeIfPresent(mode, forKey: Self.modeKey)
        try container.encodeIfPresent(quantMethod, forKey: Self.quantMethodKey)
        for (path, setting) in overrides {
            switch setting {
            case .unquantized:
                try container.encode(false, forKey: Key(stringValue: path))
            case .quantized(let groupSize, let bits, let mode):
                try container.encode(Override(groupSize: groupSize, bits: bits, mode: mode == .affine ? nil : mode),
                                     forKey: Key(stringValue: path))
            }
        }
    }

    /// Throws unless these are MLX settings this library can dequantize; `source` names the file.
    func validate(source: String, field: String) throws {
        if let fp8 {
            return try fp8.validate(source: source, field: field)
        }
        if let quantMethod {
            throw LoadingError("\(source): \(field).quant_method '\(quantMethod)' is not supported (only MLX quantization and 'fp8' are)")
        }
        if let mode, Mode(rawValue: mode) == nil {
            let modes = Mode.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw LoadingError("\(source): \(field).mode '\(mode)' is not supported (supported: \(modes))")
        }
        let settings = [("", ModuleSetting.quantized(groupSize: groupSize, bits: bits, mode: defaultMode))]
            + overrides.sorted { $0.key < $1.key }.map { (".\($0.key)", $0.value) }
        for case let (path, .quantized(groupSize, bits, mode)) in settings {
            if let required = mode.fixedShape, (bits, groupSize) != required {
                throw LoadingError("\(source): \(field)\(path): mode '\(mode.rawValue)' stores \(required.bits)-bit codes in "
                                   + "groups of \(required.groupSize), not \(bits) bits in groups of \(groupSize)")
            }
            guard Self.supportedBits.contains(bits) else {
                throw LoadingError("\(source): \(field)\(path).bits \(bits) is not supported (supported: 1, 2, 3, 4, 5, 6, 8)")
            }
            guard groupSize > 0, groupSize * bits % 32 == 0 else {
                throw LoadingError("\(source): \(field)\(path).group_size \(groupSize) is not supported (must be positive and a group must fill whole 32-bit words)")
            }
        }
    }
}
