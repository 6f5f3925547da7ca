/// Turns the vocabulary spellings of tokens back into text. Each decoder maps the list of token
/// strings to a new list; the tokenizer joins the final list.
protocol TokenDecoder: Sendable {
    func decodeChain(_ tokens: [String]) -> [String]
}

/// Reads the `decoder` of a tokenizer.json file.
func makeDecoder(_ json: JSONField) throws -> any TokenDecoder {
    let type = try json.componentType()
    switch type {
    case "Sequence":
        return DecoderSequence(decoders: try json.required("decoders").array().map(makeDecoder))
    case "ByteLevel":
        return ByteLevelDecoder()
    case "Metaspace":
        return try MetaspaceDecoder(json: json)
    case "Replace":
        return ReplaceDecoder(
            pattern: try TextPattern(json: json.required("pattern")), content: try json.required("content").string())
    case "ByteFallback":
        return ByteFallbackDecoder()
    case "Fuse":
        return FuseDecoder()
    case "WordPiece":
        return try WordPieceDecoder(json: json)
    case "BPEDecoder":
        return try BPEDecoder(json: json)
    case "CTC":
        return try CTCDecoder(json: json)
    case "Strip":
        let contentField = try json.required("content")
        let content = try contentField.string().unicodeScalars
        guard content.count == 1, let scalar = content.first else { throw contentField.invalid("a single character") }
        return StripDecoder(
            content: scalar, start: try json.int("start", default: 0), stop: try json.int("stop", default: 0))
    default:
        throw json.unsupported(type)
    }
}

/// Applies decoders one after the other.
struct DecoderSequence: TokenDecoder {
    let decoders: [any TokenDecoder]

    func decodeChain(_ tokens: [String]) -> [String] {
        decoders.reduce(tokens) { tokens, decoder in decoder.decodeChain(tokens) }
    }
}

/// Replaces every match of a pattern in each token (SentencePiece's "▁" back to " ").
struct ReplaceDecoder: TokenDecoder {
    let pattern: TextPattern
    let content: String

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { pattern.replacingMatches(in: $0, with: content) }
    }
}

/// Turns runs of byte tokens ("<0xE2>", "<0x98>", "<0x83>") into the text they spell; a run that
/// is not valid UTF-8 becomes one U+FFFD per byte.
struct ByteFallbackDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var decoded: [String] = []
        var pendingBytes: [UInt8] = []
        func flush() {
            guard !pendingBytes.isEmpty else { return }
            let text = String(decoding: pendingBytes, as: UTF8.self)
            if text.utf8.elementsEqual(pendingBytes) {
                decoded.append(text)
            } else {
                decoded += Array(repeating: "\u{FFFD}", count: pendingBytes.count)
            }
            pendingBytes.removeAll()
        }
        for token in tokens {
            if let byte = Self.byte(spelledBy: token) {
                pendingBytes.append(byte)
            } else {
                flush()
                decoded.append(token)
            }
        }
        flush()
        return decoded
    }

    /// The "<0xHH>" token of `byte` (two upper-case hexadecimal digits).
    static func token(spelling byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x\(byte < 16 ? "0" : "")\(hex)>"
    }

    /// The byte of a "<0xHH>" token.
    static func byte(spelledBy token: String) -> UInt8? {
        let utf8 = token.utf8
        guard utf8.count == 6, utf8.starts(with: "<0x".utf8), utf8.last == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: utf8.dropFirst(3).prefix(2), as: UTF8.self), radix: 16)
    }
}

/// Joins all tokens into one.
struct FuseDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        [tokens.joined()]
    }
}

/// Removes up to `start` leading and `stop` trailing occurrences of a character from each token.
struct StripDecoder: TokenDecoder {
    let content: Unicode.Scalar
    let start: Int
    let stop: Int

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { token in
            let scalars = Array(token.unicodeScalars)
            var lower = 0
            while lower < min(start, scalars.count), scalars[lower] == content { lower += 1 }
            var upper = scalars.count
            while scalars.count - upper < stop, upper > lower, scalars[upper - 1] == content { upper -= 1 }
            return String(scalars: scalars[lower..<upper])
        }
    }
}
