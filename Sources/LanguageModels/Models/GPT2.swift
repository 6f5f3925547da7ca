/// Builds GPT-2 from a checkpoint: learned positions, LayerNorm, fused `c_attn` and `Conv1D` weights
/// (stored `[in, out]`, transposed once here; 16-bit weights stay 16-bit), GELU MLP.
///
/// Accepts the naming styles seen in the wild: `transformer.h.0.attn.c_attn.weight` (what transformers saves),
/// `h.0.attn.c_attn.weight` (the original hub checkpoint) and mlx-lm's `model.h.0.attn.c_attn.weight`, whose
/// projections are Linear weights (`[out, in]`, MLX-quantized when the configuration says so, the position table
/// too: it is dequantized here).
enum GPT2Loader {
    static func build(_ c: ModelConfiguration, weights w: some WeightSource) throws -> TransformerModel {
        let transformersLayout = w.has("transformer.wte.weight")
        let mlxLayout = !transformersLayout && w.has("model.wte.weight")
        let prefix = transformersLayout ? "transformer." : mlxLayout ? "model." : ""
        let d = c.dModel, dMLP = c.dMLP, qkv = c.nHeads * c.dHead
        func tensor(_ name: String, _ shape: [Int]) throws -> Tensor { try w.tensor(named: prefix + name, shape: shape) }
        func matrix(_ module: String, _ shape: [Int]) throws -> WeightMatrix {
            try w.weightMatrix(module: prefix + module, shape: shape, quantization: c.quantization)
        }
        /// A projection's `[out, in]` weight and its bias: a Conv1D (`[in, out]`) in transformers' layout.
        func projection(_ module: String, _ inputs: Int, _ outputs: Int) throws -> (WeightMatrix, Tensor) {
            let weight = mlxLayout ? try matrix(module, [outputs, inputs])
                : try w.conv1DWeight(named: prefix + "\(module).weight", inputs: inputs, outputs: outputs)
            return (weight, try tensor("\(module).bias", [outputs]))
        }
        func layerNorm(_ module: String) throws -> Normalization {
            Normalization(kind: .layerNorm, weight: try tensor("\(module).weight", [d]), bias: try tensor("\(module).bias", [d]),
                          epsilon: c.normEpsilon)
        }
        let blocks = try (0..<c.nLayers).map { l -> TransformerBlock in
            let h = "h.\(l)."
            let (fused, fusedBias) = try projection(h + "attn.c_attn", d, 3 * qkv)      // [3 qkv, d]
            func part(_ i: Int) -> Linear {
                Linear(matrix: fused.rowBlock((i * qkv)..<((i + 1) * qkv)),
                       bias: fusedBias.slice(axis: 0, (i * qkv)..<((i + 1) * qkv)))
            }
            let (proj, projBias) = try projection(h + "attn.c_proj", qkv, d)
            let attention = Attention(query: part(0), key: part(1), value: part(2), output: Linear(matrix: proj, bias: projBias),
                                      heads: c.nHeads, keyValueHeads: c.nHeads, headDim: c.dHead,
                                      scale: c.attentionScale(layer: l))
            let (fc, fcBias) = try projection(h + "mlp.c_fc", d, dMLP)
            let (out, outBias) = try projection(h + "mlp.c_proj", dMLP, d)
            let mlp = FeedForward(input: Linear(matrix: fc, bias: fcBias), output: Linear(matrix: out, bias: outBias),
                                  activation: c.activation)
            return TransformerBlock(layer: l, ln1: try layerNorm(h + "ln_1"), attention: attention,
                                    ln2: try layerNorm(h + "ln_2"), mlp: mlp)
        }
        let embedding = try matrix("wte", [c.vocabularySize, d])
        let unembedding = c.tiedEmbeddings
            ? embedding : try w.weightMatrix(module: "lm_head", shape: [c.vocabularySize, d], quantization: c.quantization)
        let positions = try matrix("wpe", [c.maxPositions, d]).dequantized()
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: positions,
                                blocks: blocks, finalNorm: try layerNorm("ln_f"), unembedding: unembedding,
                                contextLength: c.maxPositions, tiedEmbeddings: c.tiedEmbeddings)
    }
}
