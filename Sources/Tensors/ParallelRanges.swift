extension Parallel {
    /// Work (elements touched) below which ``forRanges(_:alignment:work:_:)`` stays on the calling thread: a
    /// parallel region costs more than it saves.
    static let rangeWorkThreshold = 1 << 16

    /// Calls `body` on disjoint ranges that cover `0..<count`, one per thread when `work` (default `count`)
    /// reaches ``rangeWorkThreshold``, else once with the whole range on the calling thread.
    ///
    /// Range bounds other than `count` are multiples of `alignment`, so that a kernel that treats whole groups
    /// of items (rows, SIMD vectors) alike computes every item as it would in one call: splitting never changes
    /// a result.
    static func forRanges(_ count: Int, alignment: Int = 1, work: Int? = nil, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let units = (count + alignment - 1) / alignment
        let parts = (work ?? count) >= rangeWorkThreshold ? Swift.min(units, threadCount) : 1
        guard parts > 1 else { return body(0..<count) }
        forEach(parts) { part in
            let lower = Swift.min(count, units * part / parts * alignment)
            let upper = Swift.min(count, units * (part + 1) / parts * alignment)
            if lower < upper { body(lower..<upper) }
        }
    }
}
