import Foundation

/// The `config.json` of a Hugging Face `llama`, `mistral`, `mixtral`, `qwen2`, `qwen3`, `smollm3`, `qwen2_moe`,
/// `qwen3_moe`, `ministral` or `ministral3` model, field for field.
///
/// The mixtures' `router_aux_loss_coef`, `router_jitter_noise` and `output_router_logits` concern training only and
/// are not read.
///
/// Absent optional fields take Hugging Face's defaults when normalized (``modelConfiguration(source:)``).
/// Rotary settings may come in the older layout (`rope_theta`, `rope_scaling`) or the newer one
/// (`rope_parameters` holding `rope_theta` and `rope_type`).
public struct LlamaConfigFile: Codable, Equatable, Sendable {
    public var modelType: String
    /// The model classes that load the file (e.g. `["LlamaForCausalLM"]`); not read by this library.
    public var architectures: [String]?
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var vocabSize: Int
    public var rmsNormEps: Double?
    public var ropeTheta: Double?
    public var ropeScaling: RopeParametersFile?
    public var ropeParameters: RopeParametersFile?
    public var partialRotaryFactor: Double?
    public var maxPositionEmbeddings: Int?
    /// A top-level original context length, which transformers prefers to the one inside the rotary parameters
    /// (llama3, YaRN) when those are one object, as Phi-3's.
    public var originalMaxPositionEmbeddings: Int?
    public var tieWordEmbeddings: Bool?
    public var attentionBias: Bool?
    public var mlpBias: Bool?
    public var hiddenAct: String?
    public var slidingWindow: Int?
    /// Mixtral: experts per layer (default 8) and experts per token (default 2).
    public var numLocalExperts: Int?
    public var numExpertsPerTok: Int?
    /// Qwen-MoE: experts per layer (`num_experts`; default 60 for Qwen2-MoE, 128 for Qwen3-MoE), each
    /// `moe_intermediate_size` wide, the shared expert's width (Qwen2-MoE), every `decoder_sparse_step`-th layer a
    /// mixture unless listed in `mlp_only_layers`, and whether the chosen experts' probabilities are renormalized.
    public var numExperts: Int?
    public var moeIntermediateSize: Int?
    public var sharedExpertIntermediateSize: Int?
    public var decoderSparseStep: Int?
    public var mlpOnlyLayers: [Int]?
    public var normTopkProb: Bool?
    /// Qwen2-MoE: whether the q, k and v projections have biases (default true).
    public var qkvBias: Bool?
    public var useSlidingWindow: Bool?
    public var maxWindowLayers: Int?
    public var layerTypes: [String]?
    /// Whether the file has no `sliding_window` key at all, which Mistral and Ministral read as their default window
    /// 4096 (an explicit `null` is no window). Not a `config.json` field: set by ``init(json:)``; false (read as
    /// null) when decoded otherwise.
    public var slidingWindowIsAbsent = false
    /// SmolLM3: per layer, 1 for a layer that rotates and 0 for a NoPE layer (at least one entry per layer).
    public var noRopeLayers: [Int]?
    /// SmolLM3: without `no_rope_layers`, every `no_rope_layer_interval`-th layer is a NoPE layer (default 4).
    public var noRopeLayerInterval: Int?
    public var bosTokenId: TokenIDList?
    public var eosTokenId: TokenIDList?
    public var torchDtype: String?
    public var dtype: String?
    public var quantization: MLXQuantization?
    public var quantizationConfig: MLXQuantization?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case architectures
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim"
        case vocabSize = "vocab_size"
        case rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case partialRotaryFactor = "partial_rotary_factor"
        case maxPositionEmbeddings = "max_position_embeddings"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias"
        case mlpBias = "mlp_bias"
        case hiddenAct = "hidden_act"
        case slidingWindow = "sliding_window"
        case numLocalExperts = "num_local_experts"
        case numExpertsPerTok = "num_experts_per_tok"
        case numExperts = "num_experts"
        case moeIntermediateSize = "moe_intermediate_size"
        case sharedExpertIntermediateSize = "shared_expert_intermediate_size"
        case decoderSparseStep = "decoder_sparse_step"
        case mlpOnlyLayers = "mlp_only_layers"
        case normTopkProb = "norm_topk_prob"
        case qkvBias = "qkv_bias"
        case useSlidingWindow = "use_sliding_window"
        case maxWindowLayers = "max_window_layers"
        case layerTypes = "layer_types"
        case noRopeLayers = "no_rope_layers"
        case noRopeLayerInterval = "no_rope_layer_interval"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case quantization
        case quantizationConfig = "quantization_config"
    }

    /// The normalized description; throws naming `source` and the field for values this library does not support.
    ///
    /// The variant decides what Hugging Face's implementation decides: Qwen2 always has q/k/v biases and no
    /// output bias, Mistral and Qwen2/3 have no MLP biases, Qwen3 normalizes queries and keys per head, and
    /// only Mistral, Qwen2/3 and SmolLM3 have sliding windows. SmolLM3 leaves rotary out of its NoPE layers and
    /// defaults to tied embeddings, 4 key-value heads and rotary base 2000000. Qwen2-MoE and Qwen3-MoE are Qwen2's and
    /// Qwen3's attention (Qwen2-MoE's q/k/v biases follow `qkv_bias`) with the mixture their fields describe
    /// (``qwenMixture(_:checker:)``). Ministral takes its windows from `layer_types` (all sliding by default) and needs
    /// `head_dim`; Ministral 3 scales its rotated queries by position (``RotaryEmbedding/queryScaling``, from
    /// `llama_4_scaling_beta`), with Ministral3Config's YaRN `rope_parameters` when the file has none. Mistral and
    /// Ministral read an absent `sliding_window` as 4096 (``slidingWindowIsAbsent``), the Mistral line 8 key-value heads
    /// when `num_key_value_heads` is absent, as transformers 5 does.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        let checker = ConfigurationChecker(source: source)
        guard let variant = ModelConfiguration.LlamaVariant(rawValue: modelType) else {
            let names = ModelConfiguration.LlamaVariant.allCases.map(\.rawValue).joined(separator: ", ")
            throw checker.error("model_type", "'\(modelType)' is not a Llama-family model (\(names))")
        }
        if variant == .ministral && headDim == nil {
            throw checker.error("head_dim", "is missing (transformers' Ministral attention needs it; it has no default)")
        }
        let (kvHeads, dHead) = try checker.decoderShape(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers, heads: numAttentionHeads,
            keyValueHeads: numKeyValueHeads ?? Self.defaultKeyValueHeads(variant, heads: numAttentionHeads),
            headDim: headDim ?? (variant == .ministral3 ? 128 : nil), vocabularySize: vocabSize)
        let maxPositions = maxPositionEmbeddings ?? Self.defaultMaxPositions(variant)

        let qkvBias: Bool, outputBias: Bool
        switch variant {
        case .llama, .qwen3, .smollm3, .qwen3MoE: (qkvBias, outputBias) = (attentionBias ?? false, attentionBias ?? false)
        case .mistral, .mixtral, .ministral, .ministral3: (qkvBias, outputBias) = (false, false)
        case .qwen2: (qkvBias, outputBias) = (true, false)
        case .qwen2MoE: (qkvBias, outputBias) = (self.qkvBias ?? true, false)
        }
        var mixture: ModelConfiguration.Mixture?
        if variant == .mixtral {
            let experts = numLocalExperts ?? 8, perToken = numExpertsPerTok ?? 2
            try checker.requireExperts(experts, "num_local_experts", perToken: perToken)
            mixture = ModelConfiguration.Mixture(experts: experts, expertsPerToken: perToken, normalizesTopK: true)
        } else if variant == .qwen2MoE || variant == .qwen3MoE {
            mixture = try qwenMixture(variant, checker: checker)
        }
        return ModelConfiguration(
            family: .llama(variant), dModel: hiddenSize, nLayers: numHiddenLayers, nHeads: numAttentionHeads,
            nKVHeads: kvHeads, dHead: dHead, dMLP: intermediateSize, vocabularySize: vocabSize,
            maxPositions: maxPositions, normEpsilon: Float(rmsNormEps ?? ([.mixtral, .ministral3].contains(variant) ? 1e-5 : 1e-6)),
            activation: try checker.activation(hiddenAct ?? "silu", field: "hidden_act"),
            positionEncoding: .rotary(try rotaryEmbedding(variant, dHead: dHead, maxPositions: maxPositions, checker: checker)),
            attentionQKVBias: qkvBias, attentionOutputBias: outputBias,
            mlpBias: variant == .llama || variant == .smollm3 ? (mlpBias ?? false) : false,
            qkNorm: variant == .qwen3 || variant == .qwen3MoE, tiedEmbeddings: tieWordEmbeddings ?? (variant == .smollm3),
            slidingWindows: try slidingWindows(variant, checker: checker),
            bosTokenIDs: bosTokenId?.ids ?? [], eosTokenIDs: eosTokenId?.ids ?? [], dtype: dtype ?? torchDtype,
            quantization: try checker.quantization(quantization, quantizationConfig),
            noRotaryLayers: variant == .smollm3 ? try smolLM3NoRotaryLayers(checker: checker) : [], mixture: mixture
        )
    }

    private static func defaultMaxPositions(_ variant: ModelConfiguration.LlamaVariant) -> Int {
        switch variant {
        case .llama: return 2048
        case .mistral, .mixtral, .ministral: return 131_072
        case .ministral3: return 262_144
        case .qwen2, .qwen3, .smollm3, .qwen2MoE, .qwen3MoE: return 32_768
        }
    }

    /// transformers' `num_key_value_heads` when the file has none.
    private static func defaultKeyValueHeads(_ variant: ModelConfiguration.LlamaVariant, heads: Int) -> Int {
        switch variant {
        case .smollm3, .qwen3MoE: return 4
        case .mistral, .mixtral, .ministral, .ministral3: return 8
        case .qwen2MoE: return 16
        default: return heads
        }
    }

    private func rotaryEmbedding(_ variant: ModelConfiguration.LlamaVariant, dHead: Int, maxPositions: Int,
                                 checker: ConfigurationChecker) throws -> RotaryEmbedding {
        var (parameters, field) = RopeParametersFile.chosen(ropeScaling: ropeScaling, ropeParameters: ropeParameters)
        if variant == .ministral3 {
            guard originalMaxPositionEmbeddings == nil else {
                throw checker.error("original_max_position_embeddings", "at the top level is not supported for ministral3 "
                                    + "(transformers' Ministral3 attention reads rope_parameters.original_max_position_embeddings)")
            }
            parameters = parameters ?? RopeParametersFile.ministral3Defaults
        }
        let partial = parameters?.partialRotaryFactor ?? partialRotaryFactor ?? 1
        guard partial == 1 else {
            throw checker.error("partial_rotary_factor", "\(partial) is not supported: Hugging Face's \(modelType) rotates whole heads")
        }
        guard dHead % 2 == 0 else { throw checker.error("head_dim", "\(dHead) must be even for rotary embeddings") }
        var rotary = try checker.rotaryEmbedding(parameters, field: field,
                                                 theta: parameters?.ropeTheta ?? ropeTheta ?? (variant == .smollm3 ? 2_000_000 : 10_000),
                                                 partialRotaryFactor: 1, headDim: dHead, maxPositions: maxPositions,
                                                 originalMaxPositions: originalMaxPositionEmbeddings, allowsLongRoPE: true)
        if variant == .ministral3 {
            rotary.queryScaling = try checker.queryPositionScaling(parameters, field: field, maxPositions: maxPositions)
        }
        return rotary
    }

    private func slidingWindows(_ variant: ModelConfiguration.LlamaVariant, checker: ConfigurationChecker) throws -> [Int?] {
        let window: Int?
        switch variant {
        case .llama: return Array(repeating: nil, count: numHiddenLayers)
        case .mistral: window = slidingWindow ?? (slidingWindowIsAbsent ? 4096 : nil)
        case .mixtral, .ministral3: window = slidingWindow
        case .qwen2, .qwen3: window = useSlidingWindow == true ? slidingWindow : nil
        case .smollm3: return try smolLM3SlidingWindows(checker: checker)
        case .ministral:
            let window = slidingWindow ?? (slidingWindowIsAbsent ? 4096 : nil)
            let type = window == nil ? "full_attention" : "sliding_attention"
            return try checker.slidingWindows(layerTypes: layerTypes ?? Array(repeating: type, count: numHiddenLayers),
                                              window: window, layers: numHiddenLayers)
        case .qwen2MoE, .qwen3MoE: return try qwenMoESlidingWindows(variant, checker: checker)
        }
        guard let window else { return Array(repeating: nil, count: numHiddenLayers) }
        try checker.requirePositive(window, "sliding_window")
        if [.mistral, .mixtral, .ministral3].contains(variant) { return Array(repeating: window, count: numHiddenLayers) }
        guard let layerTypes else {
            let firstSliding = maxWindowLayers ?? 28
            return (0..<numHiddenLayers).map { $0 >= firstSliding ? window : nil }
        }
        return try checker.slidingWindows(layerTypes: layerTypes, window: window, layers: numHiddenLayers)
    }

    /// SmolLM3's NoPE layers: the zeros of `no_rope_layers`, or every `no_rope_layer_interval`-th layer.
    private func smolLM3NoRotaryLayers(checker: ConfigurationChecker) throws -> Set<Int> {
        guard let noRopeLayers else {
            let interval = noRopeLayerInterval ?? 4
            try checker.requirePositive(interval, "no_rope_layer_interval")
            return Set((0..<numHiddenLayers).filter { ($0 + 1) % interval == 0 })
        }
        guard noRopeLayers.count >= numHiddenLayers else {
            throw checker.error("no_rope_layers", "has \(noRopeLayers.count) entries for \(numHiddenLayers) layers")
        }
        if let (index, value) = noRopeLayers.enumerated().first(where: { $0.element != 0 && $0.element != 1 }) {
            throw checker.error("no_rope_layers[\(index)]", "must be 0 (NoPE) or 1 (rotary), found \(value)")
        }
        return Set((0..<numHiddenLayers).filter { noRopeLayers[$0] == 0 })
    }

    /// SmolLM3's windows, where transformers' attention mask applies them: on the `sliding_attention` entries of
    /// `layer_types`, which by default are the NoPE layers when `use_sliding_window` is set and `sliding_window`
    /// is not null.
    private func smolLM3SlidingWindows(checker: ConfigurationChecker) throws -> [Int?] {
        let types = try layerTypes ?? {
            let noPE = try smolLM3NoRotaryLayers(checker: checker)
            let slides = useSlidingWindow == true && slidingWindow != nil
            return (0..<numHiddenLayers).map { slides && noPE.contains($0) ? "sliding_attention" : "full_attention" }
        }()
        return try checker.slidingWindows(layerTypes: types, window: slidingWindow, layers: numHiddenLayers)
    }
}

