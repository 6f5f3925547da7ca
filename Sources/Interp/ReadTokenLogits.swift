extension ChangedPositionRuns {
    /// The logits of final residual streams at the read positions, `[rows, 1, d]`, as `[rows, columns]`: when the
    /// metric reads only some logits (``Metric/readTokens``, e.g. a logit difference), only those vocabulary
    /// columns (`columns`, sorted) — a few dot products per row instead of a product with the whole vocabulary —
    /// else every logit (`columns` nil).
    func logitsAtRead(_ read: Tensor) -> (columns: [Int]?, logits: Tensor) {
        let model = runs.model, rows = read.shape[0]
        guard let columns = runs.metric.readColumns, runs.metric.readTokens?.count == runs.batch.batchSize else {
            return (nil, model.unembed(read, hooks: nil).reshaped([rows, -1]))
        }
        return (columns, model.unembed(read, columns: columns).reshaped([rows, columns.count]))
    }
}
