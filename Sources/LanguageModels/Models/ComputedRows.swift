import Tensors

extension Tensor {
    /// `body` (a token-wise map such as a projection) applied to the rows `rows` (`sequence * positions +
    /// position`) of this `[batch, positions, width]` tensor only, the other rows of the result zeros; `body` gets
    /// `[1, rows.count, width]` and returns `[1, rows.count, ...]`. Nil `rows`: `body(self)`.
    func onRows(_ rows: [Int]?, _ body: (Tensor) -> Tensor) -> Tensor {
        guard let rows, rank == 3, !isTracked else { return body(self) }
        let width = shape[2]
        let picked = body(reshaped([-1, width]).indexSelect(axis: 0, rows).reshaped([1, rows.count, width]))
        let outputWidth = rows.isEmpty ? 0 : picked.count / rows.count
        let values = picked.scalars
        let result = Tensor.build(shape: [shape[0] * shape[1], outputWidth]) { out in
            out.initialize(repeating: 0)
            values.withUnsafeBufferPointer { source in
                for (i, row) in rows.enumerated() {
                    (out.baseAddress! + row * outputWidth).update(from: source.baseAddress! + i * outputWidth, count: outputWidth)
                }
            }
        }
        return result.reshaped([shape[0], shape[1]] + Array(picked.shape.dropFirst(2)))
    }
}

extension Linear {
    /// Whether the weight is a dense Float32 matrix: its products follow ``GEMM/sameResults(rows:otherRows:)``.
    var isDense: Bool {
        if case .dense = matrix { return true }
        return false
    }
}
