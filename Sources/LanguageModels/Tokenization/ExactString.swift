/// A string compared and hashed by its exact UTF-8 bytes.
///
/// Swift's `String` equality follows canonical equivalence (`"é" == "e\u{301}"`), but a vocabulary
/// maps spellings: Hugging Face tokenizers keep the precomposed and decomposed forms apart, and so
/// must every dictionary keyed by token text.
struct ExactString: Hashable, Sendable {
    let string: String

    init(_ string: String) {
        self.string = string
    }

    static func == (lhs: ExactString, rhs: ExactString) -> Bool {
        let (left, right) = (lhs.string.utf8, rhs.string.utf8)
        guard left.count == right.count else { return false }
        let equalContiguousBytes = left.withContiguousStorageIfAvailable { leftBytes in
            right.withContiguousStorageIfAvailable { rightBytes in leftBytes.elementsEqual(rightBytes) }
        }
        return (equalContiguousBytes ?? nil) ?? left.elementsEqual(right)
    }

    func hash(into hasher: inout Hasher) {
        let hashedContiguousBytes: Void? = string.utf8.withContiguousStorageIfAvailable { bytes in
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
        if hashedContiguousBytes == nil {
            for byte in string.utf8 { hasher.combine(byte) }
        }
    }
}

extension Unicode.Scalar {
    /// Whether the scalar has the Unicode White_Space property (Rust's `char::is_whitespace`, regex `\s`).
    var isWhitespace: Bool { properties.isWhitespace }

    /// Whether the scalar is a word character in the Unicode sense of regex `\w`
    /// (alphabetic, mark, decimal digit, connector punctuation or join control).
    var isWordCharacter: Bool {
        if properties.isAlphabetic || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }
}

extension String {
    /// A string made of `scalars`.
    init<Scalars: Sequence>(scalars: Scalars) where Scalars.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        // One scalar at a time: UnicodeScalarView.append(contentsOf:) copies the whole view.
        for scalar in scalars { view.append(scalar) }
        self.init(view)
    }

    /// Whether the first Unicode scalar (not the first grapheme cluster) is `scalar`.
    func startsWithScalar(_ scalar: Unicode.Scalar) -> Bool {
        unicodeScalars.first == scalar
    }
}
