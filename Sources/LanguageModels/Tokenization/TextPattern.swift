import Foundation

/// The pattern of a `Split` pre-tokenizer or a `Replace` normalizer/decoder: a literal string or a
/// regular expression.
///
/// Regular expressions run on ICU (`NSRegularExpression`), which accepts the Oniguruma syntax used
/// in tokenizer.json files (`\p{L}`, `\p{N}{1,3}`, lookahead `\s+(?!\S)`, `(?i:'s|'t)`, possessive
/// quantifiers) and, like Oniguruma, matches whole Unicode scalars. The constructs that Oniguruma's
/// Ruby syntax (the tokenizers library's) reads differently are translated: `^` and `$` anchor at
/// every line, "\n" being the only line break, `\h` and `\H` are (non-)hexadecimal digits and the
/// `m` flag lets `.` match newlines.
/// Oniguruma-only constructs such as `\K` do not compile and are refused.
struct TextPattern: @unchecked Sendable {
    private enum Matcher {
        /// Matched by a direct scan, much faster than ICU for the common "▁" and " " patterns.
        case literal([Unicode.Scalar])
        // NSRegularExpression is immutable and documented as safe to use from several threads.
        case regex(NSRegularExpression)
    }

    private let matcher: Matcher

    /// An empty group: like an empty pattern, it matches the empty string at every position (as in the
    /// tokenizers library), but Foundation on Linux refuses to compile an empty pattern.
    private static let emptyExpression = "(?:)"

    /// A pattern matching `literal` exactly.
    init(literal: String) {
        if literal.isEmpty {
            matcher = .regex(Self.compile(knownValid: Self.emptyExpression))
        } else {
            matcher = .literal(Array(literal.unicodeScalars))
        }
    }

    /// A regular expression written in this package; failing to compile is a programming error.
    init(knownValidRegularExpression pattern: String) {
        matcher = .regex(Self.compile(knownValid: pattern))
    }

    private static func compile(knownValid pattern: String) -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: pattern)
        } catch {
            preconditionFailure("invalid built-in regular expression \(pattern): \(error)")
        }
    }

    /// A regular expression read from `field` (used in the error when it does not compile).
    init(regularExpression pattern: String, field: JSONField) throws {
        do {
            // Like Oniguruma's, ICU's ".", "^" and "$" then treat "\n" as the only line break.
            matcher = .regex(try NSRegularExpression(
                pattern: pattern.isEmpty ? Self.emptyExpression : Self.icuPattern(oniguruma: pattern),
                options: .useUnixLineSeparators))
        } catch {
            throw field.invalid("a regular expression ICU can compile (got \(pattern))")
        }
    }

    /// The ICU spelling of a pattern in Oniguruma's Ruby syntax.
    static func icuPattern(oniguruma pattern: String) -> String {
        let scalars = Array(pattern.unicodeScalars)
        var result = String.UnicodeScalarView()
        func append(_ text: String) { result.append(contentsOf: text.unicodeScalars) }
        var classDepth = 0
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            index += 1
            if scalar == "\\", let next {
                index += 1
                switch next {
                case "h": append(#"\p{AHex}"#)
                case "H": append(#"\P{AHex}"#)
                default: result.append(scalar); result.append(next)
                }
                continue
            }
            if classDepth > 0 {
                if scalar == "[" { classDepth += 1 } else if scalar == "]" { classDepth -= 1 }
                result.append(scalar)
                continue
            }
            switch scalar {
            case "[":
                classDepth = 1
                result.append(scalar)
                // A "]" first in the class (after an optional "^") is literal in both syntaxes.
                if index < scalars.count, scalars[index] == "^" { result.append("^"); index += 1 }
                if index < scalars.count, scalars[index] == "]" { result.append("]"); index += 1 }
            case "^": append("(?m:^)")
            case "$": append("(?m:$)")
            case "(" where next == "?":
                append("(?")
                index += 1
                // Ruby's m flag is ICU's s flag; Ruby anchors always work per line.
                while index < scalars.count, scalars[index] == "-" || scalars[index].properties.isAlphabetic {
                    result.append(scalars[index] == "m" ? "s" : scalars[index])
                    index += 1
                }
            default:
                result.append(scalar)
            }
        }
        return String(result)
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
        switch matcher {
        case .literal(let literal): return Self.matches(of: literal, in: text)
        case .regex(let regex): return Self.matches(of: regex, in: text)
        }
    }

    private static func matches(of literal: [Unicode.Scalar], in text: String) -> [Range<String.Index>] {
        let scalars = text.unicodeScalars
        var matches: [Range<String.Index>] = []
        var start = scalars.startIndex
        while start < scalars.endIndex {
            var end = start
            var matched = 0
            while matched < literal.count, end < scalars.endIndex, scalars[end] == literal[matched] {
                scalars.formIndex(after: &end)
                matched += 1
            }
            if matched == literal.count {
                matches.append(start..<end)
                start = end
            } else {
                scalars.formIndex(after: &start)
            }
        }
        return matches
    }

    private static func matches(of regex: NSRegularExpression, in text: String) -> [Range<String.Index>] {
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
        // String.append(contentsOf:) grows in place; UnicodeScalarView.append(contentsOf:) copies.
        var result = ""
        var copiedUpTo = text.startIndex
        for match in matches(in: text) {
            result.append(contentsOf: Substring(text.unicodeScalars[copiedUpTo..<match.lowerBound]))
            result.append(contentsOf: replacement)
            copiedUpTo = match.upperBound
        }
        result.append(contentsOf: Substring(text.unicodeScalars[copiedUpTo...]))
        return result
    }
}
