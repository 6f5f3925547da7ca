/// A piece of (normalized) text on its way to becoming words for the model.
struct TextSegment: Equatable {
    var text: String
    /// Whether the segment begins at the very start of the input; Metaspace's `prepend_scheme:
    /// "first"` only adds "▁" to such a segment.
    var startsInput: Bool
}

/// What a split does with the matched delimiters (tokenizers' `SplitDelimiterBehavior`).
enum SplitBehavior: String {
    /// Delimiters are dropped.
    case removed = "Removed"
    /// Delimiters become pieces of their own.
    case isolated = "Isolated"
    /// Each delimiter is appended to the piece before it.
    case mergedWithPrevious = "MergedWithPrevious"
    /// Each delimiter is prepended to the piece after it.
    case mergedWithNext = "MergedWithNext"
    /// Runs of consecutive delimiters become one piece.
    case contiguous = "Contiguous"

    init(json: JSONField) throws {
        guard let behavior = SplitBehavior(rawValue: try json.string()) else {
            throw json.invalid("one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous")
        }
        self = behavior
    }
}

extension TextSegment {
    /// The non-empty pieces of this segment around `matches` (sorted, non-overlapping ranges of
    /// `text`), following `NormalizedString::split` of the tokenizers library. With `invert`
    /// the matches are treated as the text between delimiters.
    func split(at matches: [Range<String.Index>], behavior: SplitBehavior, invert: Bool = false) -> [TextSegment] {
        var pieces: [(range: Range<String.Index>, isDelimiter: Bool)] = []
        var position = text.startIndex
        for match in matches {
            if position < match.lowerBound { pieces.append((position..<match.lowerBound, invert)) }
            pieces.append((match, !invert))
            position = match.upperBound
        }
        if position < text.endIndex { pieces.append((position..<text.endIndex, invert)) }

        var kept: [Range<String.Index>] = []
        switch behavior {
        case .removed:
            kept = pieces.filter { !$0.isDelimiter }.map(\.range)
        case .isolated:
            kept = pieces.map(\.range)
        case .contiguous:
            var previousWasDelimiter = false
            for (index, piece) in pieces.enumerated() {
                if index > 0 && piece.isDelimiter == previousWasDelimiter {
                    kept[kept.count - 1] = kept[kept.count - 1].lowerBound..<piece.range.upperBound
                } else {
                    kept.append(piece.range)
                }
                previousWasDelimiter = piece.isDelimiter
            }
        case .mergedWithPrevious:
            var previousWasDelimiter = false
            for piece in pieces {
                if piece.isDelimiter && !previousWasDelimiter, let last = kept.last {
                    kept[kept.count - 1] = last.lowerBound..<piece.range.upperBound
                } else {
                    kept.append(piece.range)
                }
                previousWasDelimiter = piece.isDelimiter
            }
        case .mergedWithNext:
            var previousWasDelimiter = false
            for piece in pieces.reversed() {
                if piece.isDelimiter && !previousWasDelimiter, let last = kept.last {
                    kept[kept.count - 1] = piece.range.lowerBound..<last.upperBound
                } else {
                    kept.append(piece.range)
                }
                previousWasDelimiter = piece.isDelimiter
            }
            kept.reverse()
        }
        return kept.filter { !$0.isEmpty }.map { range in
            TextSegment(
                text: String(text.unicodeScalars[range]),
                startsInput: startsInput && range.lowerBound == text.startIndex)
        }
    }
}
