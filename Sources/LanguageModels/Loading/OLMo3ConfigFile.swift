/// The `config.json` of a Hugging Face `olmo3` model, field for field: OLMo-2's fields plus the sliding-window
/// layers (`layer_types`, `sliding_window`) and rotary settings per layer type.
///
/// Absent fields take transformers' defaults: every fourth layer full attention and the others a window of 4096,
/// rotary base 500000. The older rotary layout (`rope_theta`, `rope_scaling`) sets the full-attention layers
/// only, as transformers reads it: the sliding-window layers keep base 500000 and no scaling.
public struct OLMo3ConfigFile: Codable, Equatable, Sendable {
    public var modelType: String
    /// The model classes that load the file (`["Olmo3ForCausalLM"]`); not read by this library.
    public var architectures: [String]?
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var vocabSize: Int
    public var hiddenAct: String?
    public var maxPositionEmbeddings: Int?
    public var rmsNormEps: Double?
    public var tieWordEmbeddings: Bool?
    public var attentionBias: Bool?
    public var ropeTheta: Double?
    public var ropeScaling: RopeParametersFile?
    /// Keyed by layer type (`full_attention`, `sliding_attention`), as transformers 5 writes it.
    public var ropeParameters: GemmaRopeParameters?
    /// The window of the sliding-window layers; nil when absent *or* null (see ``slidingWindowIsNull``).
    public var slidingWindow: Int?
    /// Whether `sliding_window` is an explicit `null` (no window) rather than absent (4096). Not a `config.json` field.
    public var slidingWindowIsNull: Bool
    public var layerTypes: [String]?
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
        case maxPositionEmbeddings = "max_position_embeddings"
        case rmsNormEps = "rms_norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case slidingWindow = "sliding_window"
        case layerTypes = "layer_types"
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
        maxPositionEmbeddings = try optional(.maxPositionEmbeddings)
        rmsNormEps = try optional(.rmsNormEps)
        tieWordEmbeddings = try optional(.tieWordEmbeddings)
        attentionBias = try optional(.attentionBias)
        ropeTheta = try optional(.ropeTheta)
        ropeScaling = try optional(.ropeScaling)
        ropeParameters = try optional(.ropeParameters)
        slidingWindow = try optional(.slidingWindow)
        slidingWindowIsNull = c.contains(.slidingWindow) && slidingWindow == nil
        layerTypes = try optional(.layerTypes)
        bosTokenId = try optional(.bosTokenId)
        eosTokenId = try optional(.eosTokenId)
        torchDtype = try optional(.torchDtype)
        dtype = try optional(.dtype)
        quantization = try optional(.quantization)
        quantizationConfig = try optional(.quantizationConfig)
    }

    /// The normalized description; throws naming `source` and the field for values this library does not support.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        let checker = ConfigurationChecker(source: source)
        guard modelType == "olmo3" else { throw checker.error("model_type", "'\(modelType)' is not olmo3") }
        let (kvHeads, dHead) = try checker.decoderShape(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers, heads: numAttentionHeads,
            keyValueHeads: numKeyValueHeads ?? numAttentionHeads, headDim: headDim, vocabularySize: vocabSize)
        let maxPositions = maxPositionEmbeddings ?? 2048
        let types = layerTypes ?? (0..<numHiddenLayers).map { ($0 + 1) % 4 != 0 ? "sliding_attention" : "full_attention" }
        let windows = try checker.slidingWindows(layerTypes: types, window: slidingWindowIsNull ? nil : slidingWindow ?? 4096,
                                                 layers: numHiddenLayers)
        let (full, sliding) = try rotaryEmbeddings(dHead: dHead, maxPositions: maxPositions, checker: checker)
        let bias = attentionBias ?? false
        return ModelConfiguration(
            family: .olmo3, dModel: hiddenSize, nLayers: numHiddenLayers, nHeads: numAttentionHeads, nKVHeads: kvHeads,
            dHead: dHead, dMLP: intermediateSize, vocabularySize: vocabSize, maxPositions: maxPositions,
            normEpsilon: Float(rmsNormEps ?? 1e-5), activation: try checker.activation(hiddenAct ?? "silu", field: "hidden_act"),
            positionEncoding: .rotary(full), attentionQKVBias: bias, attentionOutputBias: bias, mlpBias: false, qkNorm: true,
            tiedEmbeddings: tieWordEmbeddings ?? false, slidingWindows: windows,
            bosTokenIDs: bosTokenId?.ids ?? [], eosTokenIDs: eosTokenId?.ids ?? [], dtype: dtype ?? torchDtype,
            quantization: try checker.quantization(quantization, quantizationConfig), slidingWindowRotary: sliding
        )
    }

    /// The rotary embeddings of the full-attention and of the sliding-window layers.
    private func rotaryEmbeddings(dHead: Int, maxPositions: Int, checker: ConfigurationChecker) throws
        -> (full: RotaryEmbedding, sliding: RotaryEmbedding) {
        func rotary(_ parameters: RopeParametersFile?, _ field: String, theta: Double) throws -> RotaryEmbedding {
            try checker.wholeHeadRotaryEmbedding(parameters?.asLayerTypeEntry, field: field, theta: theta, family: "OLMo-3",
                                                 headDim: dHead, maxPositions: maxPositions)
        }
        let defaultBase = 500_000.0
        switch ropeParameters {
        case .shared:
            throw checker.error("rope_parameters", "must be keyed by layer type (full_attention, sliding_attention) for olmo3")
        case .perLayerType(let full, let sliding):
            if full != nil && ropeScaling != nil {
                throw checker.error("rope_scaling", "is not supported next to rope_parameters.full_attention (transformers merges them)")
            }
            return (try rotary(full ?? checker.fullAttentionScaling(ropeScaling),
                               full != nil ? "rope_parameters.full_attention" : "rope_scaling",
                               theta: ropeTheta ?? defaultBase),
                    try rotary(sliding, "rope_parameters.sliding_attention", theta: defaultBase))
        case nil:
            return (try rotary(checker.fullAttentionScaling(ropeScaling), "rope_scaling", theta: ropeTheta ?? defaultBase),
                    try rotary(nil, "rope_parameters.sliding_attention", theta: defaultBase))
        }
    }
}
