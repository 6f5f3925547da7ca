extension Tensor {
    /// The sum of row blocks placed into `rowCount` rows of zeros: part `p`'s row `i` (of `values`, `[n_p, width]`)
    /// is added to output row `rows[i]` (`index_add_` along axis 0, repeats allowed). Parts are added in order, so
    /// a row that several parts reach sums them in that order.
    ///
    /// The gradient of each part is the output gradient's rows `rows` (a gather).
    public static func scatterAddingRows(_ parts: [(rows: [Int], values: Tensor)], rowCount: Int, width: Int) -> Tensor {
        for part in parts {
            precondition(part.values.shape == [part.rows.count, width],
                         "scattered rows are [\(part.rows.count), \(width)], got \(part.values.shape)")
            for row in part.rows { precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount)") }
        }
        let result = Tensor.build(shape: [rowCount, width]) { out in
            out.initialize(repeating: 0)
            for part in parts {
                part.values.scalars.withUnsafeBufferPointer { source in
                    for (i, row) in part.rows.enumerated() {
                        let to = out.baseAddress! + row * width, from = source.baseAddress! + i * width
                        for k in 0..<width { to[k] += from[k] }
                    }
                }
            }
        }
        return result.recorded(from: parts.map(\.values)) { g in
            parts.map { g.indexSelect(axis: 0, $0.rows) }
        }
    }
}
