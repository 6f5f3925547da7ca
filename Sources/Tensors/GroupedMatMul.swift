import CKernels

/// Per-group products with blocks of one weight matrix, reading and writing every operand in place.
///
/// Attention's per-head paths multiply each head's slice of an activation `[N, groups, k]` by that head's
/// block of a weight: the q/k/v projections of split inputs use a block of rows of `W_Q` (`[groups·n, k]`),
/// the per-head results use a block of columns of `W_O` (`[n, groups·k]`). Each group is one GEMM whose
/// operands are strided views (leading dimensions `groups·k`, `groups·n`), so no permuted copy of the
/// activation, the weight or the output is made, forwards or backwards.
extension Tensor {
    /// Which block of the weight group `g` uses.
    public enum WeightBlocks: Sendable {
        /// The weight is `[groups·n, k]`; group `g` uses rows `g·n ..< (g+1)·n` (a split linear map).
        case rows
        /// The weight is `[n, groups·k]`; group `g` uses columns `g·k ..< (g+1)·k` (a split output projection).
        case columns
    }

    /// `y[..., g, :] = x[..., g, :] · W_gᵀ` for `x` of shape `[..., groups, k]`, where `W_g` is group `g`'s
    /// `[n, k]` block of `weight`; the result is `[..., groups, n]`.
    ///
    /// ```swift
    /// // Each head reads its own residual copy: x [batch, pos, heads, d], W_Q [heads·dHead, d].
    /// let q = x.groupedMatmul(wQ, blocks: .rows)                  // [batch, pos, heads, dHead]
    /// // Each head's write: z [batch, pos, heads, dHead], W_O [d, heads·dHead].
    /// let result = z.groupedMatmul(wO, blocks: .columns)          // [batch, pos, heads, d]
    /// ```
    public func groupedMatmul(_ weight: Tensor, blocks: WeightBlocks) -> Tensor {
        precondition(rank >= 2 && weight.rank == 2, "groupedMatmul expects [..., groups, k] and a matrix, got \(shape) and \(weight.shape)")
        let groups = shape[rank - 2], k = shape[rank - 1]
        let layout = GroupedLayout(groups: groups, k: k, weightShape: weight.shape, blocks: blocks)
        precondition(layout.n * groups * k == weight.count,
                     "groupedMatmul: weight \(weight.shape) does not hold \(groups) blocks of \(k) columns (\(blocks))")
        let rows = count / (groups * k), n = layout.n, step = layout.step, ld = layout.ld
        let x = detached, w = weight.detached
        let output = Tensor.build(shape: Array(shape.dropLast()) + [n]) { out in
            Tensor.groupedGEMM(groups: groups, m: rows, n: n, k: k, a: x.scalars, aStep: k, lda: groups * k,
                               b: w.scalars, bStep: step, ldb: ld, transposeB: true, c: out.baseAddress!, cStep: n, ldc: groups * n)
        }
        let xTracked = isTracked, wTracked = weight.isTracked
        let xShape = shape
        return output.recorded(from: [self, weight]) { gradient in
            let g = gradient.detached
            // dx_g = dy_g · W_g
            let dx = !xTracked ? nil : Tensor.build(shape: xShape) { out in
                Tensor.groupedGEMM(groups: groups, m: rows, n: k, k: n, a: g.scalars, aStep: n, lda: groups * n,
                                   b: w.scalars, bStep: step, ldb: ld, c: out.baseAddress!, cStep: k, ldc: groups * k)
            }
            // dW_g = dy_gᵀ · x_g, written into W_g's block (the blocks tile the weight).
            let dw = !wTracked ? nil : Tensor.build(shape: w.shape) { out in
                Tensor.groupedGEMM(groups: groups, m: n, n: k, k: rows, a: g.scalars, aStep: n, lda: groups * n, transposeA: true,
                                   b: x.scalars, bStep: k, ldb: groups * k, c: out.baseAddress!, cStep: step, ldc: ld)
            }
            return [dx, dw]
        }
    }

    /// The input gradients of ``groupedMatmul(_:blocks:)`` with `.rows` for the gradient `self` of its output,
    /// laid out group-major: `self` is `[..., groups, n]`, `weight` is `[groups·n, k]`, and the result is
    /// `[groups, ..., k]` with `result[g] = self[..., g, :] · W_g` (one GEMM per group, no weight copy).
    ///
    /// ```swift
    /// // ∂m/∂(each head's copy of the normalized residual) from ∂m/∂q [batch, pos, heads, dHead]:
    /// let perHead = gradientOfQ.groupMajorInputGradients(rowBlocksOf: wQ)   // [heads, batch, pos, d]
    /// ```
    public func groupMajorInputGradients(rowBlocksOf weight: Tensor) -> Tensor {
        precondition(rank >= 2 && weight.rank == 2, "groupMajorInputGradients expects [..., groups, n] and a matrix, got \(shape) and \(weight.shape)")
        let groups = shape[rank - 2], n = shape[rank - 1], k = weight.shape[1]
        precondition(weight.shape[0] == groups * n, "weight \(weight.shape) does not hold \(groups) row blocks of \(n)")
        let rows = count / (groups * n)
        let g = detached, w = weight.detached
        return Tensor.build(shape: [groups] + Array(shape.dropLast(2)) + [k]) { out in
            Tensor.groupedGEMM(groups: groups, m: rows, n: k, k: n, a: g.scalars, aStep: n, lda: groups * n,
                               b: w.scalars, bStep: n * k, ldb: k, c: out.baseAddress!, cStep: rows * k, ldc: k)
        }
    }

    /// One GEMM per group, `C_g = op(A_g) · op(B_g)`, where operand `X_g` starts `g · xStep` elements into `X`
    /// and has row stride `ldx`; the groups run in parallel.
    static func groupedGEMM(groups: Int, m: Int, n: Int, k: Int, a: [Float], aStep: Int, lda: Int, transposeA: Bool = false,
                            b: [Float], bStep: Int, ldb: Int, transposeB: Bool = false,
                            c: UnsafeMutablePointer<Float>, cStep: Int, ldc: Int) {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                GEMM.run((0..<groups).map { g in
                    ck_sgemm_args(
                        transpose_a: transposeA ? 1 : 0, transpose_b: transposeB ? 1 : 0, m: m, n: n, k: k, alpha: 1,
                        a: a.baseAddress! + g * aStep, lda: lda, b: b.baseAddress! + g * bStep, ldb: ldb,
                        beta: 0, c: c + g * cStep, ldc: ldc, path: CK_GEMM_PATH_AUTOMATIC)
                })
            }
        }
    }
}

/// The weight blocks of ``Tensor/groupedMatmul(_:blocks:)``: group `g`'s `[n, k]` block starts `g · step`
/// elements into the weight, whose row stride is `ld`.
private struct GroupedLayout {
    let n, step, ld: Int

    init(groups: Int, k: Int, weightShape: [Int], blocks: Tensor.WeightBlocks) {
        ld = weightShape[1]
        switch blocks {
        case .rows: n = weightShape[0] / groups; step = n * k
        case .columns: n = weightShape[0]; step = k
        }
    }
}
