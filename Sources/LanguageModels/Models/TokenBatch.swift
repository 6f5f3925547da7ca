/// A batch of token sequences of equal length, with the attention mask that marks padding.
public struct TokenBatch: Sendable, Equatable {
    /// Which end of a shorter sequence receives the padding.
    public enum PaddingSide: Sendable { case left, right }

    /// `[batch][position]` token ids.
    public var tokens: [[Int]]
    /// `[batch][position]`, true for real tokens, false for padding.
    public var mask: [[Bool]]

    /// A batch without padding; all sequences must have the same length.
    public init(_ tokens: [[Int]]) {
        self.init(tokens: tokens, mask: tokens.map { [Bool](repeating: true, count: $0.count) })
    }

    public init(tokens: [[Int]], mask: [[Bool]]) {
        precondition(!tokens.isEmpty, "a token batch needs at least one sequence")
        precondition(tokens.allSatisfy { $0.count == tokens[0].count }, "sequences in a batch must have equal length; pad them")
        precondition(mask.count == tokens.count && zip(mask, tokens).allSatisfy { $0.count == $1.count }, "mask shape differs from tokens")
        self.tokens = tokens
        self.mask = mask
    }

    /// Pads sequences of different lengths with `padID` on `side`.
    public static func padding(_ sequences: [[Int]], side: PaddingSide = .right, padID: Int = 0) -> TokenBatch {
        let length = sequences.map(\.count).max() ?? 0
        var tokens: [[Int]] = [], mask: [[Bool]] = []
        for sequence in sequences {
            let pad = length - sequence.count
            let padTokens = [Int](repeating: padID, count: pad), padMask = [Bool](repeating: false, count: pad)
            let real = [Bool](repeating: true, count: sequence.count)
            tokens.append(side == .left ? padTokens + sequence : sequence + padTokens)
            mask.append(side == .left ? padMask + real : real + padMask)
        }
        return TokenBatch(tokens: tokens, mask: mask)
    }

    public var batchSize: Int { tokens.count }
    public var length: Int { tokens[0].count }
    public var hasPadding: Bool { mask.contains { $0.contains(false) } }

    /// Position ids: the count of real tokens before each position (so left padding does not shift
    /// positions), starting at `offset`; padding positions get the position of the next real token.
    public func positions(offset: [Int]? = nil) -> [[Int]] {
        mask.enumerated().map { row, m in
            var next = offset?[row] ?? 0
            return m.map { real in
                defer { if real { next += 1 } }
                return next
            }
        }
    }

    /// The tokens at positions `range` of every sequence, with their mask.
    public func slice(positions range: Range<Int>) -> TokenBatch {
        TokenBatch(tokens: tokens.map { Array($0[range]) }, mask: mask.map { Array($0[range]) })
    }

    /// The index of the last real token of each sequence.
    public var lastPositions: [Int] {
        mask.map { m in m.lastIndex(of: true) ?? (m.count - 1) }
    }
}
