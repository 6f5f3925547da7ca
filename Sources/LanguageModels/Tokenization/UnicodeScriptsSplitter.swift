/// The `UnicodeScripts` pre-tokenizer, following the tokenizers library: a piece starts at every
/// scalar whose script differs from the script of the last scalar that had one. Scalars without a
/// script (the space, and scalars the library's table does not list, such as recent emoji) stay
/// in the current piece; when they open the text they are dropped, as the library drops them.
/// Hiragana, Katakana and U+30FC count as Han. The classes come from ``UnicodeScriptTable``.
struct UnicodeScriptsSplitter: PreTokenizer {
    /// The runs of ``UnicodeScriptTable``, sorted by first scalar.
    private static let runs: [(first: UInt32, last: UInt32, script: Int)] =
        UnicodeScriptTable.runs.split(separator: ",").compactMap { run in
            let parts = run.split(whereSeparator: { $0 == "-" || $0 == ":" })
            guard parts.count == 3, let first = UInt32(parts[0], radix: 16), let last = UInt32(parts[1], radix: 16),
                  let script = Int(parts[2]) else { return nil }
            return (first, last, script)
        }

    /// The script class of `scalar`, or nil when it has none.
    static func script(of scalar: Unicode.Scalar) -> Int? {
        var lower = 0
        var upper = runs.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if runs[middle].last < scalar.value {
                lower = middle + 1
            } else {
                upper = middle
            }
        }
        guard lower < runs.count, runs[lower].first <= scalar.value else { return nil }
        return runs[lower].script
    }

    func preTokenize(_ segment: TextSegment) -> [TextSegment] {
        let scalars = segment.text.unicodeScalars
        var starts: [String.Index] = []
        var lastScript: Int?
        for index in scalars.indices {
            guard let script = Self.script(of: scalars[index]) else { continue }
            if script != lastScript { starts.append(index) }
            lastScript = script
        }
        return starts.indices.map { position in
            let end = position + 1 < starts.count ? starts[position + 1] : scalars.endIndex
            return TextSegment(
                text: String(scalars[starts[position]..<end]),
                startsInput: segment.startsInput && starts[position] == scalars.startIndex)
        }
    }
}
