/// The `BertNormalizer` (BERT's basic clean-up), following the tokenizers library, in order:
/// `clean_text` drops NUL, U+FFFD and other-category scalars (controls, formats, private use;
/// not unassigned ones; tab, newline and carriage return excepted) and turns whitespace into " ";
/// `handle_chinese_chars` puts spaces around CJK ideographs; `strip_accents` (by default the
/// value of `lowercase`) decomposes (NFD) and drops non-spacing marks (of the library's Unicode 8.0
/// table); `lowercase` lowercases.
struct BertNormalizer: TextNormalizer {
    let cleanText: Bool
    let handleChineseCharacters: Bool
    let stripAccents: Bool
    let lowercase: Bool

    init(json: JSONField) throws {
        cleanText = try json.bool("clean_text", default: true)
        handleChineseCharacters = try json.bool("handle_chinese_chars", default: true)
        lowercase = try json.bool("lowercase", default: true)
        stripAccents = try json.member("strip_accents")?.bool() ?? lowercase
    }

    func normalize(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
                if scalar.isWhitespace {
                    scalars.append(" ")
                    continue
                }
            }
            if handleChineseCharacters && Self.isChineseCharacter(scalar) {
                scalars.append(" ")
                scalars.append(scalar)
                scalars.append(" ")
            } else {
                scalars.append(scalar)
            }
        }
        var result = String(scalars)
        if stripAccents {
            result = String(scalars: UnicodeNormalizer(form: .nfd).normalize(result).unicodeScalars.filter {
                !$0.isNonspacingMarkInTheTokenizersLibraryBertTable
            })
        }
        return lowercase ? LowercaseNormalizer().normalize(result) : result
    }

    /// General category C except unassigned (control, format, private use, surrogate), and except
    /// the tab, newline and carriage return, which count as whitespace.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks and their extensions (not Hangul, Hiragana or Katakana).
    private static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
