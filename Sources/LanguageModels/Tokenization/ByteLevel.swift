/// GPT-2's reversible map between the 256 byte values and printable Unicode scalars: printable
/// Latin-1 bytes stand for themselves, the others (controls, space, ...) for U+0100 onwards,
/// so that the space byte reads "Ġ" and the newline "Ċ".
enum ByteLevelAlphabet {
    /// The scalar standing for each byte value.
    static let scalarForByte: [Unicode.Scalar] = {
        var scalars = [Unicode.Scalar](repeating: " ", count: 256)
        var nextSubstitute: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                scalars[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                scalars[byte] = Unicode.Scalar(nextSubstitute)!
                nextSubstitute += 1
            }
        }
        return scalars
    }()

    /// The byte each scalar of the alphabet stands for.
    static let byteForScalar: [Unicode.Scalar: UInt8] = Dictionary(
        uniqueKeysWithValues: scalarForByte.enumerated().map { byte, scalar in (scalar, UInt8(byte)) })

    /// The UTF-8 bytes of `text` spelled with the alphabet.
    static func encode(_ text: String) -> String {
        String(scalars: text.utf8.lazy.map { scalarForByte[Int($0)] })
    }

    /// The bytes `token` spells, or nil when it has a scalar outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        for scalar in token.unicodeScalars {
            guard let byte = byteForScalar[scalar] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}

/// The `ByteLevel` pre-tokenizer: optionally adds a leading space, optionally splits with the GPT-2
/// regular expression, then spells every word's UTF-8 bytes with ``ByteLevelAlphabet``.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool

    static let gpt2Pattern = TextPattern(
        knownValidRegularExpression: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#)

    func preTokenize(_ segment: TextSegment) -> [TextSegment] {
        var segment = segment
        if addPrefixSpace && !segment.text.startsWithScalar(" ") {
            segment.text = " " + segment.text
        }
        let words = useRegex
            ? segment.split(at: Self.gpt2Pattern.matches(in: segment.text), behavior: .isolated)
            : [segment]
        return words.map { TextSegment(text: ByteLevelAlphabet.encode($0.text), startsInput: $0.startsInput) }
    }
}

/// The `ByteLevel` decoder: turns the tokens back into bytes and reads them as UTF-8, with U+FFFD
/// for invalid sequences. A token with a scalar outside the alphabet (an added token such as
/// "<|im_start|>" may have one) contributes its own UTF-8 bytes.
struct ByteLevelDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for token in tokens {
            bytes += ByteLevelAlphabet.bytes(of: token) ?? Array(token.utf8)
        }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

/// The `ByteLevel` normalizer: spells the UTF-8 bytes of the text with ``ByteLevelAlphabet``
/// (the ByteLevel pre-tokenizer's mapping, without its prefix space and splitting).
struct ByteLevelNormalizer: TextNormalizer {
    func normalize(_ text: String) -> String {
        ByteLevelAlphabet.encode(text)
    }
}
