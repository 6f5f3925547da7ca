/// Builds GPT-NeoX (Pythia) from a checkpoint: `gpt_neox.*` names, LayerNorm, the fused `query_key_value`
/// projection split into q, k and v on load, partial rotary, parallel or sequential residual, and the separate
/// `embed_out` unembedding (or the embedding when tied).
///
/// The fused weight is `[heads × 3 × headDim, d]` interleaved per head: head `h`'s query rows are
/// `3h·headDim ..< (3h+1)·headDim`, its key rows the next `headDim`, its value rows the next (transformers views
/// the projection as `[..., heads, 3·headDim]` and chunks the last axis in three). Matrices stay in the stored dtype
/// (a 16-bit fused projection is split into 16-bit q, k and v, an MLX-quantized one into packed parts).
///
/// mlx-lm stores the same modules as `model.h.N.*`, `model.embed_in`, `model.final_layer_norm` and `model.embed_out`.
enum GPTNeoXLoader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource, source: String) throws -> TransformerModel {
        let d = c.dModel, heads = c.nHeads, dHead = c.dHead
        guard let rotary = c.rotary(layer: 0) else { throw LoadingError("\(source): a GPT-NeoX model needs rotary positions") }
        let mlxLayout = !w.has("gpt_neox.embed_in.weight") && w.has("model.embed_in.weight")
        let base = mlxLayout ? "model." : "gpt_neox.", layers = mlxLayout ? "model.h." : "gpt_neox.layers."
        func linear(_ module: String, _ outputs: Int, _ inputs: Int, bias: Bool) throws -> Linear {
            try w.linear(module, outputs, inputs, bias: bias, quantization: c.quantization)
        }
        func layerNorm(_ module: String) throws -> Normalization {
            Normalization(kind: .layerNorm, weight: try w.tensor(named: module + ".weight", shape: [d]),
                          bias: try w.tensor(named: module + ".bias", shape: [d]),
                          epsilon: c.normEpsilon)
        }
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let p = layers + "\(l)."
            let fused = try linear(p + "attention.query_key_value", 3 * d, d, bias: c.attentionQKVBias)
            func part(_ index: Int) -> Linear {
                let rows: [Int] = (0..<heads).flatMap { (h: Int) -> Range<Int> in
                    let start = (3 * h + index) * dHead
                    return start..<(start + dHead)
                }
                return Linear(matrix: fused.matrix.rowSelection(rows), bias: fused.bias?.indexSelect(axis: 0, rows))
            }
            let attention = Attention(
                query: part(0), key: part(1), value: part(2),
                output: try linear(p + "attention.dense", d, d, bias: c.attentionOutputBias),
                rotary: rotary, heads: heads, keyValueHeads: heads, headDim: dHead, scale: c.attentionScale(layer: l))
            let mlp = FeedForward(input: try linear(p + "mlp.dense_h_to_4h", c.dMLP, d, bias: true),
                                  output: try linear(p + "mlp.dense_4h_to_h", d, c.dMLP, bias: true), activation: c.activation)
            return TransformerBlock(layer: l, ln1: try layerNorm(p + "input_layernorm"), attention: attention,
                                    ln2: try layerNorm(p + "post_attention_layernorm"), mlp: mlp,
                                    parallelResidual: c.parallelResidual)
        }
        let (embedding, unembedding) = try w.embeddings(c, embedding: base + "embed_in",
                                                         unembedding: (mlxLayout ? base : "") + "embed_out")
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
                                finalNorm: try layerNorm(base + "final_layer_norm"), unembedding: unembedding,
                                contextLength: c.maxPositions, tiedEmbeddings: c.tiedEmbeddings)
    }
}