extension LlamaConfigFile {
    /// Decodes a `config.json`'s bytes, telling an absent `sliding_window` from a null one (``slidingWindowIsAbsent``).
    public init(json data: Data) throws {
        self = try JSONDecoder().decode(Self.self, from: data)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        slidingWindowIsAbsent = object?["sliding_window"] == nil
    }
}

/// Rotary settings as `config.json` writes them under `rope_parameters` (newer) or `rope_scaling` (older).
public struct RopeParametersFile: Codable, Equatable, Sendable {
    public var ropeType: String?
    /// The older name of `rope_type`.
    public var type: String?
    public var ropeTheta: Double?
    public var factor: Double?
    public var lowFreqFactor: Double?
    public var highFreqFactor: Double?
    public var originalMaxPositionEmbeddings: Int?
    public var partialRotaryFactor: Double?
    /// YaRN's and LongRoPE's factor on `cos` and `sin` (derived from `factor` when absent).
    public var attentionFactor: Double?
    /// YaRN's rotation counts bounding the blend of original and scaled frequencies (defaults 32 and 1).
    public var betaFast: Double?
    public var betaSlow: Double?
    /// YaRN's `mscale` and `mscale_all_dim` (DeepSeek): the attention factor is `m(mscale) / m(mscale_all_dim)`.
    public var mscale: Double?
    public var mscaleAllDim: Double?
    /// Whether YaRN rounds its blend range outwards to whole dimensions (default true).
    public var truncate: Bool?
    /// LongRoPE's per-pair divisors within and beyond the original context.
    public var shortFactor: [Double]?
    public var longFactor: [Double]?
    /// Ministral 3's (Llama 4's) query scaling: queries at position `p` are multiplied by
    /// `1 + beta · ln(1 + floor(p / original_max_position_embeddings))` (``QueryPositionScaling``).
    public var llama4ScalingBeta: Double?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type"
        case type
        case ropeTheta = "rope_theta"
        case factor
        case lowFreqFactor = "low_freq_factor"
        case highFreqFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case partialRotaryFactor = "partial_rotary_factor"
        case attentionFactor = "attention_factor"
        case betaFast = "beta_fast"
        case betaSlow = "beta_slow"
        case mscale
        case mscaleAllDim = "mscale_all_dim"
        case truncate
        case shortFactor = "short_factor"
        case longFactor = "long_factor"
        case llama4ScalingBeta = "llama_4_scaling_beta"
    }
}

