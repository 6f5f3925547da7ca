/// Builds Phi-3 from a checkpoint: the Llama block and names, with the fused `qkv_proj` (query rows, then key
/// rows, then value rows) and `gate_up_proj` (gate rows, then up rows) split on load, and partial rotary where
/// configured. Matrices stay in the stored dtype: the parts of a 16-bit fused projection are row views of it, those of
/// an MLX-quantized one stay packed.
enum Phi3Loader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        let d = c.dModel, q = c.nHeads * c.dHead, kv = c.nKVHeads * c.dHead
        guard let rotary = c.rotary(layer: 0) else { throw LoadingError("\(source): a Phi-3 model needs rotary positions") }
        func weight(_ module: String, _ outputs: Int, _ inputs: Int) throws -> WeightMatrix {
            try w.weightMatrix(module: module, shape: [outputs, inputs], quantization: c.quantization)
        }
        func rows(_ fused: WeightMatrix, _ start: Int, _ count: Int) -> Linear {
            Linear(matrix: fused.rowBlock(start..<(start + count)))
        }
        func rmsNorm(_ module: String) throws -> Normalization {
            Normalization(kind: .rmsNorm, weight: try w.tensor(named: module + ".weight", shape: [d]), epsilon: c.normEpsilon)
        }
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = "model.layers.\(l)."
            let qkv = try weight(p + "self_attn.qkv_proj", q + 2 * kv, d)
            let attention = Attention(
                query: rows(qkv, 0, q), key: rows(qkv, q, kv), value: rows(qkv, q + kv, kv),
                output: Linear(matrix: try weight(p + "self_attn.o_proj", d, q)),
                rotary: rotary, heads: c.nHeads, keyValueHeads: c.nKVHeads, headDim: c.dHead,
                scale: c.attentionScale(layer: l), slidingWindow: c.slidingWindows[l])
            let gateUp = try weight(p + "mlp.gate_up_proj", 2 * c.dMLP, d)
            let mlp = FeedForward(input: rows(gateUp, c.dMLP, c.dMLP), gate: rows(gateUp, 0, c.dMLP),
                                  output: Linear(matrix: try weight(p + "mlp.down_proj", d, c.dMLP)), activation: c.activation)
            return TransformerBlock(layer: l, ln1: try rmsNorm(p + "input_layernorm"), attention: attention,
                                    ln2: try rmsNorm(p + "post_attention_layernorm"), mlp: mlp)
        }
        let (embedding, unembedding) = try w.embeddings(c, embedding: "model.embed_tokens", unembedding: "lm_head")
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
                                finalNorm: try rmsNorm("model.norm"), unembedding: unembedding,
                                contextLength: c.maxPositions, tiedEmbeddings: c.tiedEmbeddings)
    }
}
