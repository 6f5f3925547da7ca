import Foundation

/// The `Precompiled` normalizer: SentencePiece's `precompiled_charsmap`, a table of rewrites
/// (NFKC with SentencePiece's own changes) stored as a darts-clone double-array trie over UTF-8
/// bytes followed by the NUL-terminated replacement strings. Follows the tokenizers library: each
/// grapheme cluster shorter than 6 bytes is rewritten as a whole when a prefix of it is in the
/// trie (the shortest such prefix chooses the replacement); otherwise each of its scalars is
/// rewritten on its own, or kept.
///
/// A replacement offset outside the string table (the tokenizers library panics on it) leaves the
/// text unchanged.
struct PrecompiledNormalizer: TextNormalizer {
    /// The double-array units: label, leaf flag and child offset, or a leaf's value.
    private let units: [UInt32]
    /// The replacement strings, each ended by NUL.
    private let replacements: [UInt8]

    init(json: JSONField) throws {
        let field = try json.required("precompiled_charsmap")
        guard let data = Data(base64Encoded: try field.string()) else { throw field.invalid("base64 data") }
        let bytes = [UInt8](data)
        let expected = "a SentencePiece charsmap: a little-endian u32 trie size, the trie, then UTF-8 replacements"
        guard bytes.count >= 4 else { throw field.invalid(expected) }
        let trieSize = Int(Self.littleEndianUInt32(bytes, at: 0))
        let unitCount = trieSize / 4
        guard unitCount <= (bytes.count - 4) / 4 else { throw field.invalid(expected) }
        units = (0..<unitCount).map { Self.littleEndianUInt32(bytes, at: 4 + 4 * $0) }
        replacements = Array(bytes[(4 + 4 * unitCount)...])
        guard String(validating: replacements, as: UTF8.self) != nil else { throw field.invalid(expected) }
    }

    private static func littleEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { value, index in value | UInt32(bytes[offset + index]) << (8 * index) }
    }

    func normalize(_ text: String) -> String {
        var result = ""
        for grapheme in text {
            let graphemeBytes = Array(String(grapheme).utf8)
            if graphemeBytes.count < 6, let replacement = replacement(ofPrefixOf: graphemeBytes) {
                result += replacement
                continue
            }
            for scalar in grapheme.unicodeScalars {
                if let replacement = replacement(ofPrefixOf: Array(String(scalar).utf8)) {
                    result += replacement
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// The replacement of the shortest prefix of `key` found in the trie (a NUL byte ends the key).
    private func replacement(ofPrefixOf key: [UInt8]) -> String? {
        guard let root = units.first else { return nil }
        var position = Self.offset(of: root)
        for byte in key {
            if byte == 0 { break }
            position ^= Int(byte)
            guard position < units.count else { return nil }
            let unit = units[position]
            guard unit & ((1 << 31) | 0xFF) == UInt32(byte) else { return nil }
            position ^= Self.offset(of: unit)
            if (unit >> 8) & 1 == 1 {
                guard position < units.count else { return nil }
                return replacement(at: Int(units[position] & ((1 << 31) - 1)))
            }
        }
        return nil
    }

    private static func offset(of unit: UInt32) -> Int {
        Int(unit >> 10) << Int((unit & (1 << 9)) >> 6)
    }

    /// The NUL-terminated string starting at `start` of the replacement table.
    private func replacement(at start: Int) -> String? {
        guard start <= replacements.count else { return nil }
        let end = replacements[start...].firstIndex(of: 0) ?? replacements.count
        return String(validating: replacements[start..<end], as: UTF8.self)
    }
}
