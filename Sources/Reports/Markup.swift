/// Escaping of user text (tokens, labels, titles, paragraphs) for HTML and SVG.
///
/// Every view passes its text through ``escape(_:)`` (the SVG writer does it for them), and shows tokens
/// with ``visibleToken(_:)`` so that whitespace and control characters can be seen.
///
/// ```swift
/// Markup.escape("<b> & \"x\"")        // "&lt;b&gt; &amp; &quot;x&quot;"
/// Markup.visibleToken(" the\n")       // "␣the↵"
/// ```
public enum Markup {
    /// Text safe inside an element or a quoted attribute of HTML or XML: `& < > " '` become entities, and
    /// the characters XML cannot carry (controls other than tab and newline, U+FFFE, U+FFFF) become a
    /// visible `\u{…}`.
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\t", "\n": result.unicodeScalars.append(scalar)
            default:
                if isForbiddenInXML(scalar) { result += codePoint(scalar) } else { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }

    /// A token as a reader should see it (not yet escaped): space `␣`, newline `↵`, tab `⇥`, carriage
    /// return `␍`, other control characters `\u{…}`, the empty token `∅`.
    public static func visibleToken(_ token: String) -> String {
        if token.isEmpty { return "∅" }
        var result = ""
        for scalar in token.unicodeScalars {
            switch scalar {
            case " ": result += "␣"
            case "\n": result += "↵"
            case "\t": result += "⇥"
            case "\r": result += "␍"
            default:
                if isForbiddenInXML(scalar) || scalar.properties.generalCategory == .control || scalar.properties.isWhitespace {
                    result += codePoint(scalar)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// `text` cut to at most `length` characters, ending in `…` when cut.
    public static func abbreviated(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(Swift.max(1, length - 1))) + "…"
    }

    static func isForbiddenInXML(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t" && scalar != "\n") || scalar.value == 0xFFFE || scalar.value == 0xFFFF
            || (0x7F...0x9F).contains(scalar.value)
    }

    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
    }
}
