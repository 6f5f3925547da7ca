/// Builds OLMo-2 from a checkpoint: the Llama names, but no norms before attention and MLP — their outputs are
/// normalized instead (`post_attention_layernorm`, `post_feedforward_layernorm`) — and q/k RMSNorms over the
/// whole projection (`[heads × headDim]`) before the split into heads. OLMo-3 adds sliding-window layers with rotary
/// settings of their own (``ModelConfiguration/rotary(layer:)``).
enum OLMo2Loader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        let d = c.dModel
        guard case .rotary = c.positionEncoding else { throw LoadingError("\(source): an OLMo-2 model needs rotary positions") }
        func rmsNorm(_ module: String, _ size: Int) throws -> Normalization {
            Normalization(kind: .rmsNorm, weight: try w.tensor(named: module + ".weight", shape: [size]), epsilon: c.normEpsilon)
        }
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = "model.layers.\(l)."
            let attention = try Self.attention(c, layer: l, weights: w)
            let mlp = FeedForward(
                input: try w.linear(p + "mlp.up_proj", c.dMLP, d, bias: false, quantization: c.quantization),
                gate: try w.linear(p + "mlp.gate_proj", c.dMLP, d, bias: false, quantization: c.quantization),
                output: try w.linear(p + "mlp.down_proj", d, c.dMLP, bias: false, quantization: c.quantization),
                activation: c.activation)
            return TransformerBlock(layer: l, ln1: nil, attention: attention, ln2: nil, mlp: mlp,
                                    postAttentionNorm: try rmsNorm(p + "post_attention_layernorm", d),
                                    postFeedForwardNorm: try rmsNorm(p + "post_feedforward_layernorm", d))
        }
        // Weights stay in their stored dtype (16-bit checkpoints are read in place).
        let (embedding, unembedding) = try w.embeddings(c, embedding: "model.embed_tokens", unembedding: "lm_head")
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
                                finalNorm: try rmsNorm("model.norm", d), unembedding: unembedding,
                                contextLength: c.maxPositions, tiedEmbeddings: c.tiedEmbeddings)
    }
}

extension OLMo2Loader {
    /// Layer `l`'s attention as OLMo-2, OLMo-3 and OLMoE store it (`model.layers.l.self_attn.*`): q/k RMSNorms over
    /// the whole projection, the layer's rotary and window, and the configuration's q/k/v clipping (OLMoE's).
    static func attention(_ c: ModelConfiguration, layer l: Int, weights w: some WeightSource) throws -> Attention {
        let d = c.dModel, q = c.nHeads * c.dHead, kv = c.nKVHeads * c.dHead, p = "model.layers.\(l).self_attn."
        func linear(_ module: String, _ outputs: Int, _ inputs: Int, bias: Bool) throws -> Linear {
            try w.linear(p + module, outputs, inputs, bias: bias, quantization: c.quantization)
        }
        func rmsNorm(_ module: String, _ size: Int) throws -> Normalization {
            Normalization(kind: .rmsNorm, weight: try w.tensor(named: p + module + ".weight", shape: [size]), epsilon: c.normEpsilon)
        }
        return Attention(
            query: try linear("q_proj", q, d, bias: c.attentionQKVBias), key: try linear("k_proj", kv, d, bias: c.attentionQKVBias),
            value: try linear("v_proj", kv, d, bias: c.attentionQKVBias), output: try linear("o_proj", d, q, bias: c.attentionOutputBias),
            queryNorm: try rmsNorm("q_norm", q), keyNorm: try rmsNorm("k_norm", kv), normsSpanHeads: true,
            rotary: c.rotary(layer: l), heads: c.nHeads, keyValueHeads: c.nKVHeads, headDim: c.dHead,
            scale: c.attentionScale(layer: l), slidingWindow: c.slidingWindows[l], clip: c.clipQKV)
    }
}
