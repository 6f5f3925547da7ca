/// The `config.json` of a Hugging Face `phi` model (Phi-1, Phi-1.5, Phi-2), field for field.
///
/// Rotary settings come as transformers 4 wrote them (`rope_theta`, `partial_rotary_factor`, `rope_scaling`) or as
/// transformers 5 does (`rope_parameters`); absent, transformers' defaults apply (base 10000, half of each head
/// rotated).
public struct PhiConfigFile: Codable, Equatable, Sendable {
    public var modelType: String
    /// The model classes that load the file (`["PhiForCausalLM"]`); not read by this library.
    public var architectures: [String]?
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int?
    /// Read only to refuse a value unlike `hidden_size / num_attention_heads` (transformers' q/k LayerNorms are
    /// that wide whatever it says).
    public var headDim: Int?
    public var vocabSize: Int
    public var hiddenAct: String?
    public var maxPositionEmbeddings: Int?
    /// A top-level original context length, which transformers prefers to the one inside the rotary parameters
    /// (llama3, YaRN) when those are one object, as Phi-3's.
    public var originalMaxPositionEmbeddings: Int?
    public var layerNormEps: Double?
    public var tieWordEmbeddings: Bool?
    public var qkLayernorm: Bool?
    public var partialRotaryFactor: Double?
    public var ropeTheta: Double?
    public var ropeScaling: RopeParametersFile?
    public var ropeParameters: RopeParametersFile?
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
        case layerNormEps = "layer_norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings"
        case qkLayernorm = "qk_layernorm"
        case partialRotaryFactor = "partial_rotary_factor"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case quantization
        case quantizationConfig = "quantization_config"
    }

    /// The normalized description; throws naming `source` and the field for values this library does not support.
    ///
    /// q, k, v, the attention output, both MLP projections and the unembedding have biases, as in transformers'
    /// `PhiForCausalLM`; `qk_layernorm` adds a LayerNorm (gain and bias) over each head's query and key.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        let checker = ConfigurationChecker(source: source)
        guard modelType == "phi" else { throw checker.error("model_type", "'\(modelType)' is not phi") }
        let (kvHeads, dHead) = try checker.decoderShape(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers, heads: numAttentionHeads,
            keyValueHeads: numKeyValueHeads ?? numAttentionHeads, headDim: nil, vocabularySize: vocabSize)
        if let headDim, headDim != dHead {
            throw checker.error("head_dim", "\(headDim) is not supported: Phi heads are hidden_size / num_attention_heads = \(dHead)")
        }
        let maxPositions = maxPositionEmbeddings ?? 2048
        let (parameters, field) = RopeParametersFile.chosen(ropeScaling: ropeScaling, ropeParameters: ropeParameters)
        let rotary = try checker.rotaryEmbedding(
            parameters, field: field,
            theta: parameters?.ropeTheta ?? ropeTheta ?? 10_000,
            partialRotaryFactor: parameters?.partialRotaryFactor ?? partialRotaryFactor ?? 0.5, headDim: dHead,
            maxPositions: maxPositions, originalMaxPositions: originalMaxPositionEmbeddings)
        return ModelConfiguration(
            family: .phi, dModel: hiddenSize, nLayers: numHiddenLayers, nHeads: numAttentionHeads, nKVHeads: kvHeads,
            dMLP: intermediateSize, vocabularySize: vocabSize, maxPositions: maxPositions,
            normEpsilon: Float(layerNormEps ?? 1e-5),
            activation: try checker.activation(hiddenAct ?? "gelu_new", field: "hidden_act"), positionEncoding: .rotary(rotary),
            attentionQKVBias: true, attentionOutputBias: true, mlpBias: true, qkNorm: qkLayernorm ?? false,
            tiedEmbeddings: tieWordEmbeddings ?? false,
            bosTokenIDs: bosTokenId?.ids ?? [], eosTokenIDs: eosTokenId?.ids ?? [], dtype: dtype ?? torchDtype,
            quantization: try checker.quantization(quantization, quantizationConfig), parallelResidual: true
        )
    }
}
