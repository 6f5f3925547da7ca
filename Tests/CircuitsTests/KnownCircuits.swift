import Circuits

/// Models whose circuits are known by construction: weights set by hand, norms made exact identities
/// (RMSNorm with a huge ε and a gain of √ε), so that every edge's effect follows from the construction.
enum KnownCircuits {
    static let identityNormEpsilon: Float = 1e12

    static func identityNorm(_ d: Int) -> Normalization {
        Normalization(kind: .rmsNorm, weight: Tensor(repeating: identityNormEpsilon.squareRoot(), shape: [d]),
                      epsilon: identityNormEpsilon)
    }

    /// A `[rows, columns]` matrix with the given nonzero entries.
    static func matrix(_ rows: Int, _ columns: Int, _ entries: [(Int, Int, Float)]) -> Tensor {
        var scalars = [Float](repeating: 0, count: rows * columns)
        for (r, c, v) in entries { scalars[r * columns + c] = v }
        return Tensor(shape: [rows, columns], scalars: scalars)
    }

    static func attention(query: Tensor, key: Tensor, value: Tensor, output: Tensor, heads: Int, headDim: Int) -> Attention {
        Attention(query: Linear(weight: query), key: Linear(weight: key), value: Linear(weight: value),
                  output: Linear(weight: output), heads: heads, keyValueHeads: heads, headDim: headDim,
                  scale: 1 / Float(headDim).squareRoot())
    }

    static func model(embedding: Tensor, positions: Tensor? = nil, blocks: [TransformerBlock], unembedding: Tensor) -> TransformerModel {
        TransformerModel(tokenEmbedding: embedding, positionEmbedding: positions, blocks: blocks,
                         finalNorm: identityNorm(embedding.shape[1]), unembedding: unembedding,
                         contextLength: positions?.shape[0] ?? 16)
    }

    /// The logit of one token at the read position, averaged over examples.
    static func logitMetric(_ token: Int) -> (Tensor) -> Metric {
        { _ in Metric(name: "logit_\(token)") { logits in logits.slice(axis: 1, token..<(token + 1)).mean() } }
    }

    /// One layer of `heads` heads; each copies a constant input direction into the answer logit, adding 1.
    /// Token 0 embeds to that direction (clean), token 1 to zero (corrupted). Queries and keys are zero.
    static func sumOfHeads(_ heads: Int) -> TransformerModel {
        let d = 4
        let attention = Self.attention(
            query: Tensor.zeros([heads, d]), key: Tensor.zeros([heads, d]),
            value: matrix(heads, d, (0..<heads).map { ($0, 0, 1) }),
            output: matrix(d, heads, (0..<heads).map { (3, $0, 1) }), heads: heads, headDim: 1)
        let block = TransformerBlock(layer: 0, ln1: identityNorm(d), attention: attention, ln2: nil, mlp: nil)
        return model(embedding: matrix(2, d, [(0, 0, 1)]), blocks: [block], unembedding: matrix(2, d, [(0, 3, 1)]))
    }

    /// Two layers whose heads write nothing; MLP 0 turns input feature 0 into feature 2, MLP 1 turns
    /// feature 2 into the answer feature 3: the circuit is input → m0 → m1 → logits.
    static func mlpChain() -> TransformerModel {
        let d = 4
        func block(_ layer: Int, reads: Int, writes: Int, bias: Float, gain: Float) -> TransformerBlock {
            let silent = Self.attention(query: Tensor.zeros([1, d]), key: Tensor.zeros([1, d]),
                                        value: matrix(1, d, [(0, 0, 1)]), output: Tensor.zeros([d, 1]), heads: 1, headDim: 1)
            let mlp = FeedForward(input: Linear(weight: matrix(1, d, [(0, reads, 1)]), bias: Tensor(shape: [1], scalars: [bias])),
                                  output: Linear(weight: matrix(d, 1, [(writes, 0, gain)])), activation: .relu)
            return TransformerBlock(layer: layer, ln1: identityNorm(d), attention: silent, ln2: identityNorm(d), mlp: mlp)
        }
        return model(embedding: matrix(2, d, [(0, 0, 1), (1, 1, 1)]),
                     blocks: [block(0, reads: 0, writes: 2, bias: -0.5, gain: 2), block(1, reads: 2, writes: 3, bias: 0, gain: 3)],
                     unembedding: matrix(2, d, [(0, 3, 1)]))
    }

    static let vocabulary = 6, length = 7

    /// A previous-token head (layer 0) feeding an induction head (layer 1) by K-composition.
    ///
    /// Residual layout: token one-hot [0, 6), position one-hot [6, 13), previous-token one-hot [13, 19),
    /// output one-hot [19, 25). Head 0.0 attends from position i to i − 1 (positions only) and writes the
    /// token there into the previous-token subspace. Head 1.0 attends from the current token to the
    /// position whose previous token equals it and copies that position's token into the output subspace,
    /// which the unembedding reads.
    static func induction() -> TransformerModel {
        let v = vocabulary, p = length, d = 2 * v + p + 2 * v - v   // 25
        let tok = 0, pos = v, prev = v + p, out = v + p + v
        let sharp: Float = 30 * Float(p).squareRoot()
        let previousToken = Self.attention(
            query: matrix(p, d, (0..<p).map { ($0, pos + $0, sharp) }),
            key: matrix(p, d, (0..<(p - 1)).map { ($0 + 1, pos + $0, 1) }),
            value: matrix(p, d, (0..<v).map { ($0, tok + $0, 1) }),
            output: matrix(d, p, (0..<v).map { (prev + $0, $0, 1) }), heads: 1, headDim: p)
        let inductionHead = Self.attention(
            query: matrix(p, d, (0..<v).map { ($0, tok + $0, sharp) }),
            key: matrix(p, d, (0..<v).map { ($0, prev + $0, 1) }),
            value: matrix(p, d, (0..<v).map { ($0, tok + $0, 1) }),
            output: matrix(d, p, (0..<v).map { (out + $0, $0, 1) }), heads: 1, headDim: p)
        return model(embedding: matrix(v, d, (0..<v).map { ($0, tok + $0, 1) }),
                     positions: matrix(p, d, (0..<p).map { ($0, pos + $0, 1) }),
                     blocks: [TransformerBlock(layer: 0, ln1: identityNorm(d), attention: previousToken, ln2: nil, mlp: nil),
                              TransformerBlock(layer: 1, ln1: identityNorm(d), attention: inductionHead, ln2: nil, mlp: nil)],
                     unembedding: matrix(v, d, (0..<v).map { ($0, out + $0, 1) }))
    }
}
