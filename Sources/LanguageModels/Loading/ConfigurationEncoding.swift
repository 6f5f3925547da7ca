import Foundation

extension ModelConfiguration {
    /// The Hugging Face `config.json` of this configuration, as transformers and ``init(json:source:)`` read it.
    ///
    /// GPT-2 configurations become `model_type: gpt2` (``GPT2ConfigFile``), Llama-family ones their variant's
    /// layout (``LlamaConfigFile``; SmolLM3 with `no_rope_layers` and `layer_types`), GPT-NeoX, Gemma, Phi-3, OLMo-2,
    /// OLMo-3, Phi and OLMo ones their `config.json` as transformers 5 writes it (the language model of a multimodal
    /// Gemma-3 as a text-only `gemma3_text`). Every field that decides the architecture is written explicitly, so that
    /// neither reader falls back to a default (a Mistral model without a window says `"sliding_window": null`,
    /// a model without BOS/EOS ids says `null` rather than inheriting transformers' 50256 or 1/2).
    ///
    /// ```swift
    /// try AtomicFile.write(try configuration.configJSON(), to: directory.appendingPathComponent("config.json"))
    /// ```
    ///
    /// - Throws: ``SavingError`` when the configuration is not expressible in its family's layout (e.g. a GPT-2
    ///   with grouped-query heads, a Qwen2 without q/k/v biases, partial rotary) or is MLX-quantized.
    public func configJSON() throws -> Data {
        guard quantization == nil else {
            throw SavingError("config.json: quantized configurations are not written (export dense weights)")
        }
        let encoder = JSONEncoder()
        var object: [String: Any]
        switch family {
        case .gpt2: object = try JSONSerialization.jsonObject(with: encoder.encode(GPT2ConfigFile(self))) as! [String: Any]
        case .llama: object = try JSONSerialization.jsonObject(with: encoder.encode(LlamaConfigFile(self))) as! [String: Any]
        case .gptNeoX, .gemma, .phi3, .olmo2, .olmo3, .phi, .olmo, .olmoe: object = try familyConfigObject()
        }
        var explicit = ["bos_token_id", "eos_token_id"]
        if case .llama = family { explicit.append("sliding_window") }
        // SmolLM3's default padding id (128004) would fall outside a small vocabulary; no padding id is recorded.
        if family == .llama(.smollm3) { explicit.append("pad_token_id") }
        for key in explicit where object[key] == nil { object[key] = NSNull() }
        return Self.withDecimalPoints(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]))
    }

    /// Throws a ``SavingError`` for `config.json` unless `condition` holds.
    func require(_ condition: Bool, _ problem: @autoclosure () -> String) throws {
        guard condition else { throw SavingError("config.json: \(problem())") }
    }

    /// The shortest decimal that reads back as the same `Float` (`1e-05`, not `9.99999974738e-06`).
    var normEpsilonForJSON: Double { Double("\(normEpsilon)")! }
}

extension GPT2ConfigFile {
    /// The `gpt2` layout of a GPT-2 configuration.
    public init(_ c: ModelConfiguration) throws {
        try c.require(c.family == .gpt2, "\(c.family) is not a GPT-2 configuration")
        try c.require(c.positionEncoding == .learned, "model_type gpt2 needs learned positions")
        try c.require(c.attentionQKVBias && c.attentionOutputBias && c.mlpBias, "model_type gpt2 has biases on every projection")
        try c.require(!c.qkNorm, "model_type gpt2 has no query/key norms")
        try c.require(c.nKVHeads == c.nHeads, "model_type gpt2 has no grouped-query heads (\(c.nKVHeads) key-value heads for \(c.nHeads))")
        try c.require(c.dHead * c.nHeads == c.dModel, "model_type gpt2 needs dHead * nHeads == dModel (\(c.dHead) * \(c.nHeads) != \(c.dModel))")
        try c.require(c.slidingWindows.allSatisfy { $0 == nil }, "model_type gpt2 has no sliding windows")
        self.init(nEmbd: c.dModel, nLayer: c.nLayers, nHead: c.nHeads, vocabSize: c.vocabularySize)
        modelType = "gpt2"
        architectures = ["GPT2LMHeadModel"]
        nPositions = c.maxPositions
        nInner = c.dMLP
        layerNormEpsilon = c.normEpsilonForJSON
        activationFunction = c.activation.huggingFaceName
        tieWordEmbeddings = c.tiedEmbeddings
        scaleAttnWeights = c.scalesAttentionByHeadDimension
        scaleAttnByInverseLayerIdx = c.scalesAttentionByInverseLayerIndex
        bosTokenId = c.bosTokenIDs.isEmpty ? nil : TokenIDList(c.bosTokenIDs)
        eosTokenId = c.eosTokenIDs.isEmpty ? nil : TokenIDList(c.eosTokenIDs)
        dtype = c.dtype
    }
}

