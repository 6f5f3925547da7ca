import Tensors

/// A `[rowCount, columnCount]` weight matrix kept in a GGUF tensor type (F16, BF16, Q8_0, Q4_K, ...) and dequantized
/// a block at a time (``RowDequantizedMatrix``): each row is `columnCount / type.blockSize` consecutive ggml blocks.
///
/// ```swift
/// let file = try GGUFFile(contentsOf: url)
/// let up = try file.matrix(named: "blk.0.ffn_up.weight")    // packed, e.g. Q4_K
/// let y = up.matmulTransposed(x)                            // x [..., in] -> [..., out]
/// ```
public struct GGUFMatrix: RowDequantizedMatrix {
    public let rowCount: Int
    public let columnCount: Int
    /// How the values are stored.
    public let type: GGUFTensorType
    /// The rows' blocks, `rowCount * bytesPerRow` bytes, usually read in place from the mapped file.
    private let storage: GGUFPackedBytes

    /// Creates a matrix holding a copy of its packed rows; the byte count must match (a programmer error otherwise).
    public init(rowCount: Int, columnCount: Int, type: GGUFTensorType, packed: [UInt8]) {
        self.init(rowCount: rowCount, columnCount: columnCount, type: type,
                  storage: GGUFPackedBytes(count: packed.count) { $0.copyBytes(from: packed) })
    }

    /// A matrix reading its packed rows where they are (in a mapped file, ``GGUFFile/matrix(named:rowOrder:)``);
    /// `storage` keeps them valid while the matrix, or any matrix made from it, lives.
    init(rowCount: Int, columnCount: Int, type: GGUFTensorType, storage: GGUFPackedBytes) {
        precondition(columnCount % type.blockSize == 0, "a row of \(columnCount) values is not whole \(type.name) blocks")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.type = type
        self.storage = storage
        precondition(storage.bytes.count == rowCount * bytesPerRow,
                     "packed has \(storage.bytes.count) bytes, expected \(rowCount * bytesPerRow)")
    }

    /// Bytes per row.
    public var bytesPerRow: Int { columnCount / type.blockSize * type.bytesPerBlock }

    /// Whether the packed rows are read in place (from a mapped file, or another matrix's rows) rather than held in a
    /// copy of their own.
    public var isBorrowed: Bool { storage.isBorrowed }

    /// Calls `body` with the packed rows (row `r` at byte `r * bytesPerRow`); the bytes must not escape `body`.
    public func withUnsafePackedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(storage) { try body(storage.bytes) }
    }

    /// The rows `range` as a matrix reading this one's bytes in place (no copy; the rows of a fused projection).
    public func rowBlock(_ range: Range<Int>) -> GGUFMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rowCount, "rows \(range) out of range 0..<\(rowCount)")
        let bytes = UnsafeRawBufferPointer(rebasing: storage.bytes[(range.lowerBound * bytesPerRow)..<(range.upperBound * bytesPerRow)])
        return GGUFMatrix(rowCount: range.count, columnCount: columnCount, type: type,
                          storage: GGUFPackedBytes(borrowing: bytes, owner: storage))
    }

    /// The rows at `indices`, in that order, as a copy in the stored type (no dequantizing): to undo a permutation
    /// of rows made at conversion, or to take apart a fused projection whose parts are interleaved.
    public func rowSelection(_ indices: [Int]) -> GGUFMatrix {
        let copy = withUnsafePackedBytes { stored in
            GGUFPackedBytes(count: indices.count * bytesPerRow) { destination in
                for (position, row) in indices.enumerated() {
                    precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount)")
                    destination.baseAddress!.advanced(by: position * bytesPerRow)
                        .copyMemory(from: stored.baseAddress! + row * bytesPerRow, byteCount: bytesPerRow)
                }
            }
        }
        return GGUFMatrix(rowCount: indices.count, columnCount: columnCount, type: type, storage: copy)
    }

    /// Whether both matrices read the same stored bytes (tied embeddings), without comparing them.
    public func sharesStorage(with other: GGUFMatrix) -> Bool {
        storage.bytes.baseAddress == other.storage.bytes.baseAddress && type == other.type && shape == other.shape
    }

    /// The same values as a ``HalfPrecisionMatrix`` (products through the GEMM kernels, which read 16-bit floats
    /// and can compute in bfloat16) when the type is F16 or BF16; nil for other types. The result reads this
    /// matrix's bytes in place (keeping them alive) unless they lie at an odd address, possible only in a file whose
    /// `general.alignment` is 1; then they are copied.
    public func halfPrecisionMatrix() -> HalfPrecisionMatrix? {
        let format: HalfPrecision.Format
        switch type {
        case .f16: format = .float16
        case .bf16: format = .bfloat16
        default: return nil
        }
        let count = rowCount * columnCount
        if let base = storage.bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<UInt16>.alignment == 0 {
            return HalfPrecisionMatrix(rowCount: rowCount, columnCount: columnCount, format: format,
                                       borrowing: base.assumingMemoryBound(to: UInt16.self), owner: storage)
        }
        let bits = (0..<count).map { UInt16(littleEndian: storage.bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        return HalfPrecisionMatrix(rowCount: rowCount, columnCount: columnCount, format: format, bits: bits)
    }

    public func withFusedLayout<Result>(_ body: (UnsafeRawPointer, Int, FusedQuantizedProduct.Layout) -> Result) -> Result? {
        guard FusedQuantizedProduct.ggufTypeIDs.contains(type.rawValue) else { return nil }
        return withUnsafePackedBytes { bytes in body(bytes.baseAddress!, bytesPerRow, .gguf(typeID: type.rawValue)) }
    }

    public func dequantizeRow(_ row: Int, columns: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let blockSize = type.blockSize
        if blockSize == 1 {
            withUnsafePackedBytes { bytes in
                let first = bytes.baseAddress! + row * bytesPerRow + columns.lowerBound * type.bytesPerBlock
                GGUFBlockDecoding.decodeElements(type, from: first, count: columns.count, into: destination)
            }
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: blockSize) { scratch in
            withUnsafePackedBytes { bytes in
                let rowStart = bytes.baseAddress! + row * bytesPerRow
                for block in (columns.lowerBound / blockSize)..<((columns.upperBound + blockSize - 1) / blockSize) {
                    let first = block * blockSize
                    let source = rowStart + block * type.bytesPerBlock
                    if first >= columns.lowerBound && first + blockSize <= columns.upperBound {
                        GGUFBlockDecoding.decode(type, block: source, into: destination + (first - columns.lowerBound))
                        continue
                    }
                    GGUFBlockDecoding.decode(type, block: source, into: scratch.baseAddress!)
                    for column in Swift.max(first, columns.lowerBound)..<Swift.min(first + blockSize, columns.upperBound) {
                        destination[column - columns.lowerBound] = scratch[column - first]
                    }
                }
            }
        }
    }
}
