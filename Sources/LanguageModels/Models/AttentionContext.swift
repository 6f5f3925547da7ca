/// Per-forward-pass state that every attention layer shares: positions, masks and the key-value cache.
public struct AttentionContext {
    /// `[batch][query position]` absolute position ids.
    public let positions: [[Int]]
    /// `[batch][key position]`, true where a key is a real token (past keys included).
    public let keyMask: [[Bool]]
    /// Number of cached keys that precede the current queries.
    public let pastLength: Int

    public init(batch: TokenBatch, pastMask: [[Bool]]? = nil, pastPositions: [Int]? = nil) {
        pastLength = pastMask?.first?.count ?? 0
        keyMask = pastMask.map { zip($0, batch.mask).map { $0 + $1 } } ?? batch.mask
        positions = batch.positions(offset: pastPositions)
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
