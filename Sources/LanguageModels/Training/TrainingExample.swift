/// One training sequence: its token ids and the positions whose prediction counts in the loss.
public struct TrainingExample: Sendable, Equatable, Codable {
    /// The token ids, BOS included when the tokenizer adds one.
    public var tokens: [Int]
    /// `targets[i]` is true when predicting `tokens[i]` from `tokens[..<i]` is part of the loss
    /// (`targets[0]` is always false: nothing predicts the first token).
    public var targets: [Bool]

    public init(tokens: [Int], targets: [Bool]) {
        precondition(tokens.count == targets.count, "\(tokens.count) tokens but \(targets.count) target flags")
        precondition(targets.first != true, "the first token cannot be a target")
        self.tokens = tokens
        self.targets = targets
    }

    /// Which tokens of a prompt-plus-completion example are targets.
    public enum Targets: String, Sendable, Codable, CaseIterable {
        /// Only the completion's tokens (e.g. the answer of a task sentence).
        case completion
        /// Every token after the first.
        case all
    }

    /// `prompt + completion`, with the loss on the completion or on every position.
    public init(prompt: [Int], completion: [Int], targets: Targets = .completion) {
        let all = targets == .all
        self.init(tokens: prompt + completion,
                  targets: prompt.indices.map { all && $0 > 0 } + completion.map { _ in true })
    }

    /// The number of target positions.
    public var targetCount: Int { targets.filter { $0 }.count }
}

extension TransformerModel {
    /// The mean next-token cross-entropy over the target positions of `examples` (differentiable).
    ///
    /// Sequences are right-padded with `padID` to the longest one; padding is masked from attention and never
    /// a target. Only the rows of target positions are unembedded.
    public func nextTokenLoss(_ examples: [TrainingExample], padID: Int = 0) -> Tensor {
        let batch = TokenBatch.padding(examples.map(\.tokens), side: .right, padID: padID)
        var rows: [Int] = [], targets: [Int] = []
        for (e, example) in examples.enumerated() {
            for (i, isTarget) in example.targets.enumerated() where isTarget {
                rows.append(e * batch.length + i - 1)
                targets.append(example.tokens[i])
            }
        }
        precondition(!targets.isEmpty, "nextTokenLoss: the examples have no target positions")
        let residual = forward(batch, logitPositions: .none).reshaped([-1, dModel])
        return crossEntropy(logits: unembed(residual.indexSelect(axis: 0, rows), hooks: nil), targets: targets)
    }
}
