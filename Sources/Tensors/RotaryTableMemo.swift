import Foundation

/// The most recent rotary `cos`/`sin` tables, so that the queries and keys of every layer of one forward pass
/// share one computation of them instead of two per layer. An entry is reused only for an equal embedding and
/// equal positions, so results never change; two entries are kept (a model with local and global rotary bases
/// alternates between two embeddings).
final class RotaryTableMemo: @unchecked Sendable {
    static let shared = RotaryTableMemo()

    private struct Entry {
        let embedding: RotaryEmbedding
        let positions: [[Int]]
        let queries: Bool
        let tables: (cos: Tensor, sin: Tensor)
    }

    private let lock = NSLock()
    private var entries: [Entry] = []
    private static let capacity = 2

    /// The tables of `embedding` at `positions` (the queries' scaled ones when `queries`), computed by `compute`
    /// unless an equal request was the last or the one before.
    func tables(_ embedding: RotaryEmbedding, positions: [[Int]], queries: Bool = false,
                compute: () -> (cos: Tensor, sin: Tensor)) -> (cos: Tensor, sin: Tensor) {
        if let hit = lock.withLock({ entries.first { $0.embedding == embedding && $0.positions == positions && $0.queries == queries } }) {
            return hit.tables
        }
        let tables = compute()
        lock.withLock {
            entries.insert(Entry(embedding: embedding, positions: positions, queries: queries, tables: tables), at: 0)
            if entries.count > Self.capacity { entries.removeLast() }
        }
        return tables
    }
}
