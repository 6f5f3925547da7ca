/// Builds Gemma 1, 2 and 3 (text) from a checkpoint: the Llama layout of `model.*` names with Gemma's parts.
///
/// - Every RMSNorm multiplies by `1 + weight`; the loader stores that effective gain (computed in Float32, as
///   transformers computes the norm in fp32), as TransformerLens does, so ``Normalization`` stays the one RMSNorm.
/// - Token embeddings are multiplied by `sqrt(hidden_size)` (``TransformerModel/embeddingScale``); the tied
///   unembedding is not.
/// - Gemma 1: `input_layernorm` before attention, `post_attention_layernorm` before the MLP (Llama's order).
///   Gemma 2 and 3: `input_layernorm` and `post_attention_layernorm` around attention, `pre_feedforward_layernorm`
///   and `post_feedforward_layernorm` around the MLP.
/// - Gemma 3: per-head q/k norms, a rotary base of its own for the sliding-window layers.
enum GemmaLoader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        guard case .gemma(let version) = c.family, case .rotary = c.positionEncoding else {
            throw LoadingError("\(source): not a Gemma configuration with rotary positions")
        }
        let d = c.dModel, q = c.nHeads * c.dHead, kv = c.nKVHeads * c.dHead
        func norm(_ module: String, _ size: Int) throws -> Normalization {
            Normalization(kind: .rmsNorm, weight: try w.tensor(named: module + ".weight", shape: [size]) + 1, epsilon: c.normEpsilon)
        }
        let sandwich = version != .gemma
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = "model.layers.\(l)."
            let attention = Attention(
                query: try w.linear(p + "self_attn.q_proj", q, d, bias: c.attentionQKVBias, quantization: c.quantization),
                key: try w.linear(p + "self_attn.k_proj", kv, d, bias: c.attentionQKVBias, quantization: c.quantization),
                value: try w.linear(p + "self_attn.v_proj", kv, d, bias: c.attentionQKVBias, quantization: c.quantization),
                output: try w.linear(p + "self_attn.o_proj", d, q, bias: c.attentionOutputBias, quantization: c.quantization),
                queryNorm: c.qkNorm ? try norm(p + "self_attn.q_norm", c.dHead) : nil,
                keyNorm: c.qkNorm ? try norm(p + "self_attn.k_norm", c.dHead) : nil,
                rotary: c.rotary(layer: l), heads: c.nHeads, keyValueHeads: c.nKVHeads, headDim: c.dHead,
                scale: c.attentionScale(layer: l), slidingWindow: c.slidingWindows[l], softcap: c.attentionSoftcap)
            let mlp = FeedForward(input: try w.linear(p + "mlp.up_proj", c.dMLP, d, bias: false, quantization: c.quantization),
                                  gate: try w.linear(p + "mlp.gate_proj", c.dMLP, d, bias: false, quantization: c.quantization),
                                  output: try w.linear(p + "mlp.down_proj", d, c.dMLP, bias: false, quantization: c.quantization), activation: c.activation)
            let preMLPNorm = sandwich ? "pre_feedforward_layernorm" : "post_attention_layernorm"
            return TransformerBlock(
                layer: l, ln1: try norm(p + "input_layernorm", d), attention: attention, ln2: try norm(p + preMLPNorm, d),
                mlp: mlp, postAttentionNorm: sandwich ? try norm(p + "post_attention_layernorm", d) : nil,
                postFeedForwardNorm: sandwich ? try norm(p + "post_feedforward_layernorm", d) : nil)
        }
        // Weights stay in their stored dtype (16-bit checkpoints are read in place).
        let (embedding, unembedding) = try w.embeddings(c, embedding: "model.embed_tokens", unembedding: "lm_head")
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
                                finalNorm: try norm("model.norm", d), unembedding: unembedding, contextLength: c.maxPositions,
                                tiedEmbeddings: c.tiedEmbeddings, embeddingScale: c.embeddingScale,
                                finalLogitSoftcap: c.finalLogitSoftcap)
    }
}
