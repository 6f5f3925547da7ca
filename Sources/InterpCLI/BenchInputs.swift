import Circuits

/// The deterministic inputs of the model benchmarks. `scripts/bench_peers.py` builds the same token ids
/// with the same formulas, so that both sides run identical workloads.
enum BenchInputs {
    /// `[batch][length]` token ids: `(131·b + 17·j + 11) mod vocab`.
    static func tokens(batch: Int, length: Int, vocabulary: Int) -> TokenBatch {
        TokenBatch((0..<batch).map { b in (0..<length).map { j in (131 * b + 17 * j + 11) % vocabulary } })
    }

    /// `examples` clean/corrupted pairs of `length` tokens: clean `(1000 + 37·j + 101·e) mod vocab`, the
    /// corrupted prompt changes positions 3 and 9 (+1); answer `5000 + e`, wrong answer `6000 + e` (mod vocab).
    static func promptPairs(examples: Int, length: Int = 15, vocabulary: Int) throws -> PromptPairs {
        let clean = (0..<examples).map { e in (0..<length).map { j in (1000 + 37 * j + 101 * e) % vocabulary } }
        let corrupted = clean.map { prompt in
            prompt.enumerated().map { j, token in j == 3 || j == 9 ? (token + 1) % vocabulary : token }
        }
        return try PromptPairs(clean: clean, corrupted: corrupted,
                               answers: (0..<examples).map { (5000 + $0) % vocabulary },
                               wrongs: (0..<examples).map { (6000 + $0) % vocabulary })
    }

    /// The logit difference between each example's answer and wrong answer.
    static func logitDifference(_ pairs: PromptPairs) -> Metric {
        .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
    }

    /// A GPT-2-style attention-only model with random weights (LayerNorm, learned positions, biases), scaled
    /// so that attention patterns are far from uniform and logits have a spread like GPT-2's (std about 3).
    static func attentionOnlyModel(layers: Int = 4, heads: Int = 8, dModel: Int = 512, vocabulary: Int = 5000,
                                   context: Int = 64, seed: UInt64 = 7) -> TransformerModel {
        var g = SeededGenerator(seed: seed)
        let dHead = dModel / heads, scale = 1 / Float(dModel).squareRoot()
        func random(_ shape: [Int], _ deviation: Float) -> Tensor {
            Tensor.randomNormal(shape, standardDeviation: deviation, using: &g)
        }
        func linear(_ outputs: Int, _ inputs: Int, _ deviation: Float) -> Linear {
            Linear(weight: random([outputs, inputs], deviation), bias: random([outputs], 0.02))
        }
        func norm() -> Normalization {
            Normalization(kind: .layerNorm, weight: 1 + random([dModel], 0.1), bias: random([dModel], 0.02), epsilon: 1e-5)
        }
        let blocks = (0..<layers).map { l in
            TransformerBlock(
                layer: l, ln1: norm(),
                attention: Attention(query: linear(dModel, dModel, 2 * scale), key: linear(dModel, dModel, 2 * scale),
                                     value: linear(dModel, dModel, scale), output: linear(dModel, dModel, scale),
                                     heads: heads, keyValueHeads: heads, headDim: dHead, scale: 1 / Float(dHead).squareRoot()),
                ln2: nil, mlp: nil)
        }
        let embedding = random([vocabulary, dModel], 1)
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: random([context, dModel], 0.5), blocks: blocks,
                                finalNorm: norm(), unembedding: random([vocabulary, dModel], 0.15), contextLength: context)
    }
}