extension LlamaConfigFile {
    /// The layout of a Llama-family configuration, under its variant's `model_type`.
    public init(_ c: ModelConfiguration) throws {
        guard case .llama(let variant) = c.family else {
            throw SavingError("config.json: \(c.family) is not a Llama-family configuration")
        }
        guard case .rotary(let rotary) = c.positionEncoding else {
            throw SavingError("config.json: model_type \(variant.rawValue) needs rotary positions")
        }
        let name = variant.rawValue
        try c.require(rotary.headDim == c.dHead && rotary.rotaryDim == c.dHead,
                      "model_type \(name) rotates whole heads (rotary dimension \(rotary.rotaryDim) of head dimension \(c.dHead))")
        try c.require(c.scalesAttentionByHeadDimension && !c.scalesAttentionByInverseLayerIndex,
                      "model_type \(name) scales attention by 1/sqrt(head_dim) only")
        let qkNorm = variant == .qwen3 || variant == .qwen3MoE
        try c.require(c.qkNorm == qkNorm, "model_type \(name) \(qkNorm ? "needs" : "has no") query/key norms")
        try c.require(variant == .llama || variant == .smollm3 || !c.mlpBias, "model_type \(name) has no MLP biases")
        try c.require(variant == .smollm3 || c.noRotaryLayers.isEmpty, "model_type \(name) rotates every layer (no NoPE layers)")
        switch variant {
        case .llama, .qwen3, .smollm3, .qwen3MoE:
            try c.require(c.attentionQKVBias == c.attentionOutputBias,
                          "model_type \(name) has biases on all attention projections or on none")
        case .mistral, .mixtral, .ministral, .ministral3:
            try c.require(!c.attentionQKVBias && !c.attentionOutputBias, "model_type \(name) has no attention biases")
        case .qwen2:
            try c.require(c.attentionQKVBias && !c.attentionOutputBias,
                          "model_type qwen2 has q/k/v biases and no output bias")
        case .qwen2MoE:
            try c.require(!c.attentionOutputBias, "model_type qwen2_moe has no output bias")
        }
        self.init(modelType: name, hiddenSize: c.dModel, intermediateSize: c.dMLP, numHiddenLayers: c.nLayers,
                  numAttentionHeads: c.nHeads, vocabSize: c.vocabularySize)
        try setMixture(c, variant: variant)
        architectures = [Self.architecture(variant)]
        numKeyValueHeads = c.nKVHeads
        headDim = c.dHead
        rmsNormEps = c.normEpsilonForJSON
        try setRotary(rotary, variant: variant)
        maxPositionEmbeddings = c.maxPositions
        tieWordEmbeddings = c.tiedEmbeddings
        attentionBias = [.llama, .qwen3, .smollm3, .qwen3MoE].contains(variant) ? c.attentionQKVBias : nil
        qkvBias = variant == .qwen2MoE ? c.attentionQKVBias : nil
        mlpBias = variant == .llama || variant == .smollm3 ? c.mlpBias : nil
        if variant == .smollm3 { noRopeLayers = (0..<c.nLayers).map { c.noRotaryLayers.contains($0) ? 0 : 1 } }
        hiddenAct = c.activation.huggingFaceName
        try setSlidingWindows(c, variant: variant)
        bosTokenId = c.bosTokenIDs.isEmpty ? nil : TokenIDList(c.bosTokenIDs)
        eosTokenId = c.eosTokenIDs.isEmpty ? nil : TokenIDList(c.eosTokenIDs)
        dtype = c.dtype
    }

    private static func architecture(_ variant: ModelConfiguration.LlamaVariant) -> String {
        switch variant {
        case .llama: return "LlamaForCausalLM"
        case .mistral: return "MistralForCausalLM"
        case .mixtral: return "MixtralForCausalLM"
        case .qwen2: return "Qwen2ForCausalLM"
        case .qwen3: return "Qwen3ForCausalLM"
        case .smollm3: return "SmolLM3ForCausalLM"
        case .qwen2MoE: return "Qwen2MoeForCausalLM"
        case .qwen3MoE: return "Qwen3MoeForCausalLM"
        case .ministral: return "MinistralForCausalLM"
        case .ministral3: return "Ministral3ForCausalLM"
        }
    }

    /// Writes the rotary settings: `rope_theta` and `rope_scaling`, or for Ministral 3 (whose reader fills in a YaRN
    /// default when `rope_parameters` is absent) one `rope_parameters` object with its query scaling.
    private mutating func setRotary(_ rotary: RotaryEmbedding, variant: ModelConfiguration.LlamaVariant) throws {
        guard variant == .ministral3 else {
            guard rotary.queryScaling == nil else {
                throw SavingError("config.json: model_type \(variant.rawValue) has no query scaling (llama_4_scaling_beta)")
            }
            ropeTheta = rotary.base
            ropeScaling = Self.ropeScaling(rotary.scaling)
            return
        }
        guard let queryScaling = rotary.queryScaling else {
            throw SavingError("config.json: model_type ministral3 needs its query scaling (llama_4_scaling_beta)")
        }
        var parameters = Self.ropeScaling(rotary.scaling) ?? RopeParametersFile(ropeType: "default")
        if let original = parameters.originalMaxPositionEmbeddings, original != queryScaling.originalMaxPositionEmbeddings {
            throw SavingError("config.json: model_type ministral3 has one original_max_position_embeddings; the rotary "
                              + "scaling's (\(original)) differs from the query scaling's (\(queryScaling.originalMaxPositionEmbeddings))")
        }
        parameters.ropeTheta = rotary.base
        parameters.originalMaxPositionEmbeddings = queryScaling.originalMaxPositionEmbeddings
        parameters.llama4ScalingBeta = queryScaling.beta
        ropeParameters = parameters
    }

