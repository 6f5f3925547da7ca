/// The `WordLevel` model: each word is one vocabulary entry, or the unknown token.
struct WordLevelModel: TokenizationModel {
    let vocabulary: Vocabulary
    let unknownToken: String

    init(json: JSONField) throws {
        vocabulary = try Vocabulary(json: json.required("vocab"))
        unknownToken = try json.string("unk_token") ?? "<unk>"
    }

    func tokenize(_ word: String) throws -> [Int] {
        if let id = vocabulary.id(of: word) { return [id] }
        guard let unknownID = vocabulary.id(of: unknownToken) else {
            throw TokenizerError.unknownTokenMissing(token: word)
        }
        return [unknownID]
    }
}
