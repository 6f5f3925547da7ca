/// A `[rowCount, columnCount]` matrix of 16-bit floats (bfloat16 or float16), used as a weight without
/// converting it: products widen it to `Float` inside the GEMM kernel, lookups widen only the rows or
/// columns they read. Memory stays at two bytes per element, and the bits may live in a memory-mapped
/// checkpoint (see ``init(rowCount:columnCount:format:borrowing:owner:)``).
///
/// Widening is exact, so every result equals the same operation on ``floats()``, bit for bit; activations
/// and accumulation stay `Float`.
///
/// ```swift
/// let w = HalfPrecisionMatrix(rounding: weight, to: .bfloat16)   // [out, in]
/// let y = w.matmulTransposed(x)                                  // x [..., in] · Wᵀ -> [..., out], like nn.Linear
/// let embeddings = w.rows(tokenIDs)                              // [tokens, in]
/// ```
public struct HalfPrecisionMatrix: @unchecked Sendable {
    /// Output features (Linear) or vocabulary entries (Embedding).
    public let rowCount: Int
    /// Input features (Linear) or the embedding width.
    public let columnCount: Int
    /// The element format.
    public let format: HalfPrecision.Format
    /// The arithmetic of ``matmulTransposed(_:)`` (the forward product); ``ComputePrecision/bfloat16`` rounds
    /// float16 elements to bfloat16 as they are read. Other products (``matmul(_:)``, lookups) stay exact `Float`.
    public var computePrecision: ComputePrecision = .float32
    private let storage: Storage

    /// Keeps the bits alive: an owned allocation, or a borrowed pointer with the object that owns it.
    private final class Storage {
        let bits: UnsafePointer<UInt16>
        private let owner: AnyObject?
        private let allocation: UnsafeMutablePointer<UInt16>?

        init(copying values: [UInt16]) {
            let allocation = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(values.count, 1))
            _ = UnsafeMutableBufferPointer(start: allocation, count: values.count).initialize(from: values)
            self.allocation = allocation
            bits = UnsafePointer(allocation)
            owner = nil
        }

        init(borrowing bits: UnsafePointer<UInt16>, owner: AnyObject) {
            self.bits = bits
            self.owner = owner
            allocation = nil
        }

