/// The `Unigram` model (SentencePiece unigram language model), following the tokenizers library:
/// a word is cut into the vocabulary pieces whose scores (log probabilities) sum highest, found by
/// Viterbi over every piece starting at every scalar. A scalar no piece covers costs the lowest
/// score minus 10 and becomes the unknown piece; adjacent unknown scalars are fused into one.
/// Unknown text becomes its "<0xHH>" byte pieces with `byte_fallback`, or the unknown id.
struct UnigramModel: TokenizationModel {
    let vocabulary: Vocabulary
    private let scores: [Double]
    private let unknownID: Int?
    private let byteFallback: Bool
    private let pieces: ByteTrie
    /// The score of an unknown scalar (sentencepiece's `kUnkPenalty` below the lowest score).
    private let unknownScore: Double
    private let cache = WordCache()

    init(json: JSONField) throws {
        var tokens: [String] = []
        var scores: [Double] = []
        var pieces = ByteTrie()
        for entry in try json.required("vocab").array() {
            let pair = try entry.array()
            guard pair.count == 2 else { throw entry.invalid(#"a pair ["piece", score]"#) }
            let token = try pair[0].string()
            pieces.insert(token, value: Int32(tokens.count))
            tokens.append(token)
            scores.append(try pair[1].double())
        }
        vocabulary = Vocabulary(tokens: tokens)
        self.scores = scores
        self.pieces = pieces
        unknownScore = (scores.min() ?? .infinity) - 10
        byteFallback = try json.bool("byte_fallback", default: false)
        if let unknownField = try json.member("unk_id") {
            let id = try unknownField.int()
            guard (0..<tokens.count).contains(id) else {
                throw unknownField.invalid("the index of an entry of model.vocab (it has \(tokens.count))")
            }
            unknownID = id
        } else {
            unknownID = nil
        }
    }

    func tokenize(_ word: String) throws -> [Int] {
        if word.isEmpty { return [] }
        let key = ExactString(word)
        if let ids = cache.ids(of: key) { return ids }
        var ids: [Int] = []
        for piece in try bestPieces(of: word) {
            if let id = vocabulary.id(of: piece) {
                ids.append(id)
            } else if byteFallback, let byteIDs = byteTokenIDs(of: piece) {
                ids += byteIDs
            } else if let unknownID {
                ids.append(unknownID)
            } else {
                throw TokenizerError.unknownTokenMissing(token: piece)
            }
        }
        cache.remember(ids, of: key)
        return ids
    }

    /// The pieces of the best segmentation of `word` (tokenizers' `Unigram::encode_optimized`);
    /// runs of unknown pieces are fused into one.
    private func bestPieces(of word: String) throws -> [String] {
        let bytes = Array(word.utf8)
        // For each byte offset, the best path ending there: its score, the start and id of its last piece.
        var bestScore = [Double](repeating: 0, count: bytes.count + 1)
        var lastStart = [Int](repeating: -1, count: bytes.count + 1)
        var lastID = [Int](repeating: 0, count: bytes.count + 1)
        func offer(end: Int, start: Int, id: Int, score: Double) {
            if lastStart[end] < 0 || score > bestScore[end] {
                bestScore[end] = score
                lastStart[end] = start
                lastID[end] = id
            }
        }
        var start = 0
        while start < bytes.count {
            let scoreHere = bestScore[start]
            let scalarLength = UTF8.width(leadByte: bytes[start])
            var hasSingleScalarPiece = false
            pieces.forEachKey(in: bytes, startingAt: start) { end, id in
                offer(end: end, start: start, id: Int(id), score: scores[Int(id)] + scoreHere)
                if end - start == scalarLength { hasSingleScalarPiece = true }
            }
            if !hasSingleScalarPiece {
                let end = start + scalarLength
                if lastStart[end] < 0 || unknownScore + scoreHere > bestScore[end] {
                    guard let unknownID else {
                        throw TokenizerError.unknownTokenMissing(
                            token: String(decoding: bytes[start..<end], as: UTF8.self))
                    }
                    offer(end: end, start: start, id: unknownID, score: unknownScore + scoreHere)
                }
            }
            start += scalarLength
        }

        var pieceRanges: [Range<Int>] = []
        var end = bytes.count
        var fusedUnknownEnd: Int?
        while end > 0 {
            let start = lastStart[end]
            if lastID[end] == unknownID {
                if fusedUnknownEnd == nil { fusedUnknownEnd = end }
            } else {
                if let fusedEnd = fusedUnknownEnd { pieceRanges.append(end..<fusedEnd) }
                fusedUnknownEnd = nil
                pieceRanges.append(start..<end)
            }
            end = start
        }
        if let fusedEnd = fusedUnknownEnd { pieceRanges.append(0..<fusedEnd) }
        return pieceRanges.reversed().map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    /// The ids of the "<0xHH>" pieces of every byte of `piece`, or nil if one is missing.
    private func byteTokenIDs(of piece: String) -> [Int]? {
        var ids: [Int] = []
        for byte in piece.utf8 {
            guard let id = vocabulary.id(of: ByteFallbackDecoder.token(spelling: byte)) else { return nil }
            ids.append(id)
        }
        return ids
    }
}

extension UTF8 {
    /// The number of bytes of the scalar whose encoding starts with `leadByte` (valid UTF-8).
    static func width(leadByte: UInt8) -> Int {
        if leadByte < 0x80 { return 1 }
        if leadByte < 0xE0 { return 2 }
        if leadByte < 0xF0 { return 3 }
        return 4
    }
}
