import Foundation

/// The pattern of a `Split` pre-tokenizer or a `Replace` normalizer/decoder: a literal string or a
/// regular expression.
///
/// Regular expressions run on ICU (`NSRegularExpression`), which accepts the Oniguruma syntax used
/// in tokenizer.json files (`\p{L}`, `\p{N}{1,3}`, lookahead `\s+(?!\S)`, `(?i:'s|'t)`, possessive
/// quantifiers) and, like Oniguruma, matches whole Unicode scalars.
struct TextPattern: @unchecked Sendable {
    // NSRegularExpression is immutable and documented as safe to use from several threads.
    private let regex: NSRegularExpression

    /// A pattern matching `literal` exactly.
    init(literal: String) {
        // An escaped literal is always a valid expression.
        regex = try! NSRegularExpression(pattern: NSRegularExpression.escapedPattern(for: literal))
    }

    /// A regular expression written in this package; failing to compile is a programming error.
    init(knownValidRegularExpression pattern: String) {
        do {
            regex = try NSRegularExpression(pattern: pattern)
        } catch {
            preconditionFailure("invalid built-in regular expression \(pattern): \(error)")
        }
    }

    /// A regular expression read from `field` (used in the error when it does not compile).
    init(regularExpression pattern: String, field: JSONField) throws {
        do {
            regex = try NSRegularExpression(pattern: pattern)
        } catch {
            throw field.invalid("a regular expression ICU can compile (got \(pattern))")
        }
    }

    /// A pattern given as `{"String": "..."}` or `{"Regex": "..."}`.
    init(json: JSONField) throws {
        if let literal = try json.string("String") {
            self.init(literal: literal)
        } else if let pattern = try json.member("Regex") {
            try self.init(regularExpression: pattern.string(), field: pattern)
        } else {
            throw json.invalid(#"{"String": ...} or {"Regex": ...}"#)
        }
    }

    /// The non-overlapping matches in `text`, left to right.
    func matches(in text: String) -> [Range<String.Index>] {
        // NSRange counts UTF-16 code units. `Range(_:in:)` would round to Character boundaries and
        // lose splits inside grapheme clusters such as "\r\n" or emoji ZWJ sequences, so the
        // offsets are converted through the UTF-16 view, walking forward from the previous match.
        let utf16 = text.utf16
        var offset = 0
        var index = utf16.startIndex
        func advance(to newOffset: Int) -> String.Index {
            index = utf16.index(index, offsetBy: newOffset - offset)
            offset = newOffset
            return index
        }
        return regex.matches(in: text, range: NSRange(location: 0, length: utf16.count)).map { match in
            let lower = advance(to: match.range.location)
            return lower..<advance(to: match.range.location + match.range.length)
        }
    }

    /// `text` with every match replaced by `replacement`, taken literally.
    func replacingMatches(in text: String, with replacement: String) -> String {
        var result = ""
        var copiedUpTo = text.startIndex
        for match in matches(in: text) {
            result.unicodeScalars.append(contentsOf: text.unicodeScalars[copiedUpTo..<match.lowerBound])
            result.unicodeScalars.append(contentsOf: replacement.unicodeScalars)
            copiedUpTo = match.upperBound
        }
        result.unicodeScalars.append(contentsOf: text.unicodeScalars[copiedUpTo...])
        return result
    }
}