        deinit { allocation?.deallocate() }
    }

    /// A matrix holding a copy of `bits` (row-major, `rowCount * columnCount` values of `format`).
    public init(rowCount: Int, columnCount: Int, format: HalfPrecision.Format, bits: [UInt16]) {
        precondition(rowCount >= 0 && columnCount >= 0 && bits.count == rowCount * columnCount,
                     "\(bits.count) values cannot form a [\(rowCount), \(columnCount)] matrix")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.format = format
        storage = Storage(copying: bits)
    }

    /// A matrix reading `rowCount * columnCount` values of `format` where they are (for example in a mapped
    /// file); `owner` is kept alive as long as the matrix and must keep `bits` valid and unchanged.
    public init(rowCount: Int, columnCount: Int, format: HalfPrecision.Format, borrowing bits: UnsafePointer<UInt16>,
                owner: AnyObject) {
        precondition(rowCount >= 0 && columnCount >= 0, "negative matrix shape [\(rowCount), \(columnCount)]")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.format = format
        storage = Storage(borrowing: bits, owner: owner)
    }

    /// The matrix `tensor` (rank 2) rounded to `format` (nearest, ties to even).
    public init(rounding tensor: Tensor, to format: HalfPrecision.Format) {
        precondition(tensor.rank == 2, "a half-precision matrix is rank 2, got \(tensor.shape)")
        self.init(rowCount: tensor.shape[0], columnCount: tensor.shape[1], format: format,
                  bits: HalfPrecision.bits(from: tensor.scalars, format: format))
    }

    /// `[rowCount, columnCount]`.
    public var shape: [Int] { [rowCount, columnCount] }

    /// Whether both matrices read the same stored bits (tied embeddings), without comparing elements.
    public func sharesStorage(with other: HalfPrecisionMatrix) -> Bool {
        storage.bits == other.storage.bits && shape == other.shape && format == other.format
    }

    /// The rows `range` as a matrix reading this one's bits in place (no copy).
    public func rowBlock(_ range: Range<Int>) -> HalfPrecisionMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rowCount, "rows \(range) out of range 0..<\(rowCount)")
        var block = HalfPrecisionMatrix(rowCount: range.count, columnCount: columnCount, format: format,
                                        borrowing: storage.bits + range.lowerBound * columnCount, owner: storage)
        block.computePrecision = computePrecision
        return block
    }

    /// The transpose `[columnCount, rowCount]`, copied (still 16-bit).
    public func transposed() -> HalfPrecisionMatrix {
        let bits = withUnsafeBits { bits in
            [UInt16](unsafeUninitializedCapacity: bits.count) { out, initialized in
                for row in 0..<rowCount {
                    for column in 0..<columnCount { out[column * rowCount + row] = bits[row * columnCount + column] }
                }
                initialized = bits.count
            }
        }
        var transpose = HalfPrecisionMatrix(rowCount: columnCount, columnCount: rowCount, format: format, bits: bits)
        transpose.computePrecision = computePrecision
        return transpose
    }

    /// Calls `body` with the row-major bits; they must not escape `body`.
    public func withUnsafeBits<Result>(_ body: (UnsafeBufferPointer<UInt16>) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: storage.bits, count: rowCount * columnCount))
        }
    }

    /// The whole matrix widened to a `Float` tensor `[rowCount, columnCount]`.
    public func floats() -> Tensor { rows(Array(0..<rowCount)) }

    /// The rows at `indices` widened to `Float` (an embedding lookup), `[indices.count, columnCount]`.
    public func rows(_ indices: [Int]) -> Tensor {
        Tensor.build(shape: [indices.count, columnCount]) { out in
            withUnsafeBits { bits in
                for (position, row) in indices.enumerated() {
                    precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount)")
                    HalfPrecision.widen(bits.baseAddress! + row * columnCount, format: format, count: columnCount,
                                        into: out.baseAddress! + position * columnCount)
                }
            }
        }
    }

    /// The columns `range` of every row widened to `Float` (one head's block of an output projection),
    /// `[rowCount, range.count]`.
    public func columns(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= columnCount, "columns \(range) out of range 0..<\(columnCount)")
        return Tensor.build(shape: [rowCount, range.count]) { out in
            withUnsafeBits { bits in
                for row in 0..<rowCount {
                    HalfPrecision.widen(bits.baseAddress! + row * columnCount + range.lowerBound, format: format,
                                        count: range.count, into: out.baseAddress! + row * range.count)
                }
            }
        }
    }

    /// `x · Wᵀ + bias` for `x` of shape `[..., columnCount]`, giving `[..., rowCount]` (as `torch.nn.Linear`;
    /// differentiable in `x` and `bias`). One GEMM that widens W as it packs or reads it and adds the bias (`[rowCount]`)
    /// as it stores each finished element: the bits of the product followed by `+ bias`.
    public func matmulTransposed(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(x.shape.last == columnCount, "matmulTransposed needs [..., \(columnCount)], got \(x.shape)")
        precondition(bias == nil || bias!.shape == [rowCount], "bias must be [\(rowCount)], got \(bias!.shape)")
        let result = product(x, outputs: rowCount, depth: columnCount, transposed: true, compute: computePrecision, bias: bias)
        return result.recorded(from: [x] + (bias.map { [$0] } ?? [])) { gradient in
            [self.matmul(gradient.detached), gradient]
        }
    }

    /// `y · W` for `y` of shape `[..., rowCount]`, giving `[..., columnCount]` (differentiable in `y`).
    ///
    /// When few columns of `y` have a nonzero (the gradient of a logit difference through a tied unembedding),
    /// only the rows of W they select are widened and read.
    public func matmul(_ y: Tensor) -> Tensor {
        precondition(y.shape.last == rowCount, "matmul needs [..., \(rowCount)], got \(y.shape)")
        let result = Tensor.sparseColumnsProduct(y, rowCount: rowCount, columnCount: columnCount, rows: { self.rows($0) })
            ?? product(y, outputs: columnCount, depth: rowCount, transposed: false, compute: .float32)
        return result.recorded(from: [y]) { gradient in [self.matmulTransposed(gradient.detached)] }
    }

    /// `x · op(W) (+ bias)` with `x` `[..., depth]` as one `(rows) x depth x outputs` GEMM.
    private func product(_ x: Tensor, outputs: Int, depth: Int, transposed: Bool, compute: ComputePrecision,
                         bias: Tensor? = nil) -> Tensor {
        let rows = x.count / Swift.max(depth, 1)
        let shape = Array(x.shape.dropLast()) + [outputs]
        guard rows > 0 && outputs > 0 else { return Tensor.zeros(shape) }
        guard depth > 0 else { return bias.map { $0.detached.broadcast(to: shape) } ?? Tensor.zeros(shape) }
        return Tensor.build(shape: shape) { out in
            x.scalars.withUnsafeBufferPointer { a in
                withUnsafeBits { bits in
                    (bias?.scalars ?? []).withUnsafeBufferPointer { biasValues in
                        GEMM.multiply(m: rows, n: outputs, k: depth, a: a.baseAddress!, lda: depth,
                                      b: bits.baseAddress!, format: format, ldb: columnCount, transposeB: transposed,
                                      c: out.baseAddress!, ldc: outputs, bias: bias == nil ? nil : biasValues.baseAddress,
                                      compute: compute)
                    }
                }
            }
        }
    }
}
