import Interp

/// Small random models built directly from their parts, for tests whose expected values follow from
/// construction (identities, exact intervention effects), not from a reference implementation.
public enum TestModels {
    public static func random(_ shape: [Int], scale: Float, _ g: inout SeededGenerator) -> Tensor {
        Tensor.randomNormal(shape, standardDeviation: scale, using: &g)
    }

    /// A GPT-2-like model (LayerNorm, learned positions, biases, GELU) or a Llama-like one (RMSNorm,
    /// rotary, gated SiLU MLP, grouped-query heads).
    ///
    /// With `parallel`, every block is a GPT-J-style parallel block: attention and MLP read the same
    /// normalized block input (one norm serves both), and both write to the residual stream at once.
    public static func make(llama: Bool, layers: Int = 2, dModel: Int = 16, heads: Int = 4, kvHeads: Int? = nil,
                     vocab: Int = 23, context: Int = 32, seed: UInt64 = 1, parallel: Bool = false) -> TransformerModel {
        var g = SeededGenerator(seed: seed)
        let dHead = dModel / heads, kv = kvHeads ?? heads, dMLP = 2 * dModel
        func linear(_ out: Int, _ inp: Int, bias: Bool) -> Linear {
            Linear(weight: random([out, inp], scale: 0.4, &g), bias: bias ? random([out], scale: 0.1, &g) : nil)
        }
        func norm(_ d: Int) -> Normalization {
            Normalization(kind: llama ? .rmsNorm : .layerNorm, weight: 1 + random([d], scale: 0.2, &g),
                          bias: llama ? nil : random([d], scale: 0.1, &g), epsilon: 1e-5)
        }
        let blocks = (0..<layers).map { l in
            let ln1 = norm(dModel)
            return TransformerBlock(
                layer: l, ln1: ln1,
                attention: Attention(
                    query: linear(heads * dHead, dModel, bias: !llama), key: linear(kv * dHead, dModel, bias: !llama),
                    value: linear(kv * dHead, dModel, bias: !llama), output: linear(dModel, heads * dHead, bias: !llama),
                    rotary: llama ? RotaryEmbedding(headDim: dHead) : nil,
                    heads: heads, keyValueHeads: kv, headDim: dHead, scale: 1 / Float(dHead).squareRoot()),
                ln2: parallel ? ln1 : norm(dModel),
                mlp: FeedForward(input: linear(dMLP, dModel, bias: !llama), gate: llama ? linear(dMLP, dModel, bias: false) : nil,
                                 output: linear(dModel, dMLP, bias: !llama), activation: llama ? .silu : .geluTanh),
                parallelResidual: parallel)
        }
        let embedding = random([vocab, dModel], scale: 1, &g)
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: llama ? nil : random([context, dModel], scale: 0.5, &g),
                                blocks: blocks, finalNorm: norm(dModel),
                                unembedding: llama ? random([vocab, dModel], scale: 1, &g) : embedding, contextLength: context)
    }

    public static let prompts: [[Int]] = [[3, 7, 1, 9, 4, 4, 12, 5], [8, 2, 2, 15, 6, 11, 0, 19]]
}
