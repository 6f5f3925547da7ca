/// Builds the Llama family from a checkpoint: Llama, Mistral, Mixtral, Qwen2, Qwen3, SmolLM3, Qwen2-MoE and Qwen3-MoE
/// differ only in options that ``ModelConfiguration`` records (grouped-query heads, q/k/v biases, q/k norms, sliding
/// windows, rotary scaling, NoPE layers, tied embeddings, the mixtures of experts and their dense layers).
/// MLX-quantized weights stay packed.
enum LlamaLoader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        let d = c.dModel, q = c.nHeads * c.dHead, kv = c.nKVHeads * c.dHead
        guard case .rotary = c.positionEncoding else {
            throw LoadingError("\(source): a Llama-family model needs rotary positions")
        }
        func linear(_ module: String, _ outputs: Int, _ inputs: Int, bias: Bool) throws -> Linear {
            try w.linear(module, outputs, inputs, bias: bias, quantization: c.quantization)
        }
        func rmsNorm(_ name: String, _ size: Int) throws -> Normalization {
            Normalization(kind: .rmsNorm, weight: try w.tensor(named: name, shape: [size]), epsilon: c.normEpsilon)
        }
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = "model.layers.\(l)."
            let attention = Attention(
                query: try linear(p + "self_attn.q_proj", q, d, bias: c.attentionQKVBias),
                key: try linear(p + "self_attn.k_proj", kv, d, bias: c.attentionQKVBias),
                value: try linear(p + "self_attn.v_proj", kv, d, bias: c.attentionQKVBias),
                output: try linear(p + "self_attn.o_proj", d, q, bias: c.attentionOutputBias),
                queryNorm: c.qkNorm ? try rmsNorm(p + "self_attn.q_norm.weight", c.dHead) : nil,
                keyNorm: c.qkNorm ? try rmsNorm(p + "self_attn.k_norm.weight", c.dHead) : nil,
                rotary: c.rotary(layer: l), heads: c.nHeads, keyValueHeads: c.nKVHeads, headDim: c.dHead,
                scale: c.attentionScale(layer: l), slidingWindow: c.slidingWindows[l])
            var mlp: FeedForward?, mixture: MixtureOfExperts?
            if let shape = c.mixture, !shape.denseLayers.contains(l) {
                mixture = try MixtureLoading.mixture(c, layer: l, weights: w, layout: c.family == .llama(.mixtral) ? .blockSparseMoE : .mlp)
            } else {
                mlp = FeedForward(input: try linear(p + "mlp.up_proj", c.dMLP, d, bias: c.mlpBias),
                                  gate: try linear(p + "mlp.gate_proj", c.dMLP, d, bias: c.mlpBias),
                                  output: try linear(p + "mlp.down_proj", d, c.dMLP, bias: c.mlpBias),
                                  activation: c.activation)
            }
            return TransformerBlock(layer: l, ln1: try rmsNorm(p + "input_layernorm.weight", d), attention: attention,
                                    ln2: try rmsNorm(p + "post_attention_layernorm.weight", d), mlp: mlp, mixture: mixture)
        }
        let (embedding, unembedding) = try w.embeddings(c, embedding: "model.embed_tokens", unembedding: "lm_head")
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
                                finalNorm: try rmsNorm("model.norm.weight", d), unembedding: unembedding,
                                contextLength: c.maxPositions, tiedEmbeddings: c.tiedEmbeddings)
    }
}

extension TransformerModel {
    /// Loads a model from a Hugging Face directory (`config.json` + `*.safetensors`).
    ///
    /// - Throws: ``LoadingError`` naming the file, field or tensor at fault.
    public static func load(_ checkpoint: Checkpoint) throws -> TransformerModel {
        try build(checkpoint.configuration, weights: checkpoint.weights,
                  source: checkpoint.directory.appendingPathComponent("config.json").path)
    }

    /// Builds a model of `configuration` from named tensors in Hugging Face layout (a checkpoint's
    /// ``WeightStore``, ``NamedTensors`` in memory, ...); `source` names the configuration in errors.
    ///
    /// The language model of a multimodal checkpoint (``ModelConfiguration/multimodalWrapper``) is read under the
    /// wrapper's prefix (``MultimodalLanguageModelWeights``), its tying resolved against the weights
    /// (``ModelConfiguration/resolvingTiedEmbeddings(_:)``); its other tensors are not read.
    public static func build(_ configuration: ModelConfiguration, weights: some WeightSource,
                             source: String = "config.json") throws -> TransformerModel {
        guard configuration.multimodalWrapper == nil else {
            return try buildLanguageModel(configuration.resolvingTiedEmbeddings(weights),
                                          weights: MultimodalLanguageModelWeights(weights), source: source)
        }
        return try buildLanguageModel(configuration, weights: weights, source: source)
    }

    private static func buildLanguageModel(_ configuration: ModelConfiguration, weights: some WeightSource,
                                           source: String) throws -> TransformerModel {
        switch configuration.family {
        case .gpt2: return try GPT2Loader.build(configuration, weights: weights)
        case .llama: return try LlamaLoader.build(configuration, weights: weights, source: source)
        case .gptNeoX: return try GPTNeoXLoader.build(configuration, weights: weights, source: source)
        case .gemma: return try GemmaLoader.build(configuration, weights: weights, source: source)
        case .phi3: return try Phi3Loader.build(configuration, weights: weights, source: source)
        case .olmo2, .olmo3: return try OLMo2Loader.build(configuration, weights: weights, source: source)
        case .phi: return try PhiLoader.build(configuration, weights: weights, source: source)
        case .olmo: return try OLMoLoader.build(configuration, weights: weights, source: source)
        case .olmoe: return try OLMoELoader.build(configuration, weights: weights, source: source)
        }
    }
}
