/// Turns text into token ids and back.
///
/// Load one from a Hugging Face model directory with ``loadTokenizer(from:)``:
///
/// ```swift
/// let tokenizer = try loadTokenizer(from: URL(fileURLWithPath: "models/gpt2"))
/// let ids = try tokenizer.encode("Hello world", addSpecialTokens: true)
/// let text = tokenizer.decode(ids, skipSpecialTokens: true)
/// ```
public protocol Tokenizer: Sendable {
    /// The ids of `text`; with `addSpecialTokens` the post-processor's special tokens (such as
    /// Llama's BOS) are added around them.
    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int]

    /// The text of `ids`; with `skipSpecialTokens` special tokens (BOS, EOS, padding, ...) are left out.
    /// Ids outside the vocabulary are ignored.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String

    /// The id of a token given as it is spelled in the vocabulary (for byte-level BPE, "Ġworld"
    /// rather than " world"), or nil when it is not in the vocabulary.
    func tokenToID(_ token: String) -> Int?

    /// The vocabulary entry of `id`, or nil when no token has this id.
    func idToToken(_ id: Int) -> String?

    /// The number of distinct token ids, added tokens included.
    var vocabularySize: Int { get }

    /// The beginning-of-sequence token id, if the tokenizer has one.
    var bosTokenID: Int? { get }

    /// The end-of-sequence token id, if the tokenizer has one.
    var eosTokenID: Int? { get }

    /// The padding token id, if the tokenizer has one.
    var padTokenID: Int? { get }
}

extension Tokenizer {
    /// The ids of `text` with the post-processor's special tokens added.
    public func encode(_ text: String) throws -> [Int] {
        try encode(text, addSpecialTokens: true)
    }

    /// The text of `ids`, special tokens included.
    public func decode(_ ids: [Int]) -> String {
        decode(ids, skipSpecialTokens: false)
    }
}
