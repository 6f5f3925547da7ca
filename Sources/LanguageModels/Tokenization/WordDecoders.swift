/// The `WordPiece` decoder: pieces starting with the continuing-subword prefix ("##") are glued to
/// the previous one, the others are preceded by a space; with `cleanup`, the spaces the
/// tokenization put before punctuation and English contractions are removed from each token.
struct WordPieceDecoder: TokenDecoder {
    let prefix: String
    let cleanup: Bool

    init(json: JSONField) throws {
        prefix = try json.string("prefix") ?? "##"
        cleanup = try json.bool("cleanup", default: true)
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            var token = token
            if index > 0 {
                if token.utf8.starts(with: prefix.utf8) {
                    token = String(decoding: token.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                } else {
                    token = " " + token
                }
            }
            return cleanup ? TokenizationArtifacts.cleanUp(token) : token
        }
    }
}

/// The `BPEDecoder` (original BPE with an end-of-word suffix such as "</w>"): the suffix becomes a
/// space, except in the last token, where it is removed.
struct BPEDecoder: TokenDecoder {
    let suffix: TextPattern

    init(json: JSONField) throws {
        suffix = TextPattern(literal: try json.string("suffix") ?? "</w>")
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            suffix.replacingMatches(in: token, with: index == tokens.count - 1 ? "" : " ")
        }
    }
}

/// The `CTC` decoder (speech models' character vocabularies): repeated tokens collapse into one,
/// the padding token is removed and, with `cleanup`, the word delimiter becomes a space after the
/// WordPiece clean-up; tokens left empty are dropped.
struct CTCDecoder: TokenDecoder {
    let padToken: TextPattern
    let wordDelimiter: TextPattern
    let cleanup: Bool

    init(json: JSONField) throws {
        padToken = TextPattern(literal: try json.string("pad_token") ?? "<pad>")
        wordDelimiter = TextPattern(literal: try json.string("word_delimiter_token") ?? "|")
        cleanup = try json.bool("cleanup", default: true)
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        var decoded: [String] = []
        var previous: ExactString?
        for token in tokens {
            let exact = ExactString(token)
            defer { previous = exact }
            guard exact != previous else { continue }
            var text = padToken.replacingMatches(in: token, with: "")
            if cleanup {
                text = wordDelimiter.replacingMatches(in: TokenizationArtifacts.cleanUp(text), with: " ")
            }
            if !text.isEmpty { decoded.append(text) }
        }
        return decoded
    }
}

/// The clean-up shared by the WordPiece and CTC decoders (tokenizers' `wordpiece::cleanup`).
enum TokenizationArtifacts {
    /// Each replacement applies to the result of the previous one, in this order.
    private static let replacements: [(pattern: TextPattern, replacement: String)] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (TextPattern(literal: $0.0), $0.1) }

    static func cleanUp(_ text: String) -> String {
        replacements.reduce(text) { text, rule in rule.pattern.replacingMatches(in: text, with: rule.replacement) }
    }
}
