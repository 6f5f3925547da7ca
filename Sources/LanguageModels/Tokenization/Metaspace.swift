/// When Metaspace adds its replacement character ("▁") in front of a segment.
enum PrependScheme: String {
    /// Before every segment.
    case always
    /// Only before the segment at the start of the input (not after an added token).
    case first
    /// Never.
    case never
}

/// Reads the replacement character and prepend scheme shared by the Metaspace pre-tokenizer and decoder,
/// including the legacy `add_prefix_space` flag.
private func metaspaceSettings(_ json: JSONField) throws -> (replacement: Unicode.Scalar, scheme: PrependScheme) {
    let replacementField = try json.required("replacement")
    let replacementScalars = try replacementField.string().unicodeScalars
    guard replacementScalars.count == 1, let replacement = replacementScalars.first else {
        throw replacementField.invalid("a single character")
    }
    var scheme = PrependScheme.always
    if let schemeField = try json.member("prepend_scheme") {
        guard let declared = PrependScheme(rawValue: try schemeField.string()) else {
            throw schemeField.invalid("one of first, always, never")
        }
        scheme = declared
    }
    if try json.member("add_prefix_space")?.bool() == false {
        if try json.member("prepend_scheme") != nil && scheme != .never {
            throw json.invalid("consistent: add_prefix_space false requires prepend_scheme never")
        }
        scheme = .never
    }
    return (replacement, scheme)
}

/// The `Metaspace` pre-tokenizer (SentencePiece style): spaces become "▁", "▁" is prepended
/// according to the scheme, and with `split` every "▁" starts a new word.
struct MetaspacePreTokenizer: PreTokenizer {
    let replacement: Unicode.Scalar
    let prependScheme: PrependScheme
    let split: Bool

    init(json: JSONField) throws {
        (replacement, prependScheme) = try metaspaceSettings(json)
        split = try json.bool("split", default: true)
    }

    func preTokenize(_ segment: TextSegment) -> [TextSegment] {
        var scalars = String.UnicodeScalarView()
        let prepend = switch prependScheme {
        case .always: true
        case .first: segment.startsInput
        case .never: false
        }
        if prepend && segment.text.unicodeScalars.first != " " && segment.text.unicodeScalars.first != replacement {
            scalars.append(replacement)
        }
        for scalar in segment.text.unicodeScalars { scalars.append(scalar == " " ? replacement : scalar) }
        let replaced = TextSegment(text: String(scalars), startsInput: segment.startsInput)
        guard split else { return [replaced] }

        let view = replaced.text.unicodeScalars
        let delimiters = view.indices.filter { view[$0] == replacement }.map { $0..<view.index(after: $0) }
        return replaced.split(at: delimiters, behavior: .mergedWithNext)
    }
}

/// The `Metaspace` decoder: "▁" becomes a space, except in the first token when the pre-tokenizer
/// prepends one (there every "▁" is dropped, as in the tokenizers library).
struct MetaspaceDecoder: TokenDecoder {
    let replacement: Unicode.Scalar
    let prependScheme: PrependScheme

    init(json: JSONField) throws {
        (replacement, prependScheme) = try metaspaceSettings(json)
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            let dropReplacement = index == 0 && prependScheme != .never
            return String(scalars: token.unicodeScalars.compactMap { scalar -> Unicode.Scalar? in
                guard scalar == replacement else { return scalar }
                return dropReplacement ? nil : " "
            })
        }
    }
}
