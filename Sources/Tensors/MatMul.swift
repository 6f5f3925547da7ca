/// Matrix products. `[..., m, k] x [..., k, n] -> [..., m, n]`, batch axes broadcast.
extension Tensor {
    /// The matrix product of the last two axes, optionally transposing either operand first.
    ///
    /// ```swift
    /// let y = x.matmul(weight, transposeOther: true)   // x · Wᵀ, as torch.nn.Linear
    /// ```
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        let a = transposeSelf ? self.transposed() : self
        let b = transposeOther ? other.transposed() : other
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank >= 2, got \(a.shape) and \(b.shape)")
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        precondition(b.shape[b.rank - 2] == k, "matmul inner dimensions differ: \(a.shape) x \(b.shape)")
        let batch = Broadcast.shape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)))
        let aFull = a.broadcast(to: batch + [m, k]).detached, bFull = b.broadcast(to: batch + [k, n]).detached
        let batches = batch.reduce(1, *)
        let result = Tensor.build(shape: batch + [m, n]) { out in
            for p in 0..<batches {
                for i in 0..<m {
                    for j in 0..<n {
                        var acc: Float = 0
                        for l in 0..<k { acc += aFull.scalars[p * m * k + i * k + l] * bFull.scalars[p * k * n + l * n + j] }
                        out[p * m * n + i * n + j] = acc
                    }
                }
            }
        }
        return result.recorded(from: [a, b]) { g in
            [g.matmul(b.detached, transposeOther: true), a.detached.matmul(g, transposeSelf: true)]
        }
    }
}
