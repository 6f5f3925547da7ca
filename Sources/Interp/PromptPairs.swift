/// Clean and corrupted prompts of equal token length, with the answer and wrong-answer token of each
/// example: the input of every causal method (patching, path patching, ACDC, EAP).
public struct PromptPairs {
    /// The prompts that show the behaviour.
    public let clean: TokenBatch
    /// The prompts that do not (same length per example).
    public let corrupted: TokenBatch
    public let answers: [Int]
    public let wrongs: [Int]
    /// Named positions per example (e.g. `"IO"`, `"S1"`, `"END"`), each with one position per example.
    public let positionLabels: [String: [Int]]

    /// Pairs prompts; sequences of different lengths across examples are right-padded.
    ///
    /// - Throws: ``PromptPairsError`` when an example's clean and corrupted prompts differ in length, the
    ///   counts disagree, or a labelled position is out of range.
    public init(clean: [[Int]], corrupted: [[Int]], answers: [Int], wrongs: [Int],
                positionLabels: [String: [Int]] = [:], padID: Int = 0) throws {
        guard !clean.isEmpty else { throw PromptPairsError.empty }
        guard clean.count == corrupted.count, clean.count == answers.count, clean.count == wrongs.count else {
            throw PromptPairsError.countMismatch(clean: clean.count, corrupted: corrupted.count,
                                                 answers: answers.count, wrongs: wrongs.count)
        }
        for (i, (a, b)) in zip(clean, corrupted).enumerated() where a.count != b.count || a.isEmpty {
            throw PromptPairsError.lengthMismatch(example: i, clean: a.count, corrupted: b.count)
        }
        for (label, positions) in positionLabels {
            guard positions.count == clean.count else {
                throw PromptPairsError.badLabel(label: label, reason: "has \(positions.count) positions for \(clean.count) examples")
            }
            for (i, p) in positions.enumerated() where p < 0 || p >= clean[i].count {
                throw PromptPairsError.badLabel(label: label, reason: "position \(p) is outside example \(i) of \(clean[i].count) tokens")
            }
        }
        self.clean = TokenBatch.padding(clean, side: .right, padID: padID)
        self.corrupted = TokenBatch.padding(corrupted, side: .right, padID: padID)
        self.answers = answers
        self.wrongs = wrongs
        self.positionLabels = positionLabels
    }

    public var count: Int { answers.count }
    public var length: Int { clean.length }
    /// The position each example's metric reads: its last real token.
    public var readPositions: [Int] { clean.lastPositions }
}

/// Prompt pairs that cannot be compared.
public enum PromptPairsError: Error, CustomStringConvertible, Equatable {
    case empty
    case countMismatch(clean: Int, corrupted: Int, answers: Int, wrongs: Int)
    case lengthMismatch(example: Int, clean: Int, corrupted: Int)
    case badLabel(label: String, reason: String)

    public var description: String {
        switch self {
        case .empty: return "no examples were given"
        case let .countMismatch(clean, corrupted, answers, wrongs):
            return "counts differ: \(clean) clean prompts, \(corrupted) corrupted, \(answers) answers, \(wrongs) wrong answers"
        case let .lengthMismatch(example, clean, corrupted):
            return "example \(example): the clean prompt has \(clean) tokens but the corrupted prompt has \(corrupted); they must tokenize to the same length"
        case let .badLabel(label, reason): return "position label '\(label)' \(reason)"
        }
    }
}

extension TokenBatch {
    /// The batch repeated `times` times along the batch axis.
    public func repeated(_ times: Int) -> TokenBatch {
        TokenBatch(tokens: Array([[[Int]]](repeating: tokens, count: times).joined()),
                   mask: Array([[[Bool]]](repeating: mask, count: times).joined()))
    }
}

extension PromptPairs {
    /// The fraction of examples whose answer logit beats the wrong answer's at the read position, on the
    /// clean prompts (or the corrupted ones).
    public func accuracy(of model: TransformerModel, corrupted useCorrupted: Bool = false) -> Float {
        let differences = logitDifferences(of: model, corrupted: useCorrupted)
        return Float(differences.filter { $0 > 0 }.count) / Float(count)
    }

    /// Per example: logit(answer) − logit(wrong) at the read position.
    public func logitDifferences(of model: TransformerModel, corrupted useCorrupted: Bool = false) -> [Float] {
        let logits = model.forward(useCorrupted ? corrupted : clean, logitPositions: .last).reshaped([count, -1])
        return (0..<count).map { logits[$0, answers[$0]] - logits[$0, wrongs[$0]] }
    }
}
