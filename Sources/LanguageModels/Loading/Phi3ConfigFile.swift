/// The `config.json` of a Hugging Face `phi3` model (Phi-3, Phi-3.5, Phi-4-mini), field for field.
///
/// Rotary scaling of type `longrope` (also written `su` or `yarn`, as Phi-3-128k and Phi-3.5 carry it) is read
/// as transformers reads it; transformers' Phi-3 accepts no other scaling.
public struct Phi3ConfigFile: Codable, Equatable, Sendable {
    public var modelType: String
    /// The model classes that load the file (`["Phi3ForCausalLM"]`); not read by this library.
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
    public var originalMaxPositionEmbeddings: Int?
    public var rmsNormEps: Double?
    public var tieWordEmbeddings: Bool?
    public var ropeTheta: Double?
    public var ropeScaling: RopeParametersFile?
    public var ropeParameters: RopeParametersFile?
    public var partialRotaryFactor: Double?
    public var slidingWindow: Int?
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
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case rmsNormEps = "rms_norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case partialRotaryFactor = "partial_rotary_factor"
        case slidingWindow = "sliding_window"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case quantization
        case quantizationConfig = "quantization_config"
    }

    /// The normalized description; throws naming `source` and the field for values this library does not support.
    ///
    /// A `sliding_window` applies to every layer, as in transformers.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        let checker = ConfigurationChecker(source: source)
        guard modelType == "phi3" else { throw checker.error("model_type", "'\(modelType)' is not phi3") }
        let (kvHeads, dHead) = try checker.decoderShape(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers, heads: numAttentionHeads,
            keyValueHeads: numKeyValueHeads ?? numAttentionHeads, headDim: headDim, vocabularySize: vocabSize)
        let maxPositions = maxPositionEmbeddings ?? 4096
        let (parameters, field) = RopeParametersFile.chosen(ropeScaling: ropeScaling, ropeParameters: ropeParameters)
        // transformers' Phi-3 accepts only default and longrope (written su or yarn in older files, read as longrope).
        var rope = parameters
        let type = parameters?.ropeType ?? parameters?.type ?? "default"
        switch type {
        case "default": break
        case "longrope", "su", "yarn": rope?.ropeType = "longrope"
        default: throw checker.error("\(field).rope_type", "'\(type)' is not supported: Phi-3 reads default and longrope")
        }
        let rotary = try checker.rotaryEmbedding(
            rope, field: field, theta: parameters?.ropeTheta ?? ropeTheta ?? 10_000,
            partialRotaryFactor: parameters?.partialRotaryFactor ?? partialRotaryFactor ?? 1, headDim: dHead,
            maxPositions: maxPositions, originalMaxPositions: originalMaxPositionEmbeddings ?? 4096, allowsLongRoPE: true)
        if let slidingWindow { try checker.requirePositive(slidingWindow, "sliding_window") }
        return ModelConfiguration(
            family: .phi3, dModel: hiddenSize, nLayers: numHiddenLayers, nHeads: numAttentionHeads, nKVHeads: kvHeads,
            dHead: dHead, dMLP: intermediateSize, vocabularySize: vocabSize, maxPositions: maxPositions,
            normEpsilon: Float(rmsNormEps ?? 1e-5), activation: try checker.activation(hiddenAct ?? "silu", field: "hidden_act"),
            positionEncoding: .rotary(rotary), attentionQKVBias: false, attentionOutputBias: false, mlpBias: false,
            tiedEmbeddings: tieWordEmbeddings ?? false, slidingWindows: Array(repeating: slidingWindow, count: numHiddenLayers),
            bosTokenIDs: bosTokenId?.ids ?? [], eosTokenIDs: eosTokenId?.ids ?? [], dtype: dtype ?? torchDtype,
            quantization: try checker.quantization(quantization, quantizationConfig)
        )
    }
}
