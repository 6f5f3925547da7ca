import Tensors

/// A `[rowCount, columnCount]` weight matrix kept in MLX's affine-quantized form and dequantized on the fly.
///
/// Each row is a little-endian bit stream of `bits`-bit codes `q` packed into `UInt32` words (code `j` of a
/// row occupies bits `j * bits ..< (j + 1) * bits`, low bits first), with one scale and one bias per
/// `groupSize` consecutive columns: `W[r, c] = scale[r, c / groupSize] * q[r, c] + bias[r, c / groupSize]`.
/// This is the layout `mx.quantize` produces for a Linear weight `[out, in]` or an Embedding table
/// `[vocab, dModel]`.
///
/// Products dequantize a block of rows at a time, so memory stays near the quantized size:
///
/// ```swift
/// let y = upProjection.matmulTransposed(x)        // x [..., in] · Wᵀ -> [..., out], like nn.Linear
/// let embeddings = embedTokens.rows(tokenIDs)      // [tokens, dModel]
/// let logits = embedTokens.matmulTransposed(h)     // tied unembedding from the same quantized table
/// ```
public struct QuantizedMatrix: Sendable {
    /// Output features (Linear) or vocabulary entries (Embedding).
    public let rowCount: Int
    /// Input features (Linear) or the embedding width.
    public let columnCount: Int
    /// Bits per code.
    public let bits: Int
    /// Columns sharing one scale and bias.
    public let groupSize: Int
    /// The packed codes, `rowCount * wordsPerRow` words.
    public let packed: [UInt32]
    /// One scale per row and group, `rowCount * groupsPerRow` values.
    public let scales: [Float]
    /// One bias per row and group, `rowCount * groupsPerRow` values.
    public let biases: [Float]

    /// Creates a matrix from its packed parts; the counts must match the dimensions (a programmer error otherwise).
    public init(rowCount: Int, columnCount: Int, bits: Int, groupSize: Int, packed: [UInt32], scales: [Float], biases: [Float]) {
        precondition(MLXQuantization.supportedBits.contains(bits), "unsupported bit width \(bits)")
        precondition(groupSize > 0 && columnCount % groupSize == 0, "columnCount \(columnCount) is not a multiple of groupSize \(groupSize)")
        precondition(columnCount * bits % 32 == 0, "a row of \(columnCount) \(bits)-bit codes does not fill whole words")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.bits = bits
        self.groupSize = groupSize
        self.packed = packed
        self.scales = scales
        self.biases = biases
        precondition(packed.count == rowCount * wordsPerRow, "packed has \(packed.count) words, expected \(rowCount * wordsPerRow)")
        precondition(scales.count == rowCount * groupsPerRow && biases.count == scales.count,
                     "scales/biases need \(rowCount * groupsPerRow) values, got \(scales.count)/\(biases.count)")
    }

    /// `[rowCount, columnCount]`.
    public var shape: [Int] { [rowCount, columnCount] }
    /// Packed words per row.
    public var wordsPerRow: Int { columnCount * bits / 32 }
    /// Scale/bias groups per row.
    public var groupsPerRow: Int { columnCount / groupSize }

    /// The whole matrix as a `Float` tensor `[rowCount, columnCount]`.
    public func dequantized() -> Tensor {
        Tensor.build(shape: shape) { out in
            for row in 0..<rowCount { dequantizeRow(row, into: out.baseAddress! + row * columnCount) }
        }
    }

