/// The tokenizer files written next to a model: `tokenizer.json` and, optionally, `tokenizer_config.json`.
public struct TokenizerFiles: Sendable, Equatable {
    /// The contents of `tokenizer.json`.
    public var tokenizerJSON: String
    /// The contents of `tokenizer_config.json` (names the special tokens for transformers' `AutoTokenizer`).
    public var tokenizerConfigJSON: String?

    public init(tokenizerJSON: String, tokenizerConfigJSON: String? = nil) {
        self.tokenizerJSON = tokenizerJSON
        self.tokenizerConfigJSON = tokenizerConfigJSON
    }
}
