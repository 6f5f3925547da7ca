import Tensors

/// A `[rowCount, columnCount]` weight matrix kept in a packed form (MLX affine codes, GGUF blocks) whose rows are
/// dequantized on demand: the products, lookups and slices shared by every such format are written once here, in
/// terms of ``dequantizeRow(_:columns:into:)``.
///
/// Products with few rows of activations use the fused dequantize-and-dot kernel (``FusedQuantizedProduct``); larger
/// ones dequantize a block of rows at a time, so memory stays near the packed size:
///
/// ```swift
/// let y = upProjection.matmulTransposed(x)        // x [..., in] · Wᵀ -> [..., out], like nn.Linear
/// let embeddings = embedTokens.rows(tokenIDs)      // [tokens, dModel]
/// let logits = embedTokens.matmulTransposed(h)     // tied unembedding from the same packed table
/// ```
public protocol RowDequantizedMatrix: Sendable {
    /// Output features (Linear) or vocabulary entries (Embedding).
    var rowCount: Int { get }
    /// Input features (Linear) or the embedding width.
    var columnCount: Int { get }
    /// Writes the values of row `row` in `columns` to `destination` (`columns.count` floats).
    func dequantizeRow(_ row: Int, columns: Range<Int>, into destination: UnsafeMutablePointer<Float>)
    /// Calls `body` with the packed rows (row `r` at `rows + r * rowBytes`) and their layout when the C kernels of
    /// ``FusedQuantizedProduct`` read this format; returns `nil` without calling it otherwise.
    func withFusedLayout<Result>(_ body: (_ rows: UnsafeRawPointer, _ rowBytes: Int, FusedQuantizedProduct.Layout) -> Result) -> Result?
}

extension RowDequantizedMatrix {
    /// `[rowCount, columnCount]`.
    public var shape: [Int] { [rowCount, columnCount] }

    /// The whole matrix as a `Float` tensor `[rowCount, columnCount]`.
    public func dequantized() -> Tensor {
        Tensor.build(shape: shape) { out in
            for row in 0..<rowCount { dequantizeRow(row, columns: 0..<columnCount, into: out.baseAddress! + row * columnCount) }
        }
    }

    /// The dequantized rows at `indices` (an embedding lookup), `[indices.count, columnCount]`.
    public func rows(_ indices: [Int]) -> Tensor {
        Tensor.build(shape: [indices.count, columnCount]) { out in
            for (position, row) in indices.enumerated() {
                precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount)")
                dequantizeRow(row, columns: 0..<columnCount, into: out.baseAddress! + position * columnCount)
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

    public func withFusedLayout<Result>(_ body: (UnsafeRawPointer, Int, FusedQuantizedProduct.Layout) -> Result) -> Result? { nil }

    /// `x · Wᵀ` for `x` of shape `[..., columnCount]`, giving `[..., rowCount]` (differentiable in `x`).
    ///
    /// Up to ``FusedQuantizedProduct/maximumRows(depth:)`` rows of `x` (decoding, short prompts) take the fused
    /// dequantize-and-dot kernel, which reads each packed weight once; more rows dequantize blocks of rows for the
    /// `Float` GEMM.
    public func matmulTransposed(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == columnCount, "matmulTransposed needs [..., \(columnCount)], got \(x.shape)")
        let n = x.count / Swift.max(columnCount, 1)
        let input = x.detached
        let result = Tensor.build(shape: Array(x.shape.dropLast()) + [rowCount]) { out in
            input.scalars.withUnsafeBufferPointer { a in
                if n > 0 && rowCount > 0 && columnCount > 0 && n <= FusedQuantizedProduct.maximumRows(depth: columnCount),
                   withFusedLayout({ rows, rowBytes, layout in
                    FusedQuantizedProduct.multiplyTransposed(
                        x: a.baseAddress!, rows: n, weights: rows, rowBytes: rowBytes, layout: layout,
                        outputs: rowCount, depth: columnCount, into: out.baseAddress!)
                }) != nil {
                    return
                }
                forEachRowBlock { rows, block in
                    GEMM.multiply(m: n, n: rows.count, k: columnCount, a: a.baseAddress!, lda: columnCount,
                                  b: block, ldb: columnCount, transposeB: true,
                                  c: out.baseAddress! + rows.lowerBound, ldc: rowCount)
                }
            }
        }
        return result.recorded(from: [x]) { gradient in [self.matmul(gradient.detached)] }
    }

    /// `y · W` for `y` of shape `[..., rowCount]`, giving `[..., columnCount]` (differentiable in `y`).
    public func matmul(_ y: Tensor) -> Tensor {
        precondition(y.shape.last == rowCount, "matmul needs [..., \(rowCount)], got \(y.shape)")
        let n = y.count / Swift.max(rowCount, 1)
        let input = y.detached
        let result = Tensor.build(shape: Array(y.shape.dropLast()) + [columnCount]) { out in
            guard rowCount > 0 else { return out.initialize(repeating: 0) }
            input.scalars.withUnsafeBufferPointer { a in
                forEachRowBlock { rows, block in
                    GEMM.multiply(m: n, n: columnCount, k: rows.count, a: a.baseAddress! + rows.lowerBound, lda: rowCount,
                                  b: block, ldb: columnCount, c: out.baseAddress!, ldc: columnCount,
                                  beta: rows.lowerBound == 0 ? 0 : 1)
                }
            }
        }
        return result.recorded(from: [y]) { gradient in [self.matmulTransposed(gradient.detached)] }
    }

    /// Calls `body` with consecutive row ranges and their dequantized rows (`[rows.count, columnCount]`, about
    /// 4 MB at a time, dequantized in parallel, by the vectorized C decoders where the format has them), so a
    /// product reads the packed matrix once and never holds it whole in `Float`.
    private func forEachRowBlock(_ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        guard rowCount > 0 && columnCount > 0 else { return }
        let rowsPerBlock = Swift.min(rowCount, Swift.max(1, (1 << 20) / columnCount))
        let block = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerBlock * columnCount)
        defer { block.deallocate() }
        for start in stride(from: 0, to: rowCount, by: rowsPerBlock) {
            let rows = start..<Swift.min(start + rowsPerBlock, rowCount)
            Parallel.forEach(rows.count) { i in
                let row = start + i
                if withFusedLayout({ packed, rowBytes, layout in
                    FusedQuantizedProduct.dequantize(weights: packed, rowBytes: rowBytes, layout: layout, outputs: rowCount,
                                                     depth: columnCount, rowRange: row..<row + 1, into: block + i * columnCount)
                }) == nil {
                    dequantizeRow(row, columns: 0..<columnCount, into: block + i * columnCount)
                }
            }
            body(rows, block)
        }
    }
}
