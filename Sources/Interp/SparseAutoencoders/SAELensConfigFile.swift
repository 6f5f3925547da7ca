import Foundation

/// The `cfg.json` of a SAELens SAE directory, field for field: the 6.x layout (`SAEConfig.to_dict()`, the hook in
/// `metadata.hook_name`) and the 3.x–5.x layout (`hook_name` or `hook_point`, `activation_fn_kwargs.k`, a boolean
/// `normalize_activations`, `finetuning_scaling_factor`) that SAELens 6 upgrades with `handle_pre_6_0_config`.
///
/// ``configuration(source:)`` validates it; every value this library does not implement is refused by name.
public struct SAELensConfigFile: Codable, Equatable, Sendable {
    /// The run metadata of a 6.x file; only the hook matters here.
    public struct Metadata: Codable, Equatable, Sendable {
        public var hookName: String?
        public var hookHeadIndex: Int?
        public var modelName: String?
        public var saeLensVersion: String?

        enum CodingKeys: String, CodingKey {
            case hookName = "hook_name"
            case hookHeadIndex = "hook_head_index"
            case modelName = "model_name"
            case saeLensVersion = "sae_lens_version"
        }
    }

    /// A normalization given as a string (6.x) or a boolean (before 5.x: true meant `expected_average_only_in`).
    public enum Normalization: Codable, Equatable, Sendable {
        case named(String)
        case flag(Bool)

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) { self = .flag(flag) } else { self = .named(try container.decode(String.self)) }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .named(let name): try container.encode(name)
            case .flag(let flag): try container.encode(flag)
            }
        }

        /// The 6.x name.
        var name: String {
            switch self {
            case .named(let name): return name
            case .flag(let flag): return flag ? "expected_average_only_in" : "none"
            }
        }
    }

    /// `activation_fn_kwargs` of a pre-6 top-k SAE.
    public struct ActivationKeywords: Codable, Equatable, Sendable {
        public var k: Int?
    }

    public var architecture: String?
    public var dIn: Int
    public var dSAE: Int
    public var dtype: String?
    public var device: String?
    public var applyBDecToInput: Bool?
    public var normalizeActivations: Normalization?
    public var reshapeActivations: String?
    public var k: Int?
    public var rescaleActsByDecoderNorm: Bool?
    public var metadata: Metadata?
    public var hookName: String?
    public var hookPoint: String?
    public var hookHeadIndex: Int?
    public var hookPointHeadIndex: Int?
    public var activationFn: String?
    public var activationFnStr: String?
    public var activationFnKwargs: ActivationKeywords?
    public var finetuningScalingFactor: Bool?
    public var saeLensVersion: String?

    enum CodingKeys: String, CodingKey {
        case architecture
        case dIn = "d_in"
        case dSAE = "d_sae"
        case dtype, device
        case applyBDecToInput = "apply_b_dec_to_input"
        case normalizeActivations = "normalize_activations"
        case reshapeActivations = "reshape_activations"
        case k
        case rescaleActsByDecoderNorm = "rescale_acts_by_decoder_norm"
        case metadata
        case hookName = "hook_name"
        case hookPoint = "hook_point"
        case hookHeadIndex = "hook_head_index"
        case hookPointHeadIndex = "hook_point_head_index"
        case activationFn = "activation_fn"
        case activationFnStr = "activation_fn_str"
        case activationFnKwargs = "activation_fn_kwargs"
        case finetuningScalingFactor = "finetuning_scaling_factor"
        case saeLensVersion = "sae_lens_version"
    }

    /// The dtypes SAELens accepts (`DTYPE_MAP`). Weights are read in their stored dtype and computed in `Float`.
    static let dtypes: Set<String> = ["float32", "float64", "float16", "bfloat16",
                                      "torch.float32", "torch.float64", "torch.float16", "torch.bfloat16"]

    /// The validated description; throws naming `source` and the field for anything this library does not implement.
    public func configuration(source: String = "cfg.json") throws -> SparseAutoencoder.Configuration {
        let checker = Checker(source: source)
        try checker.requireWidth(dIn, "d_in")
        try checker.requireWidth(dSAE, "d_sae")
        let hookField = metadata?.hookName != nil ? "metadata.hook_name" : hookName != nil ? "hook_name" : "hook_point"
        guard let hook = metadata?.hookName ?? hookName ?? hookPoint else {
            throw checker.error("metadata.hook_name", "is missing (nor is there a pre-6 'hook_name' or 'hook_point')")
        }
        if let head = metadata?.hookHeadIndex ?? hookHeadIndex ?? hookPointHeadIndex {
            throw checker.error("hook_head_index", "\(head) is not supported (SAEs on one head's slice of an activation)")
        }
        if let dtype, !Self.dtypes.contains(dtype) {
            throw checker.error("dtype", "'\(dtype)' is not supported (supported: \(Self.dtypes.sorted().joined(separator: ", ")))")
        }
        if finetuningScalingFactor == true {
            throw checker.error("finetuning_scaling_factor", "true is not supported (a pre-6 fine-tuned decoder scale)")
        }
        let (architecture, k) = try self.architecture(checker)
        let normalizationName = normalizeActivations?.name ?? "none"
        guard let normalization = SparseAutoencoder.InputNormalization(rawValue: normalizationName) else {
            let known = SparseAutoencoder.InputNormalization.allCases.map(\.rawValue).joined(separator: ", ")
            let hint = normalizationName == "expected_average_only_in"
                ? " (its scaling factor is not in the directory: fold it into the weights with SAELens' "
                    + "fold_activation_norm_scaling_factor and save again)" : ""
            throw checker.error("normalize_activations", "'\(normalizationName)' is not supported (supported: \(known))\(hint)")
        }
        let reshape = reshapeActivations ?? (hook.hasSuffix("hook_z") && isPre6 ? "hook_z" : "none")
        guard reshape == "none" || reshape == "hook_z" else {
            throw checker.error("reshape_activations", "'\(reshape)' is not supported (supported: none, hook_z)")
        }
        if rescaleActsByDecoderNorm == true && architecture != .topK {
            throw checker.error("rescale_acts_by_decoder_norm", "true is only defined for the topk architecture, not \(architecture.rawValue)")
        }
        return SparseAutoencoder.Configuration(
            architecture: architecture, k: k, dIn: dIn, dSAE: dSAE, hookName: hook, hookField: hookField,
            appliesDecoderBiasToInput: applyBDecToInput ?? true, normalization: normalization,
            flattensHeads: reshape == "hook_z", rescalesByDecoderNorm: rescaleActsByDecoderNorm ?? false)
    }

    /// True for a file written before SAELens 6 (no version, or one below 6).
    private var isPre6: Bool {
        guard let version = metadata?.saeLensVersion ?? saeLensVersion, let major = Int(version.prefix { $0.isNumber }) else { return true }
        return major < 6
    }

    private func architecture(_ checker: Checker) throws -> (SparseAutoencoder.Architecture, Int?) {
        let activation = activationFn ?? activationFnStr
        var name = architecture ?? "standard"
        if isPre6, activation == "topk", activationFnKwargs?.k != nil { name = "topk" }
        guard let architecture = SparseAutoencoder.Architecture(rawValue: name) else {
            let known = SparseAutoencoder.Architecture.allCases.map(\.rawValue).joined(separator: ", ")
            let transcoder = name.contains("transcoder") ? " (transcoders map one hook to another and are not SAEs of one activation)" : ""
            throw checker.error("architecture", "'\(name)' is not supported (supported: \(known))\(transcoder)")
        }
        if let activation, activation != "relu", !(architecture == .topK && activation == "topk") {
            throw checker.error(activationFn != nil ? "activation_fn" : "activation_fn_str",
                                "'\(activation)' is not supported with the \(name) architecture (relu only)")
        }
        if architecture == .topK {
            guard let k = k ?? activationFnKwargs?.k else { throw checker.error("k", "is missing (the topk architecture needs it)") }
            guard k >= 1 && k <= dSAE else { throw checker.error("k", "\(k) is not between 1 and d_sae \(dSAE)") }
            return (.topK, k)
        }
        return (architecture, nil)
    }

    /// Errors naming the file and the field.
    struct Checker {
        let source: String

        func error(_ field: String, _ problem: String) -> LoadingError { LoadingError("\(source): \(field) \(problem)") }

        /// A width: positive and at most 2^24 (a corrupt count must not allocate billions of floats).
        func requireWidth(_ value: Int, _ field: String) throws {
            guard value > 0 && value <= 1 << 24 else { throw error(field, "must be between 1 and \(1 << 24), found \(value)") }
        }
    }
}
