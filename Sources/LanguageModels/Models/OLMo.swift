import Tensors

/// Builds OLMo (v1) from a checkpoint: the Llama names and gated MLP, but LayerNorms without gain or bias
/// (transformers' `OlmoLayerNorm`, epsilon 1e-5; no tensors in the checkpoint), optional q/k/v clipping
/// (`clip_qkv`) and optional attention biases.
///
/// The norms are LayerNorms with a unit gain and no bias — the same function — so their hook points
/// (`ln1.hook_scale`, `ln1.hook_normalized`, ...) mean what they mean for any LayerNorm, and folding them into
/// the next weights changes nothing (as TransformerLens' conversion, which writes ones and zeros).
enum OLMoLoader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        let d = c.dModel, q = c.nHeads * c.dHead, kv = c.nKVHeads * c.dHead
        guard let rotary = c.rotary(layer: 0) else { throw LoadingError("\(source): an OLMo model needs rotary positions") }
        let norm = Normalization(kind: .layerNorm, weight: .ones([d]), epsilon: c.normEpsilon)
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = "model.layers.\(l)."
            let attention = Attention(
                query: try w.linear(p + "self_attn.q_proj", q, d, bias: c.attentionQKVBias, quantization: c.quantization),
                key: try w.linear(p + "self_attn.k_proj", kv, d, bias: c.attentionQKVBias, quantization: c.quantization),
                value: try w.linear(p + "self_attn.v_proj", kv, d, bias: c.attentionQKVBias, quantization: c.quantization),
                output: try w.linear(p + "self_attn.o_proj", d, q, bias: c.attentionOutputBias, quantization: c.quantization),
                rotary: rotary, heads: c.nHeads, keyValueHeads: c.nKVHeads, headDim: c.dHead,
                scale: c.attentionScale(layer: l), clip: c.clipQKV)
            let mlp = FeedForward(input: try w.linear(p + "mlp.up_proj", c.dMLP, d, bias: false, quantization: c.quantization),
                                  gate: try w.linear(p + "mlp.gate_proj", c.dMLP, d, bias: false, quantization: c.quantization),
                                  output: try w.linear(p + "mlp.down_proj", d, c.dMLP, bias: false, quantization: c.quantization), activation: c.activation)
            return TransformerBlock(layer: l, ln1: norm, attention: attention, ln2: norm, mlp: mlp)
        }
        let (embedding, unembedding) = try w.embeddings(c, embedding: "model.embed_tokens", unembedding: "lm_head")
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks, finalNorm: norm,
                                unembedding: unembedding, contextLength: c.maxPositions, tiedEmbeddings: c.tiedEmbeddings)
    }
}
