/// The byte-pair-encoding model, following the `BPE` model of the tokenizers library: a word
/// starts as one symbol per Unicode scalar (unknown scalars become byte tokens "<0xHH>" with
/// `byte_fallback`, or the unknown token) and adjacent symbols are merged, lowest merge rank
/// first, until no listed merge applies.
struct BPEModel: TokenizationModel {
    let vocabulary: Vocabulary
    /// For each mergeable pair of ids, its rank and the id of the merged token.
    private let merges: [SymbolPair: MergeRule]
    private let unknownToken: String?
    private let continuingSubwordPrefix: String?
    private let endOfWordSuffix: String?
    private let fuseUnknown: Bool
    private let byteFallback: Bool
    /// Whether a word found whole in the vocabulary skips the merges (Llama-3).
    private let ignoreMerges: Bool
    private let cache = WordCache()

    init(json: JSONField) throws {
        vocabulary = try Vocabulary(json: json.required("vocab"))
        unknownToken = try json.string("unk_token")
        continuingSubwordPrefix = try json.string("continuing_subword_prefix").flatMap { $0.isEmpty ? nil : $0 }
        endOfWordSuffix = try json.string("end_of_word_suffix").flatMap { $0.isEmpty ? nil : $0 }
        fuseUnknown = try json.bool("fuse_unk", default: false)
        byteFallback = try json.bool("byte_fallback", default: false)
        ignoreMerges = try json.bool("ignore_merges", default: false)
        if let dropout = try json.member("dropout"), try dropout.double() != 0 {
            // The tokenizers library skips each merge at random with this probability when encoding.
            throw dropout.invalid("null or 0 (with BPE dropout the tokenizers library encodes at random)")
        }
        merges = try Self.readMerges(json.required("merges"), vocabulary: vocabulary, prefix: continuingSubwordPrefix)
    }

