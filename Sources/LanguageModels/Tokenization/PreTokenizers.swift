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
        return PatternSplitter(
            pattern: TextPattern(knownValidRegularExpression: #"\p{White_Space}"#), behavior: .removed)
    case "Punctuation":
        // Unicode punctuation (general category P) and ASCII punctuation, one character at a time.
        return PatternSplitter(
            pattern: TextPattern(
                knownValidRegularExpression: #"[\p{P}\x{21}-\x{2F}\x{3A}-\x{40}\x{5B}-\x{60}\x{7B}-\x{7E}]"#),
            behavior: try json.member("behavior").map(SplitBehavior.init(json:)) ?? .isolated)
    case "Digits":
        let individually = try json.bool("individual_digits", default: false)
        return PatternSplitter(
            pattern: TextPattern(knownValidRegularExpression: individually ? #"\p{N}"# : #"\p{N}+"#),
            behavior: .isolated)
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
