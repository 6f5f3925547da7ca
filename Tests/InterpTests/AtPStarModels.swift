import Interp

/// Models built by hand for AtP*'s two failure cases of plain attribution patching. Norms are exact identities
/// (RMSNorm with a huge ε and a gain of √ε); token 0's logit (minus token 1's, which is 0) reads residual
/// feature 3 at the last position, so the metric is linear in that feature.
enum AtPStarModels {
    static let epsilon: Float = 1e12

    static func identityNorm(_ d: Int) -> Normalization {
        Normalization(kind: .rmsNorm, weight: Tensor(repeating: epsilon.squareRoot(), shape: [d]), epsilon: epsilon)
    }

    /// A `[rows, columns]` matrix with the given nonzero entries.
    static func matrix(_ rows: Int, _ columns: Int, _ entries: [(Int, Int, Float)]) -> Tensor {
        var scalars = [Float](repeating: 0, count: rows * columns)
        for (r, c, v) in entries { scalars[r * columns + c] = v }
        return Tensor(shape: [rows, columns], scalars: scalars)
    }

    static func head(query: Tensor, key: Tensor, value: Tensor, output: Tensor) -> Attention {
        Attention(query: Linear(weight: query), key: Linear(weight: key), value: Linear(weight: value),
                  output: Linear(weight: output), heads: 1, keyValueHeads: 1, headDim: 1, scale: 1)
    }

    static let metric = Metric.logitDifference(answers: [0], wrongs: [1])

    /// Saturated attention: one head whose query is a constant 100 and whose key is feature 1 (the marker
    /// token 1 has it), so it attends to the marker with logits 100 against 0 (softmax gradient ~e⁻¹⁰⁰). Its
    /// value is feature 2, set by the position embedding (−1 at position 0, +1 at position 1), and it writes
    /// it into feature 3. Clean `[2, 1, 2]` (marker at 1, metric +1), corrupted `[1, 2, 2]` (marker at 0,
    /// metric −1): patching the head's keys moves its attention from position 1 to 0, an effect of −2
    /// (noising) that the gradient cannot see.
    static func saturatedHead() -> TransformerModel {
        let d = 4
        let attention = head(query: matrix(1, d, [(0, 0, 100)]), key: matrix(1, d, [(0, 1, 1)]),
                             value: matrix(1, d, [(0, 2, 1)]), output: matrix(d, 1, [(3, 0, 1)]))
        return TransformerModel(
            tokenEmbedding: matrix(3, d, [(0, 0, 1), (1, 0, 1), (1, 1, 1), (2, 0, 1)]),
            positionEmbedding: matrix(3, d, [(0, 2, -1), (1, 2, 1)]),
            blocks: [TransformerBlock(layer: 0, ln1: identityNorm(d), attention: attention, ln2: nil, mlp: nil)],
            finalNorm: identityNorm(d), unembedding: matrix(3, d, [(0, 3, 1)]), contextLength: 3)
    }

    static func saturatedPairs() throws -> PromptPairs {
        try PromptPairs(clean: [[2, 1, 2]], corrupted: [[1, 2, 2]], answers: [0], wrongs: [1])
    }

    /// Cancellation: feature 0 is +1 for token 0 (clean) and −1 for token 1 (corrupted). MLP 0's neuron is
    /// `ReLU(f + 1)` (2 clean, 0 corrupted) and writes it into feature 3 (the metric) and feature 1. MLP 1's
    /// neuron `ReLU(x₁ − 1)` (1 clean, 0 corrupted) writes minus itself into feature 3. At the clean run the two
    /// paths of MLP 0 cancel to first order (∂m/∂x₃ = 1, ∂m/∂x₁ = −1, and MLP 0 writes equal amounts into both),
    /// so AtP gives MLP 0 zero; patching it loses 2 directly and gains 1 through MLP 1: an exact effect of −1.
    /// Heads write nothing.
    static func cancellation() -> TransformerModel {
        let d = 4
        func block(_ layer: Int, reads: Int, bias: Float, writes: [(Int, Int, Float)]) -> TransformerBlock {
            let silent = head(query: Tensor.zeros([1, d]), key: Tensor.zeros([1, d]), value: matrix(1, d, [(0, 0, 1)]),
                              output: Tensor.zeros([d, 1]))
            let mlp = FeedForward(input: Linear(weight: matrix(1, d, [(0, reads, 1)]), bias: Tensor(shape: [1], scalars: [bias])),
                                  output: Linear(weight: matrix(d, 1, writes)), activation: .relu)
            return TransformerBlock(layer: layer, ln1: identityNorm(d), attention: silent, ln2: identityNorm(d), mlp: mlp)
        }
        return TransformerModel(
            tokenEmbedding: matrix(2, d, [(0, 0, 1), (1, 0, -1)]), positionEmbedding: nil,
            blocks: [block(0, reads: 0, bias: 1, writes: [(3, 0, 1), (1, 0, 1)]),
                     block(1, reads: 1, bias: -1, writes: [(3, 0, -1)])],
            finalNorm: identityNorm(d), unembedding: matrix(2, d, [(0, 3, 1)]), contextLength: 4)
    }

    static func cancellationPairs() throws -> PromptPairs {
        try PromptPairs(clean: [[0]], corrupted: [[1]], answers: [0], wrongs: [1])
    }
}
