import CKernels

/// Matrix products. `[..., m, k] x [..., k, n] -> [..., m, n]`, batch axes broadcast.
extension Tensor {
    /// The matrix product of the last two axes, optionally transposing either operand first, plus `bias` (`[n]`,
    /// broadcast over the rows) when given.
    ///
    /// Transposes are not materialized: the GEMM kernel reads the operands in place. When `other` has no
    /// batch axes (a weight matrix), all of `self`'s rows go through one product, so `x [batch, tokens, in]`
    /// times `W` is a single `(batch·tokens) x in x out` GEMM. The bias is added as the kernel stores each finished
    /// element, which gives the bits of `matmul` followed by `+ bias` without a second pass over the result.
    ///
    /// ```swift
    /// let y = x.matmul(weight, transposeOther: true, bias: b)   // x · Wᵀ + b, as torch.nn.Linear
    /// ```
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false, bias: Tensor? = nil) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs rank >= 2, got \(shape) and \(other.shape)")
        let m = shape[rank - (transposeSelf ? 1 : 2)], k = shape[rank - (transposeSelf ? 2 : 1)]
        let otherK = other.shape[other.rank - (transposeOther ? 1 : 2)]
        let n = other.shape[other.rank - (transposeOther ? 2 : 1)]
        precondition(otherK == k, "matmul inner dimensions differ: \(shape)\(transposeSelf ? "ᵀ" : "") x "
                     + "\(other.shape)\(transposeOther ? "ᵀ" : "")")
        precondition(bias == nil || bias!.shape == [n], "matmul bias must be [\(n)], got \(bias!.shape)")
        let selfBatch = Array(shape.dropLast(2)), otherBatch = Array(other.shape.dropLast(2))
        let batch = Broadcast.shape(selfBatch, otherBatch)
        let result = Tensor.build(shape: batch + [m, n]) { out in
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in
                    (bias?.scalars ?? []).withUnsafeBufferPointer { biasValues in
                        var base = ck_sgemm_args(
                            transpose_a: transposeSelf ? 1 : 0, transpose_b: transposeOther ? 1 : 0,
                            m: m, n: n, k: k, alpha: 1, a: a.baseAddress, lda: transposeSelf ? m : k,
                            b: b.baseAddress, ldb: transposeOther ? k : n, beta: 0, c: out.baseAddress, ldc: n,
                            path: CK_GEMM_PATH_AUTOMATIC)
                        base.bias = bias == nil ? nil : biasValues.baseAddress
                        GEMM.run(Tensor.batchProblems(base, selfBatch: selfBatch, otherBatch: otherBatch, batch: batch))
                    }
                }
            }
        }
        let a = detached, b = other.detached
        // Only tracked operands get a gradient: activations times a constant weight (every layer when taking
        // gradients with respect to activations) then cost one GEMM backwards instead of two. The bias's gradient
        // is the output gradient, which the tape sums over the rows.
        let selfTracked = isTracked, otherTracked = other.isTracked
        return result.recorded(from: [self, other] + (bias.map { [$0] } ?? [])) { g in
            [selfTracked ? Tensor.matmulGradientOfSelf(a, b, g, transposeSelf: transposeSelf, transposeOther: transposeOther) : nil,
             otherTracked ? Tensor.matmulGradientOfOther(a, b, g, transposeSelf: transposeSelf, transposeOther: transposeOther) : nil]
                + (bias == nil ? [] : [g])
        }
    }

    /// One GEMM problem per matrix of the broadcast batch, or a single problem when `other` is one matrix
    /// and `self`'s matrices can be stacked into one tall operand.
    static func batchProblems(_ base: ck_sgemm_args, selfBatch: [Int], otherBatch: [Int], batch: [Int]) -> [ck_sgemm_args] {
        let batchCount = batch.reduce(1, *)
        if otherBatch.reduce(1, *) == 1 && base.transpose_a == 0 {
            var stacked = base
            stacked.m = base.m * batchCount
            return [stacked]
        }
        let selfStrides = Broadcast.strides(of: selfBatch, in: batch)
        let otherStrides = Broadcast.strides(of: otherBatch, in: batch)
        let batchStrides = Tensor.strides(for: batch)
        return (0..<batchCount).map { index in
            var problem = base
            var selfMatrix = 0, otherMatrix = 0
            for axis in batch.indices {
                let position = index / batchStrides[axis] % batch[axis]
                selfMatrix += position * selfStrides[axis]
                otherMatrix += position * otherStrides[axis]
            }
            problem.a = base.a.map { $0 + selfMatrix * base.m * base.k }
            problem.b = base.b.map { $0 + otherMatrix * base.k * base.n }
            problem.c = base.c.map { $0 + index * base.m * base.n }
            return problem
        }
    }

    /// The gradient with respect to `a` of `a.matmul(b, ...)` given the output gradient `g`.
    static func matmulGradientOfSelf(_ a: Tensor, _ b: Tensor, _ g: Tensor, transposeSelf: Bool, transposeOther: Bool) -> Tensor {
        if !transposeSelf && transposeOther && b.rank == 2,
           let product = sparseColumnsProduct(g, rowCount: b.shape[0], columnCount: b.shape[1], rows: { b.detached.indexSelect(axis: 0, $0) }) {
            return product
        }
        // d op(A) = g · op(B)ᵀ; for a transposed A, dA = (g · op(B)ᵀ)ᵀ = op(B) · gᵀ.
        return transposeSelf
            ? b.matmul(g, transposeSelf: transposeOther, transposeOther: true)
            : g.matmul(b, transposeOther: !transposeOther)
    }

    /// `g · W` (`g` `[..., N]`, `W` `[N, K]`, whose rows at given indices `rows` returns as a `Float` tensor)
    /// reading only the rows of `W` whose column of `g` has a nonzero, or nil when more than 1/8 of the columns
    /// do. This is the input gradient of `x · Wᵀ` when the upstream gradient touches few outputs: a logit
    /// difference reads two logits of a whole vocabulary, so the unembedding's backward pass reads a few rows
    /// instead of all of them. Skipped terms are exact zeros.
    static func sparseColumnsProduct(_ g: Tensor, rowCount n: Int, columnCount k: Int, rows pick: ([Int]) -> Tensor) -> Tensor? {
        let rows = g.count / Swift.max(n, 1)
        guard n >= 64, g.shape.last == n else { return nil }
        var used = [Bool](repeating: false, count: n), usedCount = 0
        let dense: Bool = g.scalars.withUnsafeBufferPointer { values in
            for r in 0..<rows {
                let row = values.baseAddress! + r * n
                for j in 0..<n where row[j] != 0 && !used[j] {
                    used[j] = true
                    usedCount += 1
                    if usedCount * 8 > n { return true }
                }
            }
            return false
        }
        if dense { return nil }
        let columns = used.indices.filter { used[$0] }
        let flat = g.detached.reshaped([rows, n])
        guard !columns.isEmpty else { return Tensor.zeros(Array(g.shape.dropLast()) + [k]) }
        let picked = flat.indexSelect(axis: 1, columns).matmul(pick(columns))
        return picked.reshaped(Array(g.shape.dropLast()) + [k])
    }

    /// The gradient with respect to `b` of `a.matmul(b, ...)` given the output gradient `g`.
    static func matmulGradientOfOther(_ a: Tensor, _ b: Tensor, _ g: Tensor, transposeSelf: Bool, transposeOther: Bool) -> Tensor {
        var a = a, g = g
        if b.rank == 2 && a.rank > 2 && !transposeSelf {
            // One weight matrix shared by the batch: sum over the batch inside a single GEMM.
            a = a.reshaped([-1, a.shape[a.rank - 1]])
            g = g.reshaped([-1, g.shape[g.rank - 1]])
        }
        // d op(B) = op(A)ᵀ · g; for a transposed B, dB = (op(A)ᵀ · g)ᵀ = gᵀ · op(A).
        return transposeOther
            ? g.matmul(a, transposeSelf: true, transposeOther: transposeSelf)
            : a.matmul(g, transposeSelf: !transposeSelf)
    }
}
