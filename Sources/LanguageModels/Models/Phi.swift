/// Builds Phi (Phi-1, Phi-1.5, Phi-2) from a checkpoint: `model.*` names, one LayerNorm (`input_layernorm`) read by
/// attention and MLP in parallel, biases on `q_proj`, `k_proj`, `v_proj`, `dense`, `fc1`, `fc2` and `lm_head`, partial
/// rotary, and with `qk_layernorm` a LayerNorm over each head's query and key (`q_layernorm`, `k_layernorm`).
///
/// The block is the parallel block of GPT-NeoX (``TransformerBlock/parallelResidual``): `hook_mlp_in` is
/// `resid_pre` and there is no `hook_resid_mid`. Its `ln1` and `ln2` are the one `input_layernorm` (as in
/// TransformerLens' conversion, which ties them), so `ln2`'s hook points see the same normalization as `ln1`'s.
enum PhiLoader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        let d = c.dModel, q = c.nHeads * c.dHead, kv = c.nKVHeads * c.dHead
        guard let rotary = c.rotary(layer: 0) else { throw LoadingError("\(source): a Phi model needs rotary positions") }
        func layerNorm(_ module: String, _ size: Int) throws -> Normalization {
            Normalization(kind: .layerNorm, weight: try w.tensor(named: module + ".weight", shape: [size]),
                          bias: try w.tensor(named: module + ".bias", shape: [size]), epsilon: c.normEpsilon)
        }
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = "model.layers.\(l)."
            let attention = Attention(
                query: try w.linear(p + "self_attn.q_proj", q, d, bias: true, quantization: c.quantization),
                key: try w.linear(p + "self_attn.k_proj", kv, d, bias: true, quantization: c.quantization),
                value: try w.linear(p + "self_attn.v_proj", kv, d, bias: true, quantization: c.quantization),
                output: try w.linear(p + "self_attn.dense", d, q, bias: true, quantization: c.quantization),
                queryNorm: c.qkNorm ? try layerNorm(p + "self_attn.q_layernorm", c.dHead) : nil,
                keyNorm: c.qkNorm ? try layerNorm(p + "self_attn.k_layernorm", c.dHead) : nil,
                rotary: rotary, heads: c.nHeads, keyValueHeads: c.nKVHeads, headDim: c.dHead, scale: c.attentionScale(layer: l))
            let mlp = FeedForward(input: try w.linear(p + "mlp.fc1", c.dMLP, d, bias: true, quantization: c.quantization),
                                  output: try w.linear(p + "mlp.fc2", d, c.dMLP, bias: true, quantization: c.quantization),
                                  activation: c.activation)
            let norm = try layerNorm(p + "input_layernorm", d)
            return TransformerBlock(layer: l, ln1: norm, attention: attention, ln2: norm, mlp: mlp, parallelResidual: true)
        }
        let (embedding, unembedding) = try w.embeddings(c, embedding: "model.embed_tokens", unembedding: "lm_head")
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
                                finalNorm: try layerNorm("model.final_layernorm", d), unembedding: unembedding,
                                contextLength: c.maxPositions, tiedEmbeddings: c.tiedEmbeddings,
                                unembeddingBias: try w.tensor(named: "lm_head.bias", shape: [c.vocabularySize]))
    }
}
