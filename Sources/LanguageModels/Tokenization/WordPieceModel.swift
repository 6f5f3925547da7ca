/// The `WordPiece` model (BERT), following the tokenizers library: a word is cut greedily into the
/// longest vocabulary entries from the left, every piece after the first spelled with the
/// continuing-subword prefix ("##"). A word that cannot be cut this way, or that has more than
/// `max_input_chars_per_word` Unicode scalars, becomes the unknown token as a whole.
struct WordPieceModel: TokenizationModel {
    let vocabulary: Vocabulary
    private let unknownToken: String
    private let continuingSubwordPrefix: String
    private let maximumInputScalarsPerWord: Int

    init(json: JSONField) throws {
        vocabulary = try Vocabulary(json: json.required("vocab"))
        unknownToken = try json.string("unk_token") ?? "[UNK]"
        continuingSubwordPrefix = try json.string("continuing_subword_prefix") ?? "##"
        maximumInputScalarsPerWord = try json.int("max_input_chars_per_word", default: 100)
        if maximumInputScalarsPerWord < 0 {
            throw try json.required("max_input_chars_per_word").invalid("a non-negative integer")
        }
    }

    func tokenize(_ word: String) throws -> [Int] {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count <= maximumInputScalarsPerWord else { return [try unknownID(for: word)] }
        var ids: [Int] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int?
            while start < end {
                var piece = String(scalars: scalars[start..<end])
                if start > 0 { piece = continuingSubwordPrefix + piece }
                if let id = vocabulary.id(of: piece) {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [try unknownID(for: word)] }
            ids.append(id)
            start = end
        }
        return ids
    }

    private func unknownID(for word: String) throws -> Int {
        guard let id = vocabulary.id(of: unknownToken) else { throw TokenizerError.unknownTokenMissing(token: word) }
        return id
    }
}
