extension EdgePatching {
    /// The metric of each variant from the final residual stream at the read positions, `[variants·batch, 1, d]`.
    ///
    /// When the metric reads only some logits (``Metric/readTokens``, e.g. a logit difference), only those columns
    /// of the unembedding are applied and every other logit is left 0: a few dot products per row instead of a
    /// product with the whole vocabulary. When it is a mean of per-example values (``Metric/rowValues``, e.g. KL), every
    /// variant's rows are evaluated in one fused pass each.
    func variantMetrics(read: Tensor, variants: Int) -> [Float] {
        let rows = pairs.count, vocabulary = model.vocabularySize
        if metric.readTokens == nil, let rowValues = metric.rowValues {
            let values = rowValues(model.unembed(read, hooks: nil).reshaped([variants * rows, -1]))
            return (0..<variants).map { v in values[(v * rows)..<((v + 1) * rows)].reduce(0, +) / Float(rows) }
        }
        guard let columns = metric.readColumns, metric.readTokens?.count == rows else {
            let logits = model.unembed(read, hooks: nil).reshaped([variants * rows, -1])
            return (0..<variants).map { v in
                metric(variants == 1 ? logits : logits.slice(axis: 0, (v * rows)..<((v + 1) * rows))).item
            }
        }
        let values = model.unembed(read, columns: columns).scalars
        return (0..<variants).map { v in
            var logits = [Float](repeating: 0, count: rows * vocabulary)
            for row in 0..<rows {
                for (j, column) in columns.enumerated() { logits[row * vocabulary + column] = values[((v * rows) + row) * columns.count + j] }
            }
            return metric(Tensor(shape: [rows, vocabulary], scalars: logits)).item
        }
    }
}