    /// Writes the mixture's fields: Mixtral's `num_local_experts` (experts of `intermediate_size`, always renormalized,
    /// in every layer), or the Qwen mixtures' `num_experts`, `moe_intermediate_size`, `norm_topk_prob`, the shared
    /// expert (Qwen2-MoE only, where it is required) and the dense layers as `mlp_only_layers` (`decoder_sparse_step` 1).
    private mutating func setMixture(_ c: ModelConfiguration, variant: ModelConfiguration.LlamaVariant) throws {
        let name = variant.rawValue, mixed = [.mixtral, .qwen2MoE, .qwen3MoE].contains(variant)
        try c.require((c.mixture != nil) == mixed, "model_type \(name) \(mixed ? "needs" : "has no") mixture of experts")
        guard let mixture = c.mixture else { return }
        numExpertsPerTok = mixture.expertsPerToken
        guard variant != .mixtral else {
            try c.require(mixture.normalizesTopK, "model_type mixtral always renormalizes its chosen experts' probabilities")
            try c.require(mixture.expertWidth ?? c.dMLP == c.dMLP && mixture.sharedExpertWidth == nil && mixture.denseLayers.isEmpty,
                          "model_type mixtral has experts of intermediate_size in every layer and no shared expert")
            numLocalExperts = mixture.experts
            return
        }
        try c.require((mixture.sharedExpertWidth != nil) == (variant == .qwen2MoE),
                      "model_type \(name) \(variant == .qwen2MoE ? "needs" : "has no") shared expert")
        numExperts = mixture.experts
        normTopkProb = mixture.normalizesTopK
        moeIntermediateSize = mixture.expertWidth ?? c.dMLP
        sharedExpertIntermediateSize = mixture.sharedExpertWidth
        decoderSparseStep = 1
        mlpOnlyLayers = mixture.denseLayers.sorted()
    }

    private static func ropeScaling(_ scaling: RotaryEmbedding.Scaling) -> RopeParametersFile? {
        switch scaling {
        case .none:
            return nil
        case .linear(let factor):
            return RopeParametersFile(ropeType: "linear", factor: factor)
        case .llama3(let factor, let low, let high, let original):
            return RopeParametersFile(ropeType: "llama3", factor: factor, lowFreqFactor: low, highFreqFactor: high,
                                      originalMaxPositionEmbeddings: original)
        case .yarn(let factor, let original, let betaFast, let betaSlow, let truncate, let attentionFactor):
            return RopeParametersFile(ropeType: "yarn", factor: factor, originalMaxPositionEmbeddings: original,
                                      attentionFactor: attentionFactor, betaFast: betaFast, betaSlow: betaSlow, truncate: truncate)
        case .longRoPE(let short, let long, let original, let attentionFactor):
            return RopeParametersFile(ropeType: "longrope", originalMaxPositionEmbeddings: original,
                                      attentionFactor: attentionFactor, shortFactor: short, longFactor: long)
        }
    }

    /// Writes the window fields each variant reads (see ``modelConfiguration(source:)``).
    private mutating func setSlidingWindows(_ c: ModelConfiguration, variant: ModelConfiguration.LlamaVariant) throws {
        let windows = Set(c.slidingWindows.compactMap { $0 })
        try c.require(windows.count <= 1, "one sliding window size is expressible, found \(windows.sorted())")
        let window = windows.first
        switch variant {
        case .llama:
            try c.require(window == nil, "model_type llama has no sliding windows")
        case .mistral, .mixtral, .qwen3MoE, .ministral3:
            try c.require(window == nil || c.slidingWindows.allSatisfy { $0 != nil },
                          "model_type \(variant.rawValue) applies its sliding window to every layer or to none")
            slidingWindow = window
            if variant == .qwen3MoE { useSlidingWindow = window != nil }
        case .ministral:
            slidingWindow = window
            layerTypes = c.slidingWindows.map { $0 == nil ? "full_attention" : "sliding_attention" }
        case .qwen2, .qwen3, .smollm3, .qwen2MoE:
            useSlidingWindow = window != nil
            slidingWindow = window
            if window != nil || variant == .smollm3 {
                layerTypes = c.slidingWindows.map { $0 == nil ? "full_attention" : "sliding_attention" }
            }
        }
    }
}
