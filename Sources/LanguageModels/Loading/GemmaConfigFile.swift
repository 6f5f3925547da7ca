/// The `config.json` of a Hugging Face `gemma`, `gemma2` or `gemma3_text` model, field for field.
///
/// Absent fields take transformers' defaults for the `model_type` when decoded; for the fields whose default is
/// not "off" (`sliding_window`, `attn_logit_softcapping`, `final_logit_softcapping` of Gemma-2) an explicit
/// `null` is kept apart from an absent key, as transformers does.
public struct GemmaConfigFile: Codable, Equatable, Sendable {
    public var modelType: String
    /// The model classes that load the file (e.g. `["Gemma2ForCausalLM"]`); not read by this library.
    public var architectures: [String]?
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var vocabSize: Int
    /// Gemma 1's activation (`"gelu"` is read as the tanh approximation, as transformers does).
    public var hiddenAct: String?
    /// Gemma 2 and 3's activation.
    public var hiddenActivation: String?
    public var maxPositionEmbeddings: Int?
    /// A top-level original context length, which transformers prefers to the one inside the rotary parameters
    /// (llama3, YaRN) when those are one object, as Phi-3's.
    public var originalMaxPositionEmbeddings: Int?
    public var rmsNormEps: Double?
    public var tieWordEmbeddings: Bool?
    public var attentionBias: Bool?
    public var ropeTheta: Double?
    public var ropeScaling: RopeParametersFile?
    public var ropeParameters: GemmaRopeParameters?
    /// Gemma 3's rotary base of the sliding-window layers (older layout).
    public var ropeLocalBaseFreq: Double?
    public var queryPreAttnScalar: Double?
    /// The window of the sliding-window layers; nil when absent *or* null (see ``slidingWindowIsNull``).
    public var slidingWindow: Int?
    /// Whether `sliding_window` is an explicit `null` (no window), which transformers keeps apart from an absent
    /// key (the default window). Not a `config.json` field.
    public var slidingWindowIsNull: Bool
    public var layerTypes: [String]?
    /// Gemma 3's older way of placing the global layers: every `sliding_window_pattern`-th layer is global.
    public var slidingWindowPattern: Int?
    /// The soft-capping values after transformers' defaults (absent keys of Gemma-2 give 50 and 30).
    public var attnLogitSoftcapping: Double?
    public var finalLogitSoftcapping: Double?
    public var useBidirectionalAttention: Bool?
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
        case hiddenAct = "hidden_act"
        case hiddenActivation = "hidden_activation"
        case maxPositionEmbeddings = "max_position_embeddings"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case rmsNormEps = "rms_norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case ropeLocalBaseFreq = "rope_local_base_freq"
        case queryPreAttnScalar = "query_pre_attn_scalar"
        case slidingWindow = "sliding_window"
        case layerTypes = "layer_types"
        case slidingWindowPattern = "sliding_window_pattern"
        case attnLogitSoftcapping = "attn_logit_softcapping"
        case finalLogitSoftcapping = "final_logit_softcapping"
        case useBidirectionalAttention = "use_bidirectional_attention"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case quantization
        case quantizationConfig = "quantization_config"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func optional<T: Decodable>(_ key: CodingKeys) throws -> T? { try c.decodeIfPresent(T.self, forKey: key) }
        modelType = try c.decode(String.self, forKey: .modelType)
        architectures = try optional(.architectures)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try optional(.numKeyValueHeads)
        headDim = try optional(.headDim)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenAct = try optional(.hiddenAct)
        hiddenActivation = try optional(.hiddenActivation)
        maxPositionEmbeddings = try optional(.maxPositionEmbeddings)
        originalMaxPositionEmbeddings = try optional(.originalMaxPositionEmbeddings)
        rmsNormEps = try optional(.rmsNormEps)
        tieWordEmbeddings = try optional(.tieWordEmbeddings)
        attentionBias = try optional(.attentionBias)
        ropeTheta = try optional(.ropeTheta)
        ropeScaling = try optional(.ropeScaling)
        ropeParameters = try optional(.ropeParameters)
        ropeLocalBaseFreq = try optional(.ropeLocalBaseFreq)
        queryPreAttnScalar = try optional(.queryPreAttnScalar)
        slidingWindow = try optional(.slidingWindow)
        slidingWindowIsNull = c.contains(.slidingWindow) && slidingWindow == nil
        layerTypes = try optional(.layerTypes)
        slidingWindowPattern = try optional(.slidingWindowPattern)
        let softcapDefaults: (Double, Double)? = modelType == "gemma2" ? (50, 30) : nil
        attnLogitSoftcapping = c.contains(.attnLogitSoftcapping) ? try optional(.attnLogitSoftcapping) : softcapDefaults?.0
        finalLogitSoftcapping = c.contains(.finalLogitSoftcapping) ? try optional(.finalLogitSoftcapping) : softcapDefaults?.1
        useBidirectionalAttention = try optional(.useBidirectionalAttention)
        bosTokenId = try optional(.bosTokenId)
        eosTokenId = try optional(.eosTokenId)
        torchDtype = try optional(.torchDtype)
        dtype = try optional(.dtype)
        quantization = try optional(.quantization)
        quantizationConfig = try optional(.quantizationConfig)
    }

    /// The normalized description; throws naming `source` and the field for values this library does not support.
    ///
    /// `attn_logit_softcapping` is read for Gemma-2 only: transformers' Gemma-3 attention ignores it (it never
    /// passes it to the attention function), so a Gemma-3 file that sets it computes uncapped scores.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        let checker = ConfigurationChecker(source: source)
        guard let version = ModelConfiguration.GemmaVersion(rawValue: modelType) else {
            throw checker.error("model_type", "'\(modelType)' is not a Gemma model (gemma, gemma2, gemma3_text)")
        }
        let (kvHeads, dHead) = try checker.decoderShape(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers, heads: numAttentionHeads,
            keyValueHeads: numKeyValueHeads ?? (version == .gemma ? 16 : 4), headDim: headDim ?? 256, vocabularySize: vocabSize)
        if useBidirectionalAttention == true {
            throw checker.error("use_bidirectional_attention", "true is not supported (decoder-only causal models only)")
        }
        let activation: Activation
        if version == .gemma {
            let name = hiddenAct ?? "gelu_pytorch_tanh"
            activation = name == "gelu" ? .geluTanh : try checker.activation(name, field: "hidden_act")
        } else {
            activation = try checker.activation(hiddenActivation ?? "gelu_pytorch_tanh", field: "hidden_activation")
        }
        let maxPositions = maxPositionEmbeddings ?? (version == .gemma3Text ? 131_072 : 8192)
        let windows = try slidingWindows(version, checker: checker)
        let (global, local) = try rotaryEmbeddings(version, dHead: dHead, maxPositions: maxPositions, checker: checker)
        for (field, value) in [("attn_logit_softcapping", attnLogitSoftcapping), ("final_logit_softcapping", finalLogitSoftcapping)] {
            if let value, !(value > 0) { throw checker.error(field, "must be positive, found \(value)") }
        }
        if let queryPreAttnScalar, !(queryPreAttnScalar > 0) {
            throw checker.error("query_pre_attn_scalar", "must be positive, found \(queryPreAttnScalar)")
        }
        let bias = attentionBias ?? false
        return ModelConfiguration(
            family: .gemma(version), dModel: hiddenSize, nLayers: numHiddenLayers, nHeads: numAttentionHeads,
            nKVHeads: kvHeads, dHead: dHead, dMLP: intermediateSize, vocabularySize: vocabSize, maxPositions: maxPositions,
            normEpsilon: Float(rmsNormEps ?? 1e-6), activation: activation, positionEncoding: .rotary(global),
            attentionQKVBias: bias, attentionOutputBias: bias, mlpBias: false, qkNorm: version == .gemma3Text,
            tiedEmbeddings: tieWordEmbeddings ?? true, slidingWindows: windows,
            bosTokenIDs: bosTokenId?.ids ?? [], eosTokenIDs: eosTokenId?.ids ?? [], dtype: dtype ?? torchDtype,
            quantization: try checker.quantization(quantization, quantizationConfig),
            attentionSoftcap: version == .gemma2 ? attnLogitSoftcapping.map(Float.init) : nil,
            finalLogitSoftcap: version == .gemma ? nil : finalLogitSoftcapping.map(Float.init),
            queryPreAttentionScalar: version == .gemma ? nil : queryPreAttnScalar ?? 256,
            slidingWindowRotary: local
        )
    }

    /// Per layer, the window of a `sliding_attention` layer or nil for `full_attention`.
    private func slidingWindows(_ version: ModelConfiguration.GemmaVersion, checker: ConfigurationChecker) throws -> [Int?] {
        guard version != .gemma else { return Array(repeating: nil, count: numHiddenLayers) }
        let window = slidingWindowIsNull ? nil : slidingWindow ?? 4096
        if let window { try checker.requirePositive(window, "sliding_window") }
        let types: [String]
        if let layerTypes {
            guard layerTypes.count == numHiddenLayers else {
                throw checker.error("layer_types", "has \(layerTypes.count) entries for \(numHiddenLayers) layers")
            }
            types = layerTypes
        } else {
            let pattern = version == .gemma2 ? 2 : slidingWindowPattern ?? 6
            try checker.requirePositive(pattern, "sliding_window_pattern")
            types = (0..<numHiddenLayers).map { ($0 + 1) % pattern != 0 ? "sliding_attention" : "full_attention" }
        }
        return try types.enumerated().map { index, type in
            switch type {
            case "full_attention": return nil
            case "sliding_attention": return window
            default: throw checker.error("layer_types[\(index)]", "'\(type)' is not supported (full_attention, sliding_attention)")
            }
        }
    }

    /// The rotary embeddings of the global layers and, for Gemma-3, of the sliding-window layers.
    private func rotaryEmbeddings(_ version: ModelConfiguration.GemmaVersion, dHead: Int, maxPositions: Int,
                                  checker: ConfigurationChecker) throws -> (RotaryEmbedding, RotaryEmbedding?) {
        func rotary(_ parameters: RopeParametersFile?, _ field: String, theta: Double,
                    original: Int? = nil) throws -> RotaryEmbedding {
            try checker.rotaryEmbedding(parameters, field: field, theta: parameters?.ropeTheta ?? theta,
                                        partialRotaryFactor: parameters?.partialRotaryFactor ?? 1, headDim: dHead,
                                        maxPositions: maxPositions, originalMaxPositions: original)
        }
        guard version == .gemma3Text else {
            if case .perLayerType = ropeParameters {
                throw checker.error("rope_parameters", "is keyed by layer type, which only gemma3_text reads")
            }
            let flat: RopeParametersFile?
            if case .shared(let shared) = ropeParameters { flat = shared } else { flat = nil }
            let (parameters, field) = RopeParametersFile.chosen(ropeScaling: ropeScaling, ropeParameters: flat)
            return (try rotary(parameters, field, theta: ropeTheta ?? 10_000,
                               original: originalMaxPositionEmbeddings), nil)
        }
        switch ropeParameters {
        case .perLayerType(let full, let sliding):
            return (try rotary(full?.asLayerTypeEntry, "rope_parameters.full_attention", theta: ropeTheta ?? 1_000_000),
                    try rotary(sliding?.asLayerTypeEntry, "rope_parameters.sliding_attention", theta: ropeLocalBaseFreq ?? 10_000))
        case .shared:
            throw checker.error("rope_parameters", "must be keyed by layer type (full_attention, sliding_attention) for gemma3_text")
        case nil:
            // The older layout: rope_scaling applies to the global layers only.
            return (try rotary(checker.fullAttentionScaling(ropeScaling), "rope_scaling", theta: ropeTheta ?? 1_000_000),
                    try rotary(nil, "rope_local_base_freq", theta: ropeLocalBaseFreq ?? 10_000))
        }
    }
}

