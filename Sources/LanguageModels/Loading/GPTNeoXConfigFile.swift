/// The `config.json` of a Hugging Face `gpt_neox` model (Pythia, GPT-NeoX-20B), field for field.
///
/// Rotary settings come in the Pythia layout (`rotary_pct`, `rotary_emb_base`) or transformers 5's
/// (`rope_parameters` holding `rope_theta` and `partial_rotary_factor`); absent, transformers' defaults apply
/// (base 10000, a quarter of each head rotated).
public struct GPTNeoXConfigFile: Codable, Equatable, Sendable {
    public var modelType: String
    /// The model classes that load the file (`["GPTNeoXForCausalLM"]`); not read by this library.
    public var architectures: [String]?
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    /// Read only to refuse a value unlike `hidden_size / num_attention_heads` (transformers' GPT-NeoX attention
    /// ignores it while its rotary embedding reads it).
    public var headDim: Int?
    public var vocabSize: Int
    public var hiddenAct: String?
    public var maxPositionEmbeddings: Int?
    /// A top-level original context length, which transformers prefers to the one inside the rotary parameters
    /// (llama3, YaRN) when those are one object, as Phi-3's.
    public var originalMaxPositionEmbeddings: Int?
    public var layerNormEps: Double?
    public var tieWordEmbeddings: Bool?
    public var useParallelResidual: Bool?
    public var rotaryPct: Double?
    public var rotaryEmbBase: Double?
    /// Not read: transformers (4 and 5) takes GPT-NeoX's base from `rope_parameters` or `rotary_emb_base` only.
    public var ropeTheta: Double?
    public var ropeScaling: RopeParametersFile?
    public var ropeParameters: RopeParametersFile?
    public var attentionBias: Bool?
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
        case headDim = "head_dim"
        case vocabSize = "vocab_size"
        case hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case layerNormEps = "layer_norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings"
        case useParallelResidual = "use_parallel_residual"
        case rotaryPct = "rotary_pct"
        case rotaryEmbBase = "rotary_emb_base"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case attentionBias = "attention_bias"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case quantization
        case quantizationConfig = "quantization_config"
    }

    /// The normalized description; throws naming `source` and the field for values this library does not support.
    ///
    /// Biases on the fused QKV and the output projection follow `attention_bias` (default true); the MLP always
    /// has biases, as in transformers.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        let checker = ConfigurationChecker(source: source)
        guard modelType == "gpt_neox" else { throw checker.error("model_type", "'\(modelType)' is not gpt_neox") }
        let (_, dHead) = try checker.decoderShape(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers, heads: numAttentionHeads,
            keyValueHeads: numAttentionHeads, headDim: nil, vocabularySize: vocabSize)
        if let headDim, headDim != dHead {
            throw checker.error("head_dim", "\(headDim) is not supported: GPT-NeoX heads are hidden_size / num_attention_heads = \(dHead)")
        }
        let maxPositions = maxPositionEmbeddings ?? 2048
        let (parameters, field) = RopeParametersFile.chosen(ropeScaling: ropeScaling, ropeParameters: ropeParameters)
        let rotary = try checker.rotaryEmbedding(
            parameters, field: field,
            theta: parameters?.ropeTheta ?? rotaryEmbBase ?? 10_000,
            partialRotaryFactor: parameters?.partialRotaryFactor ?? rotaryPct ?? 0.25, headDim: dHead, maxPositions: maxPositions,
            originalMaxPositions: originalMaxPositionEmbeddings)
        let bias = attentionBias ?? true
        return ModelConfiguration(
            family: .gptNeoX, dModel: hiddenSize, nLayers: numHiddenLayers, nHeads: numAttentionHeads, dMLP: intermediateSize,
            vocabularySize: vocabSize, maxPositions: maxPositions, normEpsilon: Float(layerNormEps ?? 1e-5),
            activation: try checker.activation(hiddenAct ?? "gelu", field: "hidden_act"), positionEncoding: .rotary(rotary),
            attentionQKVBias: bias, attentionOutputBias: bias, mlpBias: true, tiedEmbeddings: tieWordEmbeddings ?? false,
            bosTokenIDs: bosTokenId?.ids ?? [], eosTokenIDs: eosTokenId?.ids ?? [], dtype: dtype ?? torchDtype,
            quantization: try checker.quantization(quantization, quantizationConfig),
            parallelResidual: useParallelResidual ?? true
        )
    }
}
