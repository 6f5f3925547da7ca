import CKernels

/// Softmax and log-softmax, numerically stable (the row maximum is subtracted before exponentiating).
extension Tensor {
    /// `exp(x) / sum(exp(x))` along `axis`.
    ///
    /// A row whose entries are all `-inf` (a fully masked attention row, for example a padding query)
    /// gives all zeros rather than NaN, and passes no gradient.
    ///
    /// ```swift
    /// let p = Tensor(shape: [2], scalars: [0, 0]).softmax()   // [0.5, 0.5]
    /// ```
    public func softmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { $0.softmaxOfRows() }
    }

    /// `x - log(sum(exp(x)))` along `axis`. A row whose entries are all `-inf` stays `-inf`.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { $0.logSoftmaxOfRows() }
    }

    private func softmaxOfRows() -> Tensor {
        let (rows, n) = lastAxisRows
        // Rows are independent: each thread takes a block of them.
        let y = computed { x, y in
            Parallel.forRanges(rows, work: rows * n) { block in
                let offset = block.lowerBound * n
                nn_softmax_rows(x + offset, y + offset, block.count, n)
            }
        }
        return y.recorded(from: [self]) { g in
            [y.detached.computed(with: g) { nn_softmax_backward_rows($0, $1, $2, rows, n) }]
        }
    }

    private func logSoftmaxOfRows() -> Tensor {
        let (rows, n) = lastAxisRows
        let y = computed { nn_log_softmax_rows($0, $1, rows, n) }
        return y.recorded(from: [self]) { g in
            [y.detached.computed(with: g) { nn_log_softmax_backward_rows($0, $1, $2, rows, n) }]
        }
    }
}