    /// The dequantized rows at `indices` (an embedding lookup), `[indices.count, columnCount]`.
    public func rows(_ indices: [Int]) -> Tensor {
        Tensor.build(shape: [indices.count, columnCount]) { out in
            for (position, row) in indices.enumerated() {
                precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount)")
                dequantizeRow(row, into: out.baseAddress! + position * columnCount)
            }
        }
    }

    /// The dequantized columns `range` of every row, `[rowCount, range.count]` (only their groups are read).
    public func columns(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= columnCount, "columns \(range) out of range 0..<\(columnCount)")
        return Tensor.build(shape: [rowCount, range.count]) { out in
            for row in 0..<rowCount { dequantizeRow(row, columns: range, into: out.baseAddress! + row * range.count) }
        }
    }

    /// `x · Wᵀ` for `x` of shape `[..., columnCount]`, giving `[..., rowCount]` (differentiable in `x`).
    public func matmulTransposed(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == columnCount, "matmulTransposed needs [..., \(columnCount)], got \(x.shape)")
        let n = x.count / Swift.max(columnCount, 1)
        let input = x.detached.reshaped([n, columnCount])
        var output = [Float](repeating: 0, count: n * rowCount)
        forEachRowBlock { rows, block in
            let partial = input.matmul(block, transposeOther: true)
            for i in 0..<n {
                for j in 0..<rows.count { output[i * rowCount + rows.lowerBound + j] = partial.scalars[i * rows.count + j] }
            }
        }
        let result = Tensor(shape: Array(x.shape.dropLast()) + [rowCount], scalars: output)
        return result.recorded(from: [x]) { gradient in [self.matmul(gradient.detached)] }
    }

    /// `y · W` for `y` of shape `[..., rowCount]`, giving `[..., columnCount]` (differentiable in `y`).
    public func matmul(_ y: Tensor) -> Tensor {
        precondition(y.shape.last == rowCount, "matmul needs [..., \(rowCount)], got \(y.shape)")
        let n = y.count / Swift.max(rowCount, 1)
        let input = y.detached.reshaped([n, rowCount])
        var output = Tensor.zeros([n, columnCount])
        forEachRowBlock { rows, block in
            output = output + input.slice(axis: 1, rows).matmul(block)
        }
        let result = output.reshaped(Array(y.shape.dropLast()) + [columnCount])
        return result.recorded(from: [y]) { gradient in [self.matmulTransposed(gradient.detached)] }
    }

    /// Calls `body` with consecutive row ranges and their dequantized rows (about 256 KB at a time).
    private func forEachRowBlock(_ body: (Range<Int>, Tensor) -> Void) {
        let rowsPerBlock = Swift.max(1, 65_536 / Swift.max(columnCount, 1))
        for start in stride(from: 0, to: rowCount, by: rowsPerBlock) {
            let rows = start..<Swift.min(start + rowsPerBlock, rowCount)
            let block = Tensor.build(shape: [rows.count, columnCount]) { out in
                for row in rows { dequantizeRow(row, into: out.baseAddress! + (row - start) * columnCount) }
            }
            body(rows, block)
        }
    }

    /// Writes row `row`'s values in `columns` (all of them by default) to `destination`.
    private func dequantizeRow(_ row: Int, columns: Range<Int>? = nil, into destination: UnsafeMutablePointer<Float>) {
        let columns = columns ?? 0..<columnCount
        let mask = UInt64(1) << UInt64(bits) - 1
        packed.withUnsafeBufferPointer { words in
            scales.withUnsafeBufferPointer { scales in
                biases.withUnsafeBufferPointer { biases in
                    let rowWords = words.baseAddress! + row * wordsPerRow
                    for group in (columns.lowerBound / groupSize)..<((columns.upperBound + groupSize - 1) / groupSize) {
                        let scale = scales[row * groupsPerRow + group], bias = biases[row * groupsPerRow + group]
                        let first = Swift.max(group * groupSize, columns.lowerBound)
                        let end = Swift.min((group + 1) * groupSize, columns.upperBound)
                        for column in first..<end {
                            let bit = column * bits
                            let word = bit >> 5, shift = bit & 31
                            var window = UInt64(rowWords[word])
                            if shift + bits > 32 { window |= UInt64(rowWords[word + 1]) << 32 }
                            let code = (window >> UInt64(shift)) & mask
                            destination[column - columns.lowerBound] = scale * Float(code) + bias
                        }
                    }
                }
            }
        }
    }
}
