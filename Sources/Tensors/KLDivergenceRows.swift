import CKernels

extension Tensor {
    /// KL(reference ‖ softmax(row)) of each row of these `[rows, n]` logits, `Σ_j p_j (log p_j − log q_j)`, with row
    /// `i` compared with row `i % referenceRows` of the reference (its log-probabilities `referenceLog` and
    /// probabilities `referenceProbabilities`, `[referenceRows, n]`): several runs of one batch at once, one fused
    /// pass per row and no `[rows, n]` temporaries. Each row's value depends only on that row (not on how many rows
    /// there are); it equals the log-softmax form up to the order of the sum. Not recorded on the gradient tape.
    public func klDivergenceRows(referenceLog: Tensor, referenceProbabilities: Tensor) -> [Float] {
        let (rows, n) = lastAxisRows
        let referenceRows = referenceLog.lastAxisRows.rows
        precondition(referenceLog.shape.last == n && referenceProbabilities.shape == referenceLog.shape,
                     "KL rows need references of \(n) columns like the logits, got \(referenceLog.shape) and \(referenceProbabilities.shape)")
        precondition(referenceRows > 0 && rows % referenceRows == 0,
                     "\(rows) logit rows are not a whole number of batches of \(referenceRows) reference rows")
        var values = [Float](repeating: 0, count: rows)
        scalars.withUnsafeBufferPointer { x in
            referenceLog.scalars.withUnsafeBufferPointer { log in
                referenceProbabilities.scalars.withUnsafeBufferPointer { p in
                    values.withUnsafeMutableBufferPointer { out in
                        let (x, log, p, out) = (x.baseAddress!, log.baseAddress!, p.baseAddress!, out.baseAddress!)
                        Parallel.forRanges(rows, work: rows * n) { block in
                            for row in block {
                                let reference = (row % referenceRows) * n
                                nn_kl_divergence_rows(x + row * n, log + reference, p + reference, out + row, 1, n)
                            }
                        }
                    }
                }
            }
        }
        return values
    }
}
