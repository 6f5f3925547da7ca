/// Per-forward-pass state that every attention layer shares: positions, masks and the key-value cache.
public struct AttentionContext {
    /// `[batch][query position]` absolute position ids.
    public let positions: [[Int]]
    /// `[batch][key position]`, true where a key is a real token (past keys included).
    public let keyMask: [[Bool]]
    /// Number of cached keys that precede the current queries.
    public let pastLength: Int
    /// The query rows (`sequence * queries + position`) whose token-wise products (the projections and the MLP)
    /// are computed, when not all of them are: see ``skippingPaddingProducts()``. Nil: every row.
    public private(set) var computedRows: [Int]?
    /// The query rows whose block output is read, when not all of them are: the queries, the output projection and
    /// the MLP run on these rows only (the keys and values on ``computedRows``); see ``readingOutputs(atRows:)``.
    public private(set) var outputRows: [Int]?

    public init(batch: TokenBatch, pastMask: [[Bool]]? = nil, pastPositions: [Int]? = nil) {
        pastLength = pastMask?.first?.count ?? 0
        keyMask = pastMask.map { zip($0, batch.mask).map { $0 + $1 } } ?? batch.mask
        positions = batch.positions(offset: pastPositions)
    }

    /// This context with the projections and MLPs of dense blocks run on the real query tokens only (padding rows
    /// get zeros there): a pass over sequences of mixed lengths whose padding positions nobody reads (they are
    /// hidden as keys) skips their products. Every real token's values stay the same to the bit: when the real
    /// rows alone would cross the GEMM's row-dot bound, a few padding rows are computed too.
    public func skippingPaddingProducts() -> AttentionContext {
        let queries = positions.first?.count ?? 0
        let real = keyMask.enumerated().flatMap { sequence, mask in
            mask[pastLength...].indices.filter { mask[$0] }.map { sequence * queries + $0 - pastLength }
        }
        var context = self
        context.computedRows = rows(real, fillingUpTo: keyMask.count * queries)
        return context
    }

    /// This context with the queries, output projections and MLPs of dense blocks run on the query rows `rows`
    /// only (`sequence * queries + position`): for a last block whose output is read at a few positions (every
    /// other row's output is then meaningless). The rows read keep their values to the bit.
    public func readingOutputs(atRows rows: [Int]) -> AttentionContext {
        let all = keyMask.count * (positions.first?.count ?? 0)
        var context = self
        context.outputRows = self.rows(Array(Set(rows)).sorted(), fillingUpTo: computedRows?.count ?? all, from: computedRows)
        return context
    }

    /// `needed` rows in place of the `count` rows of a full product (the rows of `candidates`, or all), or nil when
    /// that leaves nothing out (or nothing in). Products of fewer rows give each row the same bits unless they cross the GEMM's
    /// row-dot bound (``GEMM/sameResults(rows:otherRows:)``); then other rows are added up to just above it.
    private func rows(_ needed: [Int], fillingUpTo count: Int, from candidates: [Int]? = nil) -> [Int]? {
        var rows = needed
        if !GEMM.sameResults(rows: rows.count, otherRows: count) {
            let kept = Set(rows)
            let fill = (candidates ?? Array(0..<count)).lazy.filter { !kept.contains($0) }.prefix(GEMM.rowDotMaxRows + 1 - rows.count)
            rows = (rows + fill).sorted()
        }
        return rows.isEmpty || rows.count >= count ? nil : rows
    }

    /// The rows of ``computedRows`` when `input` (`[batch, queries, ...]`) holds this pass's query rows.
    func computedRows(of input: Tensor) -> [Int]? {
        holdsQueryRows(input) ? computedRows : nil
    }

    /// The rows of ``outputRows``, else of ``computedRows``, when `input` holds this pass's query rows.
    func outputRows(of input: Tensor) -> [Int]? {
        holdsQueryRows(input) ? outputRows ?? computedRows : nil
    }

    private func holdsQueryRows(_ input: Tensor) -> Bool {
        input.rank >= 2 && input.shape[0] == positions.count && input.shape[1] == positions.first?.count
    }

    /// The additive mask `[batch, 1, queries, keys]`: 0 where a query may attend, -inf elsewhere.
    ///
    /// Query `i` sees key `j` when `j` is not in its future (`j <= pastLength + i`), is a real token, and,
    /// with a sliding window `w`, is less than `w` positions behind.
    public func additiveMask(slidingWindow: Int? = nil) -> Tensor {
        let keys = keyMask[0].count
        let padding = Tensor(shape: [keyMask.count, keys], scalars: keyMask.flatMap { $0.map { $0 ? 1 : 0 } })
        return attentionMask(queryCount: keys - pastLength, keyCount: keys, paddingMask: padding, slidingWindow: slidingWindow)
    }
}
