/// Rewrites text before it is split into words: Unicode normalization, lowercasing, prefixes, replacements.
protocol TextNormalizer: Sendable {
    func normalize(_ text: String) -> String
}

/// Reads the `normalizer` of a tokenizer.json file.
func makeNormalizer(_ json: JSONField) throws -> any TextNormalizer {
    let type = try json.componentType()
    switch type {
    case "Sequence":
        return NormalizerSequence(normalizers: try json.required("normalizers").array().map(makeNormalizer))
    case "NFC": return UnicodeNormalizer(form: .nfc)
    case "NFD": return UnicodeNormalizer(form: .nfd)
    case "NFKC": return UnicodeNormalizer(form: .nfkc)
    case "NFKD": return UnicodeNormalizer(form: .nfkd)
    case "Lowercase": return LowercaseNormalizer()
    case "StripAccents": return StripAccentsNormalizer()
    case "Prepend": return PrependNormalizer(prefix: try json.required("prepend").string())
    case "Replace":
        return ReplaceNormalizer(
            pattern: try TextPattern(json: json.required("pattern")), content: try json.required("content").string())
    case "BertNormalizer":
        return try BertNormalizer(json: json)
    case "Precompiled":
        return try PrecompiledNormalizer(json: json)
    case "Nmt":
        return NmtNormalizer()
    case "ByteLevel":
        return ByteLevelNormalizer()
    case "Strip":
        return StripNormalizer(
            left: try json.bool("strip_left", default: true), right: try json.bool("strip_right", default: true))
    default:
        throw json.unsupported(type)
    }
}

/// Applies normalizers one after the other.
struct NormalizerSequence: TextNormalizer {
    let normalizers: [any TextNormalizer]

    func normalize(_ text: String) -> String {
        normalizers.reduce(text) { text, normalizer in normalizer.normalize(text) }
    }
}

/// Maps every scalar to its full lowercase mapping, one scalar at a time (no context-dependent
/// rules such as the final sigma), as Rust's `char::to_lowercase` does.
struct LowercaseNormalizer: TextNormalizer {
    func normalize(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            // One scalar at a time: UnicodeScalarView.append(contentsOf:) copies the whole view.
            for lowercase in scalar.properties.lowercaseMapping.unicodeScalars { result.append(lowercase) }
        }
        return String(result)
    }
}

/// Removes combining marks (general category M); usually follows NFD or NFKD. Marks newer than
/// the tokenizers library's Unicode 9.0 tables are kept, as the library keeps them.
struct StripAccentsNormalizer: TextNormalizer {
    func normalize(_ text: String) -> String {
        String(scalars: text.unicodeScalars.filter { scalar in
            if scalar.isNewerThanTheTokenizersLibraryTables { return true }
            switch scalar.generalCategoryInTheTokenizersLibrary {
            case .nonspacingMark, .spacingMark, .enclosingMark: return false
            default: return true
            }
        })
    }
}

/// Puts `prefix` in front of non-empty text (SentencePiece's "▁" before the first word).
struct PrependNormalizer: TextNormalizer {
    let prefix: String

    func normalize(_ text: String) -> String {
        text.isEmpty ? text : prefix + text
    }
}

/// Replaces every match of a pattern with fixed content.
struct ReplaceNormalizer: TextNormalizer {
    let pattern: TextPattern
    let content: String

    func normalize(_ text: String) -> String {
        pattern.replacingMatches(in: text, with: content)
    }
}

/// Removes leading and/or trailing whitespace.
struct StripNormalizer: TextNormalizer {
    let left: Bool
    let right: Bool

    func normalize(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        if left {
            while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        }
        if right {
            while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        }
        return String(scalars)
    }
}

/// The `Nmt` normalizer (SentencePiece's NMT clean-up): drops ASCII control characters and turns
/// tabs, line breaks, zero-width spaces and a few other separators into " ".
struct NmtNormalizer: TextNormalizer {
    func normalize(_ text: String) -> String {
        String(scalars: text.unicodeScalars.compactMap { scalar -> Unicode.Scalar? in
            switch scalar.value {
            case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x8F, 0x9F:
                return nil
            case 0x09, 0x0A, 0x0C, 0x0D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD:
                return " "
            default:
                return scalar
            }
        })
    }
}
