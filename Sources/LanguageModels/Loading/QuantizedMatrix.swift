import Tensors

/// A `[rowCount, columnCount]` weight matrix kept in MLX's quantized form and dequantized on the fly.
///
/// Each row is a little-endian bit stream of `bits`-bit codes `q` packed into `UInt32` words (code `j` of a
/// row occupies bits `j * bits ..< (j + 1) * bits`, low bits first), with one scale (and in the affine mode one
/// bias) per `groupSize` consecutive columns: `W[r, c] = scale[r, c / groupSize] * q[r, c] + bias[r, c / groupSize]`
/// (affine), or `scale[r, c / groupSize] * value(q[r, c])` with `q` an FP4 E2M1 (mxfp4, nvfp4) or FP8 E4M3 (mxfp8)
/// code. This is the layout `mx.quantize` produces for a Linear weight `[out, in]` or an Embedding table
/// `[vocab, dModel]`. Hugging Face FP8 weights are held as mxfp8 codes with their block scales, one group per
/// block of columns (``WeightStore/fp8Matrix(module:shape:settings:)``).
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
    /// How codes become values.
    public let mode: MLXQuantization.Mode
    /// The packed codes, `rowCount * wordsPerRow` words.
    public let packed: [UInt32]
    /// One scale per row and group, `rowCount * groupsPerRow` values (the microscaling modes' E8M0 and E4M3
    /// scales widened exactly).
    public let scales: [Float]
    /// One bias per row and group, `rowCount * groupsPerRow` values; empty outside the affine mode.
    public let biases: [Float]

    /// Creates a matrix from its packed parts; the counts must match the dimensions and `mode` (a programmer error
    /// otherwise). The floating-point modes take any group size (MLX's settings fix it, Hugging Face's FP8 blocks
    /// do not).
    public init(rowCount: Int, columnCount: Int, bits: Int, groupSize: Int, mode: MLXQuantization.Mode = .affine,
                packed: [UInt32], scales: [Float], biases: [Float]) {
        precondition(MLXQuantization.supportedBits.contains(bits), "unsupported bit width \(bits)")
        precondition(mode.fixedShape.map { $0.bits == bits } ?? true, "mode \(mode) with \(bits) bits")
        precondition(groupSize > 0 && columnCount % groupSize == 0, "columnCount \(columnCount) is not a multiple of groupSize \(groupSize)")
        precondition(columnCount * bits % 32 == 0, "a row of \(columnCount) \(bits)-bit codes does not fill whole words")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.bits = bits
        self.groupSize = groupSize
        self.mode = mode
        self.packed = packed
        self.scales = scales
        self.biases = biases
        precondition(packed.count == rowCount * wordsPerRow, "packed has \(packed.count) words, expected \(rowCount * wordsPerRow)")
        precondition(scales.count == rowCount * groupsPerRow && biases.count == (mode == .affine ? scales.count : 0),
                     "scales/biases need \(rowCount * groupsPerRow) values, got \(scales.count)/\(biases.count)")
    }

    /// The floating-point format of the codes outside the affine mode.
    public var floatCodes: FusedQuantizedProduct.FloatCodes? {
        switch mode {
        case .affine: nil
        case .mxfp4, .nvfp4: .e2m1
        case .mxfp8: .e4m3
        }
    }

    /// Packed words per row.
    public var wordsPerRow: Int { columnCount * bits / 32 }
    /// Scale/bias groups per row.
    public var groupsPerRow: Int { columnCount / groupSize }

    public func withFusedLayout<Result>(_ body: (UnsafeRawPointer, Int, FusedQuantizedProduct.Layout) -> Result) -> Result? {
        packed.withUnsafeBytes { words in
            scales.withUnsafeBufferPointer { scales in
                biases.withUnsafeBufferPointer { biases in
                    let layout: FusedQuantizedProduct.Layout = floatCodes.map {
                        .mlxFloat(codes: $0, groupSize: groupSize, scales: scales.baseAddress!)
                    } ?? .mlxAffine(bits: bits, groupSize: groupSize, scales: scales.baseAddress!, biases: biases.baseAddress!)
                    return body(words.baseAddress!, wordsPerRow * 4, layout)
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
        return QuantizedMatrix(rowCount: indices.count, columnCount: columnCount, bits: bits, groupSize: groupSize, mode: mode,
                               packed: gather(packed, wordsPerRow), scales: gather(scales, groupsPerRow),
                               biases: biases.isEmpty ? [] : gather(biases, groupsPerRow))
    }

    /// Writes row `row`'s values in `columns` to `destination`.
    public func dequantizeRow(_ row: Int, columns: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let mask = UInt64(1) << UInt64(bits) - 1, codes = floatCodes
        packed.withUnsafeBufferPointer { words in
            scales.withUnsafeBufferPointer { scales in
                biases.withUnsafeBufferPointer { biases in
                    let rowWords = words.baseAddress! + row * wordsPerRow
                    for group in (columns.lowerBound / groupSize)..<((columns.upperBound + groupSize - 1) / groupSize) {
                        let scale = scales[row * groupsPerRow + group]
                        let bias = biases.isEmpty ? 0 : biases[row * groupsPerRow + group]
                        let first = Swift.max(group * groupSize, columns.lowerBound)
                        let end = Swift.min((group + 1) * groupSize, columns.upperBound)
                        for column in first..<end {
                            let bit = column * bits
                            let word = bit >> 5, shift = bit & 31
                            var window = UInt64(rowWords[word])
                            if shift + bits > 32 { window |= UInt64(rowWords[word + 1]) << 32 }
                            let code = (window >> UInt64(shift)) & mask
                            destination[column - columns.lowerBound] = codes.map { scale * $0.value(UInt8(code)) }
                                ?? scale * Float(code) + bias
                        }
                    }
                }
            }
        }
    }
}
