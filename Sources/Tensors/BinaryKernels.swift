import CKernels

extension Tensor {
    /// `self op other` elementwise (no gradient recording), broadcasting as ``zipped(with:_:)``: by the vectorized,
    /// parallel row kernel when `other` has this shape or broadcasts along leading axes only (a bias, a row
    /// vector), leading axes of size 1 aside, else by `scalar`. Both compute each element by the one IEEE
    /// operation, so they agree exactly.
    func zipped(with other: Tensor, _ kernel: nn_binary_op, _ scalar: (Float, Float) -> Float) -> Tensor {
        binaryRows(other, kernel) ?? zipped(with: other, scalar)
    }

    /// The kernel's result when `other`, without its leading axes of size 1, is this shape or a trailing part of
    /// it with at least 8 elements (`[n, d] - [1, n, d]` included, giving `[1, n, d]`); nil otherwise.
    private func binaryRows(_ other: Tensor, _ kernel: nn_binary_op) -> Tensor? {
        let core = shape.drop { $0 == 1 }, otherCore = other.shape.drop { $0 == 1 }
        guard count > 0, other.count >= 8, otherCore.count <= core.count, core.suffix(otherCore.count).elementsEqual(otherCore) else {
            return nil
        }
        let total = count
        let resultShape = Array(repeating: 1, count: Swift.max(rank, other.rank) - core.count) + core
        return Tensor.build(shape: resultShape) { out in
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in
                    let (a, b, y) = (a.baseAddress!, b.baseAddress!, out.baseAddress!)
                    if other.count == total {
                        Parallel.forRanges(total, alignment: 16) { range in
                            let lower = range.lowerBound
                            nn_binary_rows(kernel, a + lower, b + lower, 0, y + lower, 1, range.count)
                        }
                    } else {
                        let n = other.count
                        Parallel.forRanges(total / n, work: total) { rows in
                            let lower = rows.lowerBound * n
                            nn_binary_rows(kernel, a + lower, b, 0, y + lower, rows.count, n)
                        }
                    }
                }
            }
        }
    }
}