    /// Reads merges given as "a b" strings or as ["a", "b"] pairs; a merge's rank is its position.
    private static func readMerges(
        _ json: JSONField, vocabulary: Vocabulary, prefix: String?
    ) throws -> [SymbolPair: MergeRule] {
        var merges: [SymbolPair: MergeRule] = [:]
        var rank: Int32 = 0
        for entry in try json.array() {
            let parts: [String]
            if let line = entry.value as? String {
                if line.utf8.starts(with: "#version".utf8) { continue }
                parts = line.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
                    .map { String(decoding: $0, as: UTF8.self) }
            } else {
                parts = try entry.array().map { try $0.string() }
            }
            guard parts.count == 2 else { throw entry.invalid(#"a merge "a b" or ["a", "b"]"#) }
            func id(_ token: String) throws -> Int32 {
                guard let id = vocabulary.id(of: token) else {
                    throw TokenizerError.inconsistentVocabulary(
                        file: json.file, reason: "\(entry.path) uses '\(token)', which is not in model.vocab")
                }
                return Int32(id)
            }
            // With a continuing-subword prefix ("##"), "a ##b" merges into "ab": like the tokenizers
            // library, the prefix's length is cut from the right part whatever it starts with.
            var right = parts[1]
            if let prefix {
                guard let rest = String(validating: right.utf8.dropFirst(prefix.utf8.count), as: UTF8.self),
                      right.utf8.count >= prefix.utf8.count
                else {
                    throw TokenizerError.inconsistentVocabulary(
                        file: json.file, reason: "\(entry.path) merges '\(right)', which is shorter than "
                            + "model.continuing_subword_prefix or would be cut inside a character")
                }
                right = rest
            }
            merges[SymbolPair(try id(parts[0]), try id(parts[1]))] =
                MergeRule(rank: rank, mergedID: try id(parts[0] + right))
            rank += 1
        }
        return merges
    }

    func tokenize(_ word: String) throws -> [Int] {
        if word.isEmpty { return [] }
        let key = ExactString(word)
        if ignoreMerges, let id = vocabulary.idsByToken[key] { return [id] }
        if let ids = cache.ids(of: key) { return ids }
        let ids = merge(try initialSymbols(of: word))
        cache.remember(ids, of: key)
        return ids
    }

    /// One id per scalar of `word` (or its byte tokens, or the unknown token).
    private func initialSymbols(of word: String) throws -> [Int32] {
        var symbols: [Int32] = []
        var pendingUnknown: Int32?
        let scalars = Array(word.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            var piece = String(scalar)
            if index > 0, let prefix = continuingSubwordPrefix { piece = prefix + piece }
            if index == scalars.count - 1, let suffix = endOfWordSuffix { piece += suffix }

            if let id = vocabulary.id(of: piece) {
                if let unknown = pendingUnknown { symbols.append(unknown) }
                pendingUnknown = nil
                symbols.append(Int32(id))
                continue
            }
            if byteFallback, let byteIDs = byteTokenIDs(of: piece) {
                symbols += byteIDs
                continue
            }
            // Without an unknown token the scalar is dropped, as in the tokenizers library.
            guard let unknownToken else { continue }
            // The unknown token is placed once the next known scalar (or the end) is reached, so
            // that with `fuse_unk` a run of unknown scalars becomes a single unknown token.
            if let unknown = pendingUnknown {
                if fuseUnknown { continue }
                symbols.append(unknown)
            }
            guard let unknownID = vocabulary.id(of: unknownToken) else {
                throw TokenizerError.unknownTokenMissing(token: piece)
            }
            pendingUnknown = Int32(unknownID)
        }
        if let unknown = pendingUnknown { symbols.append(unknown) }
        return symbols
    }

    /// The ids of the "<0xHH>" tokens of every byte of `piece`, or nil if one is missing.
    private func byteTokenIDs(of piece: String) -> [Int32]? {
        var ids: [Int32] = []
        for byte in piece.utf8 {
            guard let id = vocabulary.id(of: ByteFallbackDecoder.token(spelling: byte)) else { return nil }
            ids.append(Int32(id))
        }
        return ids
    }

    /// Applies the merges to `symbols`, lowest rank first and leftmost first among equal ranks.
    private func merge(_ initial: [Int32]) -> [Int] {
        var symbols = initial
        let count = symbols.count
        guard count > 1 else { return symbols.map(Int.init) }
        // A doubly linked list over `symbols`; `next == count` marks the end, `previous == -1` the start.
        var previous = Array(-1..<(count - 1))
        var next = Array(1...count)
        var removed = [Bool](repeating: false, count: count)
        var queue = MinimumHeap<MergeCandidate>()
        func enqueue(_ position: Int) {
            guard let rule = merges[SymbolPair(symbols[position], symbols[next[position]])] else { return }
            queue.push(MergeCandidate(rank: rule.rank, position: Int32(position), mergedID: rule.mergedID))
        }
        for position in 0..<(count - 1) { enqueue(position) }

        while let candidate = queue.pop() {
            let position = Int(candidate.position)
            guard !removed[position], next[position] < count else { continue }
            let right = next[position]
            // Skip entries made stale by an earlier merge of one of the two symbols.
            guard merges[SymbolPair(symbols[position], symbols[right])]?.mergedID == candidate.mergedID else { continue }
            symbols[position] = candidate.mergedID
            removed[right] = true
            next[position] = next[right]
            if next[right] < count { previous[next[right]] = position }
            if previous[position] >= 0 { enqueue(previous[position]) }
            if next[position] < count { enqueue(position) }
        }
        return symbols.indices.filter { !removed[$0] }.map { Int(symbols[$0]) }
    }
}

/// Two adjacent symbol ids.
private struct SymbolPair: Hashable {
    let packed: UInt64

    init(_ left: Int32, _ right: Int32) {
        packed = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }
}

private struct MergeRule {
    let rank: Int32
    let mergedID: Int32
}

/// A merge waiting in the queue, ordered by rank, then position.
private struct MergeCandidate: Comparable {
    let rank: Int32
    let position: Int32
    let mergedID: Int32

    static func < (lhs: MergeCandidate, rhs: MergeCandidate) -> Bool {
        (lhs.rank, lhs.position) < (rhs.rank, rhs.position)
    }
}
