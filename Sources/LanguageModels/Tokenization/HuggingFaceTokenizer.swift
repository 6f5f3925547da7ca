import Foundation

/// Loads the tokenizer of a Hugging Face model directory: `tokenizer.json`, plus
/// `tokenizer_config.json` when present for the BOS/EOS/PAD tokens.
///
/// ```swift
/// let tokenizer = try loadTokenizer(from: URL(fileURLWithPath: "models/TinyLlama"))
/// try tokenizer.encode("Hello")  // [1, 15043]: BOS, then "▁Hello"
/// ```
public func loadTokenizer(from directory: URL) throws -> any Tokenizer {
    try HuggingFaceTokenizer(directory: directory)
}

/// A tokenizer described by a Hugging Face `tokenizer.json` file: added tokens, normalizer,
/// pre-tokenizer, model (byte-level or SentencePiece-style BPE, Unigram, WordPiece, WordLevel),
/// post-processor and decoder, composed as in the tokenizers library, whose ids it reproduces.
/// Every component type of the library loads; a `type` it does not know is refused with an error
/// naming its JSON path.
public struct HuggingFaceTokenizer: Tokenizer {
    private let addedVocabulary: AddedVocabulary
    private let preTokenizer: (any PreTokenizer)?
    private let model: any TokenizationModel
    private let postProcessor: (any PostProcessor)?
    private let decoder: (any TokenDecoder)?
    public let vocabularySize: Int
    public private(set) var bosTokenID: Int?
    public private(set) var eosTokenID: Int?
    public private(set) var padTokenID: Int?

    /// Reads `tokenizer.json` and, if present, `tokenizer_config.json` from `directory`.
    public init(directory: URL) throws {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw TokenizerError.missingFile(path: tokenizerURL.path)
        }
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let configData = FileManager.default.fileExists(atPath: configURL.path) ? try Data(contentsOf: configURL) : nil
        try self.init(tokenizerJSON: Data(contentsOf: tokenizerURL), tokenizerConfigJSON: configData)
    }

    /// Builds a tokenizer from the contents of `tokenizer.json` and, optionally, `tokenizer_config.json`.
    public init(tokenizerJSON: Data, tokenizerConfigJSON: Data? = nil) throws {
        let json = try JSONField(parsing: tokenizerJSON, file: "tokenizer.json")
        let config = try tokenizerConfigJSON.map { try JSONField(parsing: $0, file: "tokenizer_config.json") }
        let normalizer = try json.member("normalizer").map(makeNormalizer)
        addedVocabulary = AddedVocabulary(
            tokens: try json.member("added_tokens")?.array().map(AddedToken.init(json:)) ?? [],
            normalizer: normalizer)
        preTokenizer = try json.member("pre_tokenizer").map(makePreTokenizer)
        model = try makeModel(json.required("model"))
        postProcessor = try json.member("post_processor").map(makePostProcessor)
        decoder = try json.member("decoder").map(makeDecoder)
        vocabularySize = model.vocabulary.count
            + addedVocabulary.tokens.filter { [model] in model.vocabulary.id(of: $0.content) == nil }.count

        let special = try SpecialTokenIDs(
            config: config, padding: json.member("padding"), addedTokens: addedVocabulary.tokens,
            postProcessor: postProcessor, idOfToken: tokenToID)
        bosTokenID = special.bos
        eosTokenID = special.eos
        padTokenID = special.pad
    }

    public func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        var ids: [Int] = []
        for piece in addedVocabulary.split(text) {
            switch piece {
            case .addedToken(let id):
                ids.append(id)
            case .text(let segment):
                for word in preTokenizer?.preTokenize(segment) ?? [segment] {
                    ids += try model.tokenize(word.text)
                }
            }
        }
        return postProcessor?.process(ids, addSpecialTokens: addSpecialTokens) ?? ids
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        let tokens = ids.compactMap(idToToken).filter { !skipSpecialTokens || !addedVocabulary.isSpecial($0) }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    public func tokenToID(_ token: String) -> Int? {
        addedVocabulary.id(of: token) ?? model.vocabulary.id(of: token)
    }

    public func idToToken(_ id: Int) -> String? {
        addedVocabulary.spelling(of: id) ?? model.vocabulary.token(of: id)
    }
}
