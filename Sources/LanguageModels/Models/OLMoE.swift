/// Builds OLMoE from a checkpoint: the Llama block's names and pre-norms, OLMo-2's q/k RMSNorms over the whole
/// projection (`[heads × headDim]`, `[kvHeads × headDim]`), optional q/k/v clipping after them, and a
/// ``MixtureOfExperts`` MLP: the router `mlp.gate` and per expert `mlp.experts.E.{gate,up,down}_proj`.
/// Weights stay in their stored dtype (16-bit checkpoints are read in place).
enum OLMoELoader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        let d = c.dModel
        guard case .rotary = c.positionEncoding else { throw LoadingError("\(source): an OLMoE model needs rotary positions") }
        guard let shape = c.mixture else { throw LoadingError("\(source): an OLMoE model needs its experts' shape") }
        guard shape.denseLayers.isEmpty else { throw LoadingError("\(source): an OLMoE model has a mixture of experts in every layer") }
        func rmsNorm(_ module: String, _ size: Int) throws -> Normalization {
            Normalization(kind: .rmsNorm, weight: try w.tensor(named: module + ".weight", shape: [size]), epsilon: c.normEpsilon)
        }
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = "model.layers.\(l)."
            let attention = try OLMo2Loader.attention(c, layer: l, weights: w)
            let mixture = try MixtureLoading.mixture(c, layer: l, weights: w, layout: .mlp)
            return TransformerBlock(layer: l, ln1: try rmsNorm(p + "input_layernorm", d), attention: attention,
                                    ln2: try rmsNorm(p + "post_attention_layernorm", d), mlp: nil, mixture: mixture)
        }
        let (embedding, unembedding) = try w.embeddings(c, embedding: "model.embed_tokens", unembedding: "lm_head")
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
                                finalNorm: try rmsNorm("model.norm", d), unembedding: unembedding,
                                contextLength: c.maxPositions, tiedEmbeddings: c.tiedEmbeddings)
    }
}
