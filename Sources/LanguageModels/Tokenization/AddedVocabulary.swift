/// A token added on top of the model's vocabulary, such as "<|endoftext|>" or "[INST]": it is
/// cut out of the text before the model runs, so it is never split.
struct AddedToken: Sendable {
    let id: Int
    let content: String
    /// Only matches when not inside a word.
    let singleWord: Bool
    /// Swallows the whitespace on its left.
    let leftStrip: Bool
    /// Swallows the whitespace on its right.
    let rightStrip: Bool
    /// Matches the normalized text (rather than the raw input).
    let normalized: Bool
    /// Skipped by `decode(_:skipSpecialTokens: true)`.
    let special: Bool

    /// Reads one entry of tokenizer.json's `added_tokens`.
    init(json: JSONField) throws {
        id = try json.required("id").tokenID()
        content = try json.required("content").string()
        special = try json.bool("special", default: false)
        singleWord = try json.bool("single_word", default: false)
        leftStrip = try json.bool("lstrip", default: false)
        rightStrip = try json.bool("rstrip", default: false)
        normalized = try json.bool("normalized", default: !special)
    }
}

/// Input after the added tokens have been cut out: either an added token or text for the model.
enum InputPiece: Equatable {
    case addedToken(id: Int)
    case text(TextSegment)
}

/// The added tokens of a tokenizer and the normalizer that runs between them, following
/// `AddedVocabulary::extract_and_normalize` of the tokenizers library: tokens that match the raw
/// input are cut out first, the remaining text is normalized, then tokens that match normalized
/// text are cut out of it.
struct AddedVocabulary: Sendable {
    let tokens: [AddedToken]
    let normalizer: (any TextNormalizer)?
    private let idsByContent: [ExactString: Int]
    /// How each added token reads when decoded: normalized tokens read as their normalized content.
    private let spellingsByID: [Int: String]
    private let specialContents: Set<ExactString>
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher

    init(tokens: [AddedToken], normalizer: (any TextNormalizer)?) {
        self.tokens = tokens
        self.normalizer = normalizer
        var idsByContent: [ExactString: Int] = [:]
        var spellingsByID: [Int: String] = [:]
        var rawPatterns: [(pattern: String, token: AddedToken)] = []
        var normalizedPatterns: [(pattern: String, token: AddedToken)] = []
        for token in tokens {
            idsByContent[ExactString(token.content)] = token.id
            if token.normalized {
                let spelling = normalizer?.normalize(token.content) ?? token.content
                spellingsByID[token.id] = spelling
                normalizedPatterns.append((spelling, token))
            } else {
                spellingsByID[token.id] = token.content
                rawPatterns.append((token.content, token))
            }
        }
        self.idsByContent = idsByContent
        self.spellingsByID = spellingsByID
        specialContents = Set(tokens.filter(\.special).map { ExactString($0.content) })
        rawMatcher = AddedTokenMatcher(patterns: rawPatterns)
        normalizedMatcher = AddedTokenMatcher(patterns: normalizedPatterns)
    }

    func id(of content: String) -> Int? { idsByContent[ExactString(content)] }

    func spelling(of id: Int) -> String? { spellingsByID[id] }

    /// Whether `token` is the content of a special added token.
    func isSpecial(_ token: String) -> Bool { specialContents.contains(ExactString(token)) }

    /// `text` with the added tokens cut out and the rest normalized; text pieces are never empty.
    func split(_ text: String) -> [InputPiece] {
        rawMatcher.split(TextSegment(text: text, startsInput: true)).flatMap { piece -> [InputPiece] in
            guard case .text(let segment) = piece else { return [piece] }
            let normalized = normalizer?.normalize(segment.text) ?? segment.text
            return normalizedMatcher.split(TextSegment(text: normalized, startsInput: segment.startsInput && !dropsFirstCharacter(segment.text)))
        }
    }

    /// Whether the normalizer deletes the first character of `text` (Nmt a control character, Strip a space,
    /// Replace a pattern with nothing): the normalized text then starts past the input's start, and the
    /// tokenizers library's Metaspace `prepend_scheme: "first"` (which asks for original offset 0) adds no "▁".
    private func dropsFirstCharacter(_ text: String) -> Bool {
        guard let normalizer, let first = text.unicodeScalars.first else { return false }
        return normalizer.normalize(String(first)).isEmpty
    }
}

/// Finds added tokens in text, leftmost-longest first, honoring `single_word`, `lstrip` and `rstrip`.
private struct AddedTokenMatcher: Sendable {
    private var patterns = ByteTrie()
    /// The token of each pattern, indexed by the pattern's value in `patterns`.
    private var tokens: [AddedToken] = []

    init(patterns: [(pattern: String, token: AddedToken)]) {
        for (pattern, token) in patterns {
            self.patterns.insert(pattern, value: Int32(tokens.count))
            tokens.append(token)
        }
    }

    /// The longest pattern starting at `start`, with its end.
    private func longestMatch(in bytes: [UInt8], at start: Int) -> (end: Int, token: AddedToken)? {
        var match: (end: Int, token: AddedToken)?
        patterns.forEachKey(in: bytes, startingAt: start) { end, index in match = (end, tokens[Int(index)]) }
        return match
    }

    /// `segment` cut around the added tokens it contains; text pieces are never empty.
    func split(_ segment: TextSegment) -> [InputPiece] {
        let bytes = Array(segment.text.utf8)
        var pieces: [InputPiece] = []
        func appendText(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            pieces.append(.text(TextSegment(
                text: String(decoding: bytes[range], as: UTF8.self),
                startsInput: segment.startsInput && range.lowerBound == 0)))
        }
        var consumed = 0
        var position = 0
        while position < bytes.count {
            guard let (matchEnd, token) = longestMatch(in: bytes, at: position) else {
                position += 1
                continue
            }
            var start = position
            var stop = matchEnd
            position = matchEnd
            if token.singleWord {
                let startsWord = start == 0 || !(bytes.scalar(endingAt: start).isWordCharacter)
                let endsWord = stop == bytes.count || !(bytes.scalar(startingAt: stop).isWordCharacter)
                guard startsWord && endsWord else { continue }
            }
            if token.leftStrip {
                while start > consumed, bytes.scalar(endingAt: start).isWhitespace {
                    start -= bytes.scalarLength(endingAt: start)
                }
            }
            if token.rightStrip {
                while stop < bytes.count, bytes.scalar(startingAt: stop).isWhitespace {
                    stop += bytes.scalarLength(startingAt: stop)
                }
            }
            appendText(consumed..<max(consumed, start))
            pieces.append(.addedToken(id: token.id))
            consumed = stop
        }
        appendText(consumed..<max(consumed, bytes.count))
        return pieces
    }
}

/// Reading Unicode scalars out of valid UTF-8 at scalar boundaries.
private extension Array where Element == UInt8 {
    func scalarLength(startingAt index: Int) -> Int { UTF8.width(leadByte: self[index]) }

    func scalarLength(endingAt index: Int) -> Int {
        var start = index - 1
        while self[start] & 0xC0 == 0x80 { start -= 1 }
        return index - start
    }

    func scalar(startingAt index: Int) -> Unicode.Scalar {
        String(decoding: self[index..<(index + scalarLength(startingAt: index))], as: UTF8.self).unicodeScalars.first!
    }

    func scalar(endingAt index: Int) -> Unicode.Scalar {
        String(decoding: self[(index - scalarLength(endingAt: index))..<index], as: UTF8.self).unicodeScalars.first!
    }
}
