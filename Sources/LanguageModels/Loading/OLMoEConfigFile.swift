/// The `config.json` of a Hugging Face `olmoe` model (OLMoE-1B-7B), field for field.
///
/// `router_aux_loss_coef` and `output_router_logits` concern training only and are not read.
public struct OLMoEConfigFile: Codable, Equatable, Sendable {
    public var modelType: String
    /// The model classes that load the file (`["OlmoeForCausalLM"]`); not read by this library.
    public var architectures: [String]?
    public var hiddenSize: Int
    /// The width of each expert's MLP.
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var vocabSize: Int
    public var hiddenAct: String?
    public var maxPositionEmbeddings: Int?
    /// A top-level original context length, which transformers prefers to the one inside the rotary parameters
    /// (llama3, YaRN) when those are one object, as Phi-3's.
    public var originalMaxPositionEmbeddings: Int?
    public var rmsNormEps: Double?
    public var tieWordEmbeddings: Bool?
    public var attentionBias: Bool?
    public var clipQkv: Double?
    public var ropeTheta: Double?
    public var ropeScaling: RopeParametersFile?
    public var ropeParameters: RopeParametersFile?
    public var numExperts: Int?
    public var numExpertsPerTok: Int?
    public var normTopkProb: Bool?
    public var bosTokenId: TokenIDList?
    public var eosTokenId: TokenIDList?
    public var torchDtype: String?
    public var dtype: String?
    /// MLX quantization (mlx-lm's converter, whose experts are stacked under `mlp.switch_mlp`).
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
        case attentionBias = "attention_bias"
        case clipQkv = "clip_qkv"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case numExperts = "num_experts"
        case numExpertsPerTok = "num_experts_per_tok"
        case normTopkProb = "norm_topk_prob"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case quantization
        case quantizationConfig = "quantization_config"
    }

    /// The normalized description; throws naming `source` and the field for values this library does not support.
    ///
    /// Defaults are transformers' `OlmoeConfig`'s (64 experts, 8 per token, no top-k renormalization). transformers
    /// sizes the key norm `hidden_size / num_attention_heads` per key-value head, so a `head_dim` other than that is
    /// refused.
    public func modelConfiguration(source: String = "config.json") throws -> ModelConfiguration {
        let checker = ConfigurationChecker(source: source)
        guard modelType == "olmoe" else { throw checker.error("model_type", "'\(modelType)' is not olmoe") }
        let (kvHeads, dHead) = try checker.decoderShape(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers, heads: numAttentionHeads,
            keyValueHeads: numKeyValueHeads ?? numAttentionHeads, headDim: headDim, vocabularySize: vocabSize)
        if dHead * numAttentionHeads != hiddenSize {
            throw checker.error("head_dim", "\(dHead) is not hidden_size / num_attention_heads (\(hiddenSize) / \(numAttentionHeads)), which OLMoE's q/k norms assume")
        }
        let experts = numExperts ?? 64, perToken = numExpertsPerTok ?? 8
        try checker.requireExperts(experts, "num_experts", perToken: perToken)
        let maxPositions = maxPositionEmbeddings ?? 4096
        let (parameters, field) = RopeParametersFile.chosen(ropeScaling: ropeScaling, ropeParameters: ropeParameters)
        let rotary = try checker.wholeHeadRotaryEmbedding(
            parameters, field: field,
            theta: ropeTheta ?? 10_000, family: "OLMoE", headDim: dHead, maxPositions: maxPositions,
            originalMaxPositions: originalMaxPositionEmbeddings)
        let bias = attentionBias ?? false
        return ModelConfiguration(
            family: .olmoe, dModel: hiddenSize, nLayers: numHiddenLayers, nHeads: numAttentionHeads, nKVHeads: kvHeads,
            dHead: dHead, dMLP: intermediateSize, vocabularySize: vocabSize, maxPositions: maxPositions,
            normEpsilon: Float(rmsNormEps ?? 1e-5), activation: try checker.activation(hiddenAct ?? "silu", field: "hidden_act"),
            positionEncoding: .rotary(rotary), attentionQKVBias: bias, attentionOutputBias: bias, mlpBias: false, qkNorm: true,
            tiedEmbeddings: tieWordEmbeddings ?? false,
            bosTokenIDs: bosTokenId?.ids ?? [], eosTokenIDs: eosTokenId?.ids ?? [], dtype: dtype ?? torchDtype,
            quantization: try checker.quantization(quantization, quantizationConfig), clipQKV: try checker.clipQKV(clipQkv),
            mixture: ModelConfiguration.Mixture(experts: experts, expertsPerToken: perToken, normalizesTopK: normTopkProb ?? false)
        )
    }
}
