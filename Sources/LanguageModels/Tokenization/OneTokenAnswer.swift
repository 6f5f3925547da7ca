/// How errors explain an answer that must be one token but encodes to several: its pieces, and the spelling that
/// is one token when there is one. Task files (``TaskFile``'s answers) and command-line answers
/// (``LanguageModel/singleToken(_:)``) both explain it this way.
public enum OneTokenAnswer {
    /// `"\" the\" is 2 tokens [\"▁\", \"▁the\"], not one; \"the\" is one token \"▁the\""`: `text` (encoded to `ids`)
    /// with its pieces, and, when `text` with its leading whitespace removed or with a leading space added is one
    /// token, that spelling (tokenizers that mark word starts themselves, such as SentencePiece's `▁`, encode
    /// `" Mary"` as `["▁", "▁Mary"]`; byte-level ones need the space: `"Mary"` is `["M", "ary"]`).
    ///
    /// - Parameters:
    ///   - encode: the tokenizer's encoding of an answer (without special tokens).
    ///   - tokenName: a token id's vocabulary entry.
    public static func explanation(of text: String, ids: [Int], encode: (String) throws -> [Int],
                                   tokenName: (Int) -> String) -> String {
        var message = "\(quoted(text)) is \(ids.count) tokens [\(ids.map { quoted(tokenName($0)) }.joined(separator: ", "))], not one"
        let trimmed = String(text.drop(while: { $0.isWhitespace }))
        let alternative = trimmed == text ? " " + text : trimmed
        if !alternative.isEmpty, let spelled = try? encode(alternative), spelled.count == 1 {
            message += "; \(quoted(alternative)) is one token \(quoted(tokenName(spelled[0])))"
        }
        return message
    }

    /// `text` in double quotes with control characters escaped, as error messages show tokens and answers.
    public static func quoted(_ text: String) -> String {
        "\"" + text.unicodeScalars.map { $0.properties.generalCategory == .control ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }
}
