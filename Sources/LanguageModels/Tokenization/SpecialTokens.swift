/// The BOS, EOS and PAD ids of a tokenizer.
///
/// Each comes from tokenizer_config.json when that file names it (`"bos_token": "<s>"` or
/// `{"content": "<s>", ...}`; null means the tokenizer has none). Otherwise it falls back to the
/// special tokens the post-processor puts before (BOS) and after (EOS) the text, the padding
/// token of tokenizer.json (PAD), and finally to special added tokens with the usual names.
/// A name that is not in the vocabulary gives nil.
struct SpecialTokenIDs {
    let bos: Int?
    let eos: Int?
    let pad: Int?

    init(
        config: JSONField?, padding: JSONField?, addedTokens: [AddedToken], postProcessor: (any PostProcessor)?,
        idOfToken: (String) -> Int?
    ) throws {
        func configured(_ key: String, otherwise fallback: () throws -> Int?) throws -> Int? {
            guard let config, let object = config.value as? [String: Any], object[key] != nil else {
                return try fallback()
            }
            guard let field = try config.member(key) else { return nil }
            if let content = field.value as? String { return idOfToken(content) }
            guard field.value is [String: Any] else {
                throw field.invalid(#"a token string or an object with "content""#)
            }
            return idOfToken(try field.required("content").string())
        }
        func specialToken(named names: [String]) -> Int? {
            for name in names {
                if let token = addedTokens.first(where: { $0.special && $0.content == name }) { return token.id }
            }
            return nil
        }
        let surrounding = postProcessor?.surroundingIDs
        bos = try configured("bos_token") {
            surrounding?.before.first
                ?? specialToken(named: ["<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>", "<|endoftext|>"])
        }
        eos = try configured("eos_token") {
            surrounding?.after.last ?? specialToken(named: ["</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>"])
        }
        pad = try configured("pad_token") {
            try padding?.member("pad_id")?.int() ?? specialToken(named: ["<pad>", "[PAD]", "<|pad|>"])
        }
    }
}
