import Tensors

/// The token positions, per row of a batched patched run (`variants × batch` rows), where a value differs from
/// the current graph's: what ``IncrementalPatching`` recomputes in an ACDC test.
///
/// A patched edge changes its receiver's input only where the sender's delta (source − current output) is
/// nonzero, usually from the first position where the clean and corrupted prompts differ. From there a change
/// spreads position-wise through MLPs, residual additions and a head's query, and through a head's keys and
/// values to every query that attends to a changed position. The metric reads each row's last real token, so a
/// position after it never matters (attention is causal) and is dropped.
struct ChangedPositions: Equatable {
    let rows: Int, length: Int
    /// `rows × length` flags, row-major.
    private(set) var flags: [Bool]

    /// No position changed, or with `everywhere` every position.
    init(rows: Int, length: Int, everywhere: Bool = false) {
        self.rows = rows
        self.length = length
        flags = Array(repeating: everywhere, count: rows * length)
    }

    /// The positions where `change` (`[rows, length, width]`) has a nonzero element.
    init(nonzeroIn change: Tensor) {
        precondition(change.rank == 3, "a change is [rows, positions, width], got \(change.shape)")
        let (rows, length, width) = (change.shape[0], change.shape[1], change.shape[2])
        self.init(rows: rows, length: length)
        change.scalars.withUnsafeBufferPointer { values in
            for cell in 0..<(rows * length) {
                let start = cell * width
                flags[cell] = values[start..<(start + width)].contains { $0 != 0 }
            }
        }
    }

    /// The positions of `blocks` stacked along the rows (one block per variant).
    init(stacking blocks: [ChangedPositions]) {
        rows = blocks.map(\.rows).reduce(0, +)
        length = blocks[0].length
        flags = blocks.flatMap(\.flags)
    }

    subscript(row: Int, position: Int) -> Bool { flags[row * length + position] }

    var isEmpty: Bool { !flags.contains(true) }

    /// The rows with a changed position.
    var changedRows: [Int] { (0..<rows).filter { r in flags[(r * length)..<((r + 1) * length)].contains(true) } }

    /// `row · length + position` of every changed position, in order.
    var flatIndices: [Int] { flags.indices.filter { flags[$0] } }

    mutating func formUnion(_ other: ChangedPositions) {
        precondition(rows == other.rows && length == other.length, "changed positions of different runs")
        for i in flags.indices where other.flags[i] { flags[i] = true }
    }

    /// The queries whose attention output changes when the keys or values change here: in each row, every
    /// position at or after a changed one and, with a sliding window `w`, less than `w` positions after it.
    func attended(slidingWindow: Int?) -> ChangedPositions {
        var result = ChangedPositions(rows: rows, length: length)
        for r in 0..<rows {
            var lastChanged: Int?
            for p in 0..<length {
                if self[r, p] { lastChanged = p }
                if let last = lastChanged, slidingWindow.map({ p - last < $0 }) ?? true { result.flags[r * length + p] = true }
            }
        }
        return result
    }

    /// These positions up to each row's read position (`readPositions[row % readPositions.count]`): nothing
    /// after it reaches the metric.
    func upToRead(_ readPositions: [Int]) -> ChangedPositions {
        var result = self
        for r in 0..<rows where readPositions[r % readPositions.count] + 1 < length {
            for p in (readPositions[r % readPositions.count] + 1)..<length { result.flags[r * length + p] = false }
        }
        return result
    }
}

extension Tensor {
    /// This `[rows, positions, width]` tensor with the cells at `flatIndices` (`row · positions + position`)
    /// replaced by the rows of `values` (`[flatIndices.count, width]` in any shape), in order. Not recorded.
    func replacingCells(_ flatIndices: [Int], with values: Tensor) -> Tensor {
        repeatedAlongBatch(1, replacingCells: flatIndices, with: values)
    }

    /// ``repeatedAlongBatch(_:)`` with the cells at `flatIndices` of the result replaced by the rows of `values`, in
    /// one copy. Not recorded.
    func repeatedAlongBatch(_ times: Int, replacingCells flatIndices: [Int], with values: Tensor) -> Tensor {
        let width = shape[rank - 1]
        precondition(values.count == flatIndices.count * width, "\(flatIndices.count) cells of \(width) need \(flatIndices.count * width) values")
        return Tensor.build(shape: [shape[0] * times] + shape.dropFirst()) { out in
            scalars.withUnsafeBufferPointer { block in
                for copy in 0..<times { (out.baseAddress! + copy * count).update(from: block.baseAddress!, count: count) }
            }
            values.scalars.withUnsafeBufferPointer { src in
                for (i, cell) in flatIndices.enumerated() {
                    (out.baseAddress! + cell * width).update(from: src.baseAddress! + i * width, count: width)
                }
            }
        }
    }

    /// The cells `flatIndices` (`row · positions + position`) of this `[rows, positions, width]` tensor, `[1, n, width]`.
    func cells(_ flatIndices: [Int]) -> Tensor {
        let width = shape[rank - 1]
        return reshaped([-1, width]).indexSelect(axis: 0, flatIndices).reshaped([1, flatIndices.count, width])
    }
}
