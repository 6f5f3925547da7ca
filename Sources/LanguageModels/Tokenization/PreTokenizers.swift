/// Splits normalized text into the words the model tokenizes one at a time.
protocol PreTokenizer: Sendable {
    /// The non-empty words of `segment`, in order.
    func preTokenize(_ segment: TextSegment) -> [TextSegment]
}

/// Reads the `pre_tokenizer` of a tokenizer.json file.
func makePreTokenizer(_ json: JSONField) throws -> any PreTokenizer {
    let type = try json.componentType()
    switch type {
    case "Sequence":
        return PreTokenizerSequence(preTokenizers: try json.required("pretokenizers").array().map(makePreTokenizer))
    case "ByteLevel":
        return ByteLevelPreTokenizer(
            addPrefixSpace: try json.bool("add_prefix_space", default: true),
            useRegex: try json.bool("use_regex", default: true))
    case "Metaspace":
        return try MetaspacePreTokenizer(json: json)
    case "Split":
        return PatternSplitter(
            pattern: try TextPattern(json: json.required("pattern")),
            behavior: try SplitBehavior(json: json.required("behavior")),
            invert: try json.bool("invert", default: false))
    case "Whitespace":
        // Words (`\w+`) and runs of other non-space characters; the rest is dropped.
        return PatternSplitter(
            pattern: TextPattern(knownValidRegularExpression: #"\w+|[^\w\s]+"#), behavior: .removed, invert: true)
    case "WhitespaceSplit":
        return ScalarSplitter(behavior: .removed) { $0.isWhitespace }
    case "Punctuation":
        return ScalarSplitter(
            behavior: try json.member("behavior").map(SplitBehavior.init(json:)) ?? .isolated,
            isDelimiter: \.isPunctuation)
    case "Digits":
        let individually = try json.bool("individual_digits", default: false)
        return ScalarSplitter(behavior: individually ? .isolated : .contiguous, isDelimiter: \.isNumeric)
    case "BertPreTokenizer":
        return PreTokenizerSequence(preTokenizers: [
            ScalarSplitter(behavior: .removed) { $0.isWhitespace },
            ScalarSplitter(behavior: .isolated, isDelimiter: \.isPunctuation),
        ])
    case "CharDelimiterSplit":
        let delimiterField = try json.required("delimiter")
        let delimiter = try delimiterField.string().unicodeScalars
        guard delimiter.count == 1, let scalar = delimiter.first else {
            throw delimiterField.invalid("a single character")
        }
        return ScalarSplitter(behavior: .removed) { $0 == scalar }
    case "UnicodeScripts":
        return UnicodeScriptsSplitter()
    case "FixedLength":
        let length = try json.int("length", default: 5)
        guard length > 0 else { throw try json.required("length").invalid("a positive integer") }
        return FixedLengthSplitter(length: length)
    default:
        throw json.unsupported(type)
    }
}

/// Applies pre-tokenizers one after the other, each to every piece the previous one produced.
struct PreTokenizerSequence: PreTokenizer {
    let preTokenizers: [any PreTokenizer]

    func preTokenize(_ segment: TextSegment) -> [TextSegment] {
        preTokenizers.reduce([segment]) { segments, preTokenizer in
            segments.flatMap(preTokenizer.preTokenize)
        }
    }
}

/// Splits on the matches of a pattern (the `Split` pre-tokenizer and the fixed-pattern ones built on it).
struct PatternSplitter: PreTokenizer {
    let pattern: TextPattern
    let behavior: SplitBehavior
    var invert = false

    func preTokenize(_ segment: TextSegment) -> [TextSegment] {
        segment.split(at: pattern.matches(in: segment.text), behavior: behavior, invert: invert)
    }
}

/// Splits around every scalar satisfying a predicate, each one a delimiter of its own (the
/// tokenizers library's character-predicate patterns).
struct ScalarSplitter: PreTokenizer {
    let behavior: SplitBehavior
    let isDelimiter: @Sendable (Unicode.Scalar) -> Bool

    func preTokenize(_ segment: TextSegment) -> [TextSegment] {
        let scalars = segment.text.unicodeScalars
        let delimiters = scalars.indices.filter { isDelimiter(scalars[$0]) }.map { $0..<scalars.index(after: $0) }
        return segment.split(at: delimiters, behavior: behavior)
    }
}

/// The `FixedLength` pre-tokenizer: pieces of `length` Unicode scalars (the last one shorter).
struct FixedLengthSplitter: PreTokenizer {
    let length: Int

    func preTokenize(_ segment: TextSegment) -> [TextSegment] {
        let scalars = Array(segment.text.unicodeScalars)
        return stride(from: 0, to: scalars.count, by: length).map { start in
            TextSegment(
                text: String(scalars: scalars[start..<min(start + length, scalars.count)]),
                startsInput: segment.startsInput && start == 0)
        }
    }
}

/// The runs of ``UnicodePunctuationTable``, sorted.
private let punctuationRuns: [ClosedRange<UInt32>] = UnicodePunctuationTable.runs.split(separator: ",").compactMap { run in
    let bounds = run.split(separator: "-")
    guard bounds.count == 2, let first = UInt32(bounds[0], radix: 16), let last = UInt32(bounds[1], radix: 16) else { return nil }
    return first...last
}

extension Unicode.Scalar {
    /// ASCII punctuation or general category P as the tokenizers library's (older) Unicode table has it
    /// (Rust's `is_ascii_punctuation || is_punctuation` of the `unicode_categories` crate; ``UnicodePunctuationTable``).
    var isPunctuation: Bool {
        var lower = 0, upper = punctuationRuns.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if punctuationRuns[middle].upperBound < value { lower = middle + 1 } else { upper = middle }
        }
        return lower < punctuationRuns.count && punctuationRuns[lower].contains(value)
    }

    /// General category N: decimal digits, letter numbers and other numbers (Rust's `char::is_numeric`).
    var isNumeric: Bool {
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}
