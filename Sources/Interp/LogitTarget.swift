
/// What a logit-based analysis measures at a position.
public enum LogitTarget: Sendable, Equatable {
    /// The model's top prediction at the position.
    case predicted
    /// The logit of one token.
    case token(Int)
    /// The logit of `answer` minus the logit of `wrong`.
    case difference(answer: Int, wrong: Int)

    /// The unembedding direction `[dModel]` whose dot product with the normalized residual is the measured logit.
    func direction(in model: TransformerModel, logits row: Tensor) -> (direction: Tensor, token: Int) {
        switch self {
        case .predicted:
            let token = row.argmax()
            return (model.unembeddingDirection(token), token)
        case .token(let token):
            return (model.unembeddingDirection(token), token)
        case let .difference(answer, wrong):
            return (model.unembeddingDirection(answer) - model.unembeddingDirection(wrong), answer)
        }
    }

    /// The unembedding bias's part of the measured logit (`b_U[token]`, or its difference), 0 without a bias.
    func unembeddingBias(in model: TransformerModel, token: Int) -> Float {
        guard let bias = model.unembeddingBias else { return 0 }
        if case let .difference(answer, wrong) = self { return bias.scalars[answer] - bias.scalars[wrong] }
        return bias.scalars[token]
    }

    /// The measured value in a row of logits.
    func value(in row: Tensor, token: Int) -> Float {
        if case let .difference(answer, wrong) = self { return row.scalars[answer] - row.scalars[wrong] }
        return row.scalars[token]
    }
}

extension TokenBatch {
    /// Resolves a position for each sequence: non-negative positions are absolute, negative ones count back
    /// from each sequence's last real token (-1 is the last real token).
    public func resolve(position: Int) -> [Int] {
        lastPositions.map { last in position < 0 ? last + 1 + position : position }
    }
}
