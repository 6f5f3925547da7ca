import Foundation

/// A word-level vocabulary and the Hugging Face `tokenizer.json` (a `WordLevel` model) that encodes with it.
///
/// Ids: the special tokens first (`<pad>` 0, `<unk>` 1, `<bos>` 2 by default), then the words in sorted order.
/// The tokenizer splits text with the `Whitespace` pre-tokenizer (runs of word characters and runs of other
/// non-space characters: `"store, John"` -> `store` `,` `John`) or `WhitespaceSplit` (on spaces only), maps
/// unknown words to `<unk>` and, with a BOS token, prepends it (a `TemplateProcessing` post-processor).
///
/// ```swift
/// let vocabulary = WordLevelVocabulary(corpus: sentences)
/// let ids = vocabulary.encode("When Mary and John went to the store")   // [2, ...]
/// try model.save(to: directory, configuration: configuration, tokenizer: vocabulary.tokenizerFiles)
/// ```
///
/// ``encode(_:addingBOS:)`` gives the ids the `tokenizers` library gives with the generated file, for ASCII
/// text (`scripts/check_exported_checkpoint.py` checks this against `tokenizers` and `AutoTokenizer`).
public struct WordLevelVocabulary: Sendable, Equatable {
    /// How text is split into words.
    public enum Splitting: String, Sendable, CaseIterable {
        /// `\w+|[^\w\s]+`: punctuation is separated from words (the `Whitespace` pre-tokenizer).
        case whitespace = "Whitespace"
        /// Split on white space only (the `WhitespaceSplit` pre-tokenizer).
        case whitespaceSplit = "WhitespaceSplit"
    }

    /// Token strings by id.
    public let tokens: [String]
    public let splitting: Splitting
    public let padToken: String
    public let unknownToken: String
    /// Prepended to every encoded text when present.
    public let bosToken: String?
    private let ids: [String: Int]

    /// A vocabulary of `words` (duplicates and special-token spellings ignored) after the special tokens.
    public init(words: some Sequence<String>, splitting: Splitting = .whitespace, padToken: String = "<pad>",
                unknownToken: String = "<unk>", bosToken: String? = "<bos>") {
        let specials = [padToken, unknownToken] + (bosToken.map { [$0] } ?? [])
        precondition(Set(specials).count == specials.count, "special tokens must differ: \(specials)")
        let regular = Set(words).subtracting(specials).sorted()
        tokens = specials + regular
        ids = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        self.splitting = splitting
        self.padToken = padToken
        self.unknownToken = unknownToken
        self.bosToken = bosToken
    }

    /// A vocabulary of every word of `corpus`.
    public init(corpus: [String], splitting: Splitting = .whitespace, padToken: String = "<pad>",
                unknownToken: String = "<unk>", bosToken: String? = "<bos>") {
        self.init(words: corpus.flatMap { Self.words(in: $0, splitting: splitting) }, splitting: splitting,
                  padToken: padToken, unknownToken: unknownToken, bosToken: bosToken)
    }

    public var count: Int { tokens.count }
    public var padID: Int { ids[padToken]! }
    public var unknownID: Int { ids[unknownToken]! }
    public var bosID: Int? { bosToken.map { ids[$0]! } }

    /// The id of a token, or nil when it is not in the vocabulary.
    public func id(of token: String) -> Int? { ids[token] }

    /// The words of `text` as the pre-tokenizer splits it.
    public static func words(in text: String, splitting: Splitting = .whitespace) -> [String] {
        enum Kind { case space, word, other }
        func kind(_ c: Character) -> Kind {
            if c.isWhitespace { return .space }
            if splitting == .whitespaceSplit { return .word }
            return c.isLetter || c.isNumber || c == "_" ? .word : .other
        }
        var words: [String] = [], current = "", currentKind = Kind.space
        for c in text {
            let k = kind(c)
            if k != currentKind, !current.isEmpty {
                words.append(current)
                current = ""
            }
            if k != .space { current.append(c) }
            currentKind = k
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The ids of `text`: BOS (when the vocabulary has one and `addingBOS`), then one id per word, `<unk>` for
    /// unknown words.
    public func encode(_ text: String, addingBOS: Bool = true) -> [Int] {
        let prefix = addingBOS ? (bosID.map { [$0] } ?? []) : []
        return prefix + Self.words(in: text, splitting: splitting).map { ids[$0] ?? unknownID }
    }

    /// The tokens of `ids` joined by spaces (what the tokenizer decodes without a decoder); special tokens
    /// are left out when `skippingSpecialTokens`.
    public func decode(_ ids: [Int], skippingSpecialTokens: Bool = true) -> String {
        let specials = Set([padToken, unknownToken] + (bosToken.map { [$0] } ?? []))
        return ids.compactMap { tokens.indices.contains($0) ? tokens[$0] : nil }
            .filter { !skippingSpecialTokens || !specials.contains($0) }
            .joined(separator: " ")
    }

    /// The `tokenizer.json` contents.
    public func tokenizerJSON() -> String {
        let specials = [padToken, unknownToken] + (bosToken.map { [$0] } ?? [])
        let addedTokens: [[String: Any]] = specials.map { token in
            ["id": ids[token]!, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true]
        }
        var postProcessor: Any = NSNull()
        if let bosToken, let bosID {
            let bos: [String: Any] = ["SpecialToken": ["id": bosToken, "type_id": 0]]
            func sequence(_ id: String, _ type: Int) -> [String: Any] { ["Sequence": ["id": id, "type_id": type]] }
            postProcessor = [
                "type": "TemplateProcessing",
                "single": [bos, sequence("A", 0)],
                "pair": [bos, sequence("A", 0), sequence("B", 1)],
                "special_tokens": [bosToken: ["id": bosToken, "ids": [bosID], "tokens": [bosToken]]],
            ] as [String: Any]
        }
        let file: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": addedTokens,
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": splitting.rawValue],
            "post_processor": postProcessor,
            "decoder": NSNull(),
            "model": ["type": "WordLevel", "vocab": ids, "unk_token": unknownToken] as [String: Any],
        ]
        return Self.json(file)
    }

    /// The `tokenizer_config.json` contents: the special tokens, for transformers' `AutoTokenizer`.
    public func tokenizerConfigJSON() -> String {
        var file: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "pad_token": padToken, "unk_token": unknownToken,
            "clean_up_tokenization_spaces": false,
        ]
        if let bosToken { file["bos_token"] = bosToken }
        return Self.json(file)
    }

    /// Both files, ready for ``TransformerModel/save(to:configuration:tokenizer:dtype:)``.
    public var tokenizerFiles: TokenizerFiles {
        TokenizerFiles(tokenizerJSON: tokenizerJSON(), tokenizerConfigJSON: tokenizerConfigJSON())
    }

    private static func json(_ object: Any) -> String {
        // Dictionaries of strings, numbers, booleans and nulls always serialize.
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
