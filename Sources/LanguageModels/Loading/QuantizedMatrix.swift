import Tensors

/// A `[rowCount, columnCount]` weight matrix kept in MLX's affine-quantized form and dequantized on the fly.
///
/// Each row is a little-endian bit stream of `bits`-bit codes `q` packed into `UInt32` words (code `j` of a
/// row occupies bits `j * bits ..< (j + 1) * bits`, low bits first), with one scale and one bias per
/// `groupSize` consecutive columns: `W[r, c] = scale[r, c / groupSize] * q[r, c] + bias[r, c / groupSize]`.
/// This is the layout `mx.quantize` produces for a Linear weight `[out, in]` or an Embedding table
/// `[vocab, dModel]`.
///
/// Products, lookups and slices dequantize a block of rows at a time (``RowDequantizedMatrix``).
public struct QuantizedMatrix: RowDequantizedMatrix {
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

    /// Packed words per row.
    public var wordsPerRow: Int { columnCount * bits / 32 }
    /// Scale/bias groups per row.
    public var groupsPerRow: Int { columnCount / groupSize }

    public func withFusedLayout<Result>(_ body: (UnsafeRawPointer, Int, FusedQuantizedProduct.Layout) -> Result) -> Result? {
        packed.withUnsafeBytes { words in
            scales.withUnsafeBufferPointer { scales in
                biases.withUnsafeBufferPointer { biases in
                    body(words.baseAddress!, wordsPerRow * 4,
                         .mlxAffine(bits: bits, groupSize: groupSize, scales: scales.baseAddress!, biases: biases.baseAddress!))
                }
            }
        }
    }

    /// The rows at `indices`, in that order, still packed (a copy of their codes, scales and biases): the parts of a
    /// fused projection (Phi-3's `qkv_proj`, GPT-NeoX's per-head `query_key_value`) stay quantized.
    public func rowSelection(_ indices: [Int]) -> QuantizedMatrix {
        func gather<T>(_ values: [T], _ width: Int) -> [T] {
            indices.flatMap { row -> ArraySlice<T> in
                precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount)")
                return values[(row * width)..<((row + 1) * width)]
            }
        }
        return QuantizedMatrix(rowCount: indices.count, columnCount: columnCount, bits: bits, groupSize: groupSize,
                               packed: gather(packed, wordsPerRow), scales: gather(scales, groupsPerRow),
                               biases: gather(biases, groupsPerRow))
    }

    /// Writes row `row`'s values in `columns` to `destination`.
    public func dequantizeRow(_ row: Int, columns: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
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
