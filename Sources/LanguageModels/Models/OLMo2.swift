/// Builds OLMo-2 from a checkpoint: the Llama names, but no norms before attention and MLP — their outputs are
/// normalized instead (`post_attention_layernorm`, `post_feedforward_layernorm`) — and q/k RMSNorms over the
/// whole projection (`[heads × headDim]`) before the split into heads. OLMo-3 adds sliding-window layers with rotary
/// settings of their own (``ModelConfiguration/rotary(layer:)``).
enum OLMo2Loader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        let d = c.dModel, q = c.nHeads * c.dHead, kv = c.nKVHeads * c.dHead
        guard case .rotary = c.positionEncoding else { throw LoadingError("\(source): an OLMo-2 model needs rotary positions") }
        func rmsNorm(_ module: String, _ size: Int) throws -> Normalization {
            Normalization(kind: .rmsNorm, weight: try w.tensor(named: module + ".weight", shape: [size]), epsilon: c.normEpsilon)
        }
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = "model.layers.\(l)."
            let attention = Attention(
                query: try w.linear(p + "self_attn.q_proj", q, d, bias: c.attentionQKVBias, quantization: c.quantization),
                key: try w.linear(p + "self_attn.k_proj", kv, d, bias: c.attentionQKVBias, quantization: c.quantization),
                value: try w.linear(p + "self_attn.v_proj", kv, d, bias: c.attentionQKVBias, quantization: c.quantization),
                output: try w.linear(p + "self_attn.o_proj", d, q, bias: c.attentionOutputBias, quantization: c.quantization),
                queryNorm: try rmsNorm(p + "self_attn.q_norm", q), keyNorm: try rmsNorm(p + "self_attn.k_norm", kv),
                normsSpanHeads: true, rotary: c.rotary(layer: l), heads: c.nHeads, keyValueHeads: c.nKVHeads,
                headDim: c.dHead, scale: c.attentionScale(layer: l), slidingWindow: c.slidingWindows[l])
            let mlp = FeedForward(input: try w.linear(p + "mlp.up_proj", c.dMLP, d, bias: false, quantization: c.quantization),
                                  gate: try w.linear(p + "mlp.gate_proj", c.dMLP, d, bias: false, quantization: c.quantization),
                                  output: try w.linear(p + "mlp.down_proj", d, c.dMLP, bias: false, quantization: c.quantization), activation: c.activation)
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
