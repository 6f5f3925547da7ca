/// The `config.json` of a Hugging Face `gpt2` model, field for field.
///
/// Absent optional fields take Hugging Face's defaults when normalized (``modelConfiguration(source:)``).
public struct GPT2ConfigFile: Codable, Equatable, Sendable {
    public var modelType: String?
    /// The model classes that load the file (`["GPT2LMHeadModel"]`); not read by this library.
    public var architectures: [String]?
    public var nEmbd: Int
    public var nLayer: Int
    public var nHead: Int
    public var nPositions: Int?
    /// The pre-2019 name of `n_positions`.
    public var nCtx: Int?
    public var nInner: Int?
    public var vocabSize: Int
    public var layerNormEpsilon: Double?
    public var activationFunction: String?
    public var tieWordEmbeddings: Bool?
    public var scaleAttnWeights: Bool?
    public var scaleAttnByInverseLayerIdx: Bool?
    public var reorderAndUpcastAttn: Bool?
    public var addCrossAttention: Bool?
    public var bosTokenId: TokenIDList?
    public var eosTokenId: TokenIDList?
    public var torchDtype: String?
    public var dtype: String?
    public var quantization: MLXQuantization?
    public var quantizationConfig: MLXQuantization?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case architectures
        case nEmbd = "n_embd"
        case nLayer = "n_layer"
        case nHead = "n_head"
        case nPositions = "n_positions"
        case nCtx = "n_ctx"
        case nInner = "n_inner"
        case vocabSize = "vocab_size"
        case layerNormEpsilon = "layer_norm_epsilon"
        case activationFunction = "activation_function"
        case tieWordEmbeddings = "tie_word_embeddings"
        case scaleAttnWeights = "scale_attn_weights"
        case scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcastAttn = "reorder_and_upcast_attn"
        case addCrossAttention = "add_cross_attention"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case quantization
        case quantizationConfig = "quantization_config"
    }

    /// The normalized description; throws naming `source` and the field for values this library does not support.
    ///
    /// `reorder_and_upcast_attn` only changes half-precision numerics, so it is accepted: this library
    /// computes in `Float`.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        let checker = ConfigurationChecker(source: source)
        try checker.requireWidth(nEmbd, "n_embd")
        try checker.requireLayerCount(nLayer, "n_layer")
        try checker.requireWidth(nHead, "n_head")
        try checker.requireWidth(vocabSize, "vocab_size")
        if let nInner { try checker.requireWidth(nInner, "n_inner") }
        guard nEmbd % nHead == 0 else {
            throw checker.error("n_embd", "\(nEmbd) is not a multiple of n_head \(nHead)")
        }
        if addCrossAttention == true {
            throw checker.error("add_cross_attention", "true is not supported (decoder-only models only)")
        }
        return ModelConfiguration(
            family: .gpt2, dModel: nEmbd, nLayers: nLayer, nHeads: nHead,
            dMLP: nInner ?? 4 * nEmbd, vocabularySize: vocabSize, maxPositions: nPositions ?? nCtx ?? 1024,
            normEpsilon: Float(layerNormEpsilon ?? 1e-5),
            activation: try checker.activation(activationFunction ?? "gelu_new", field: "activation_function"),
            positionEncoding: .learned, attentionQKVBias: true, attentionOutputBias: true, mlpBias: true,
            tiedEmbeddings: tieWordEmbeddings ?? true,
            scalesAttentionByHeadDimension: scaleAttnWeights ?? true,
            scalesAttentionByInverseLayerIndex: scaleAttnByInverseLayerIdx ?? false,
            bosTokenIDs: bosTokenId?.ids ?? [], eosTokenIDs: eosTokenId?.ids ?? [], dtype: dtype ?? torchDtype,
            quantization: try checker.quantization(quantization, quantizationConfig)
        )
    }
}