/// Gemma's `rope_parameters`: one set for every layer (Gemma 1 and 2) or one per layer type (Gemma 3; OLMo-3 too).
public enum GemmaRopeParameters: Codable, Equatable, Sendable {
    case shared(RopeParametersFile)
    case perLayerType(fullAttention: RopeParametersFile?, slidingAttention: RopeParametersFile?)

    enum CodingKeys: String, CodingKey {
        case fullAttention = "full_attention"
        case slidingAttention = "sliding_attention"
    }

    public init(from decoder: Decoder) throws {
        let keyed = try? decoder.container(keyedBy: CodingKeys.self)
        if let keyed, keyed.contains(.fullAttention) || keyed.contains(.slidingAttention) {
            self = .perLayerType(fullAttention: try keyed.decodeIfPresent(RopeParametersFile.self, forKey: .fullAttention),
                                 slidingAttention: try keyed.decodeIfPresent(RopeParametersFile.self, forKey: .slidingAttention))
        } else {
            self = .shared(try RopeParametersFile(from: decoder))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .shared(let parameters):
            try parameters.encode(to: encoder)
        case .perLayerType(let full, let sliding):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(full, forKey: .fullAttention)
            try container.encodeIfPresent(sliding, forKey: .slidingAttention)
        }
    }
}