extension RopeParametersFile {
    /// What transformers' `Ministral3Config` puts in `rope_parameters` when the file has none (its
    /// `max_position_embeddings` entry is not read).
    static let ministral3Defaults = RopeParametersFile(
        ropeType: "yarn", ropeTheta: 1_000_000, factor: 16, originalMaxPositionEmbeddings: 16_384, betaFast: 32,
        betaSlow: 1, mscale: 1, mscaleAllDim: 1, llama4ScalingBeta: 0.1)

    /// The one rotary object transformers reads from a file's `rope_scaling` and `rope_parameters`
    /// (`rope_scaling or rope_parameters`: an absent, null or empty `rope_scaling` yields), with its field name for errors.
    static func chosen(ropeScaling: RopeParametersFile?, ropeParameters: RopeParametersFile?)
        -> (parameters: RopeParametersFile?, field: String) {
        if let ropeScaling, ropeScaling != RopeParametersFile() { return (ropeScaling, "rope_scaling") }
        return (ropeParameters, "rope_parameters")
    }

    /// These settings as transformers applies them to one layer type of a `rope_parameters` keyed by layer type
    /// (Gemma 3, OLMo-3, whose older `rope_scaling` becomes the `full_attention` entry): YaRN's `truncate` has no
    /// effect there, since `_compute_yarn_parameters` reads it from the outer object
    /// (`config.rope_parameters.get("truncate", True)`), so the blend range is always rounded outwards.
    var asLayerTypeEntry: RopeParametersFile {
        var entry = self
        entry.truncate = nil
        return entry
    }
}
