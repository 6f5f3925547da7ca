/// The part of a tokenizer that turns one word into token ids (BPE, Unigram, WordPiece, WordLevel).
protocol TokenizationModel: Sendable {
    /// The ids of `word`, a non-empty piece produced by the pre-tokenizer.
    func tokenize(_ word: String) throws -> [Int]
    /// The model's own vocabulary (added tokens not included).
    var vocabulary: Vocabulary { get }
}

/// Reads the `model` of a tokenizer.json file.
func makeModel(_ json: JSONField) throws -> any TokenizationModel {
    let type = try json.componentType()
    switch type {
    case "BPE": return try BPEModel(json: json)
    case "WordLevel": return try WordLevelModel(json: json)
    case "WordPiece": return try WordPieceModel(json: json)
    case "Unigram": return try UnigramModel(json: json)
    default: throw json.unsupported(type)
    }
}

/// A model's token <-> id tables, keyed by exact spelling.
struct Vocabulary: Sendable {
    let idsByToken: [ExactString: Int]
    let tokensByID: [Int: String]
    /// The number of entries, as the tokenizers library counts them (repeated entries included).
    let count: Int

    /// Reads a `{"token": id, ...}` object.
    init(json: JSONField) throws {
        let entries = try json.tokenIDMembers()
        var idsByToken: [ExactString: Int] = [:]
        var tokensByID: [Int: String] = [:]
        idsByToken.reserveCapacity(entries.count)
        tokensByID.reserveCapacity(entries.count)
        for (token, id) in entries {
            idsByToken[ExactString(token)] = id
            tokensByID[id] = token
        }
        self.idsByToken = idsByToken
        self.tokensByID = tokensByID
        count = idsByToken.count
    }

    /// A vocabulary whose ids are the positions in `tokens`; a repeated token keeps its last id.
    init(tokens: [String]) {
        var idsByToken: [ExactString: Int] = [:]
        idsByToken.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { idsByToken[ExactString(token)] = id }
        self.idsByToken = idsByToken
        tokensByID = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($0.offset, $0.element) })
        count = tokens.count
    }



    func id(of token: String) -> Int? { idsByToken[ExactString(token)] }

    func token(of id: Int) -> String? { tokensByID[id] }
}
