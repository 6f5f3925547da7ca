
/// The kinds of attention head that can be recognized from their patterns alone.
public enum HeadKind: String, CaseIterable, Sendable, Codable {
    /// Attends from each position to the one before it.
    case previousToken = "previous_token"
    /// On a repeated random sequence, attends to the token after the previous occurrence of the current token.
    case induction
    /// On a repeated random sequence, attends to the previous occurrence of the current token.
    case duplicateToken = "duplicate_token"
    /// Attends to the first position (often a BOS sink).
    case firstToken = "first_token"
}

/// Head-type scores: for each kind, `[layers, heads]`, the mean attention weight on the kind's key.
public struct HeadScores {
    public let scores: [HeadKind: Tensor]

    /// The `(layer, head)` pairs whose score for `kind` is at least `threshold`, best first.
    public func heads(_ kind: HeadKind, threshold: Float) -> [(layer: Int, head: Int, score: Float)] {
        guard let table = scores[kind] else { return [] }
        let heads = table.shape[1]
        return table.scalars.enumerated().filter { $0.element >= threshold }
            .map { (layer: $0.offset / heads, head: $0.offset % heads, score: $0.element) }
            .sorted { $0.score > $1.score }
    }
}

extension TransformerModel {
    /// Attention patterns of every layer, `[layers, batch, heads, query, key]`.
    public func attentionPatterns(_ batch: TokenBatch) throws -> Tensor {
        let (_, cache) = try runWithCache(batch, filter: .kinds([.pattern]), logitPositions: .none)
        return try cache.stack("pattern")
    }

    /// Scores every head for each ``HeadKind``.
    ///
    /// Previous-token and first-token scores are read on `batch`; induction and duplicate-token scores on
    /// `repeats` sequences made of `prefix` followed by a random block of `length` tokens repeated twice
    /// (`prefix` is typically the BOS token, or empty); the block is shortened to fit the context. Pass
    /// `patterns` when ``attentionPatterns(_:)`` of `batch` is already at hand.
    public func headScores(_ batch: TokenBatch, patterns: Tensor? = nil, prefix: [Int] = [], length: Int = 20,
                           repeats: Int = 4, seed: UInt64 = 0) throws -> HeadScores {
        let natural = try patterns ?? attentionPatterns(batch)               // [L, B, H, Q, K]
        let length = Swift.max(1, Swift.min(length, (contextLength - prefix.count) / 2))
        var generator = SeededGenerator(seed: seed)
        let sequences = (0..<repeats).map { _ -> [Int] in
            let block = (0..<length).map { _ in Int.random(in: 0..<vocabularySize, using: &generator) }
            return prefix + block + block
        }
        let repeated = try attentionPatterns(TokenBatch(sequences))
        let offset = prefix.count
        let secondHalf = Array((offset + length)..<(offset + 2 * length))
        return HeadScores(scores: [
            .previousToken: meanAttention(natural, mask: batch.mask) { q in q >= 1 ? q - 1 : nil },
            .firstToken: meanAttention(natural, mask: batch.mask) { _ in 0 },
            .induction: meanAttention(repeated, queries: secondHalf) { q in q - length + 1 },
            .duplicateToken: meanAttention(repeated, queries: secondHalf) { q in q - length },
        ])
    }

    /// Mean over examples and queries of `pattern[query, key(query)]`, per layer and head.
    private func meanAttention(_ patterns: Tensor, mask: [[Bool]]? = nil, queries: [Int]? = nil,
                               key: (Int) -> Int?) -> Tensor {
        let (layers, batch, heads, length) = (patterns.shape[0], patterns.shape[1], patterns.shape[2], patterns.shape[3])
        var result = [Float](repeating: 0, count: layers * heads)
        for l in 0..<layers {
            for h in 0..<heads {
                var total: Float = 0, count = 0
                for b in 0..<batch {
                    for q in queries ?? Array(0..<length) {
                        guard let k = key(q), mask?[b][q] ?? true, mask?[b][k] ?? true else { continue }
                        total += patterns.scalars[(((l * batch + b) * heads + h) * length + q) * length + k]
                        count += 1
                    }
                }
                result[l * heads + h] = count > 0 ? total / Float(count) : 0
            }
        }
        return Tensor(shape: [layers, heads], scalars: result)
    }
}
