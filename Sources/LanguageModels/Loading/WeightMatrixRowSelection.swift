import Tensors

extension WeightMatrix {
    /// The rows at `indices`, in that order, in the stored form where it has one: 16-bit rows are copied as 16-bit
    /// bits (no widening), dense rows stay `Float`, quantized and GGUF rows stay packed. Used to take q, k and v
    /// apart from a fused projection whose parts are interleaved (GPT-NeoX's per-head `query_key_value`).
    public func rowSelection(_ indices: [Int]) -> WeightMatrix {
        switch self {
        case .dense(let tensor):
            return .dense(tensor.indexSelect(axis: 0, indices))
        case .halfPrecision(let matrix):
            let columns = matrix.columnCount
            let bits = matrix.withUnsafeBits { bits in
                [UInt16](unsafeUninitializedCapacity: indices.count * columns) { out, initialized in
                    for (position, row) in indices.enumerated() {
                        precondition(row >= 0 && row < matrix.rowCount, "row \(row) out of range 0..<\(matrix.rowCount)")
                        for column in 0..<columns { out[position * columns + column] = bits[row * columns + column] }
                    }
                    initialized = indices.count * columns
                }
            }
            var selected = HalfPrecisionMatrix(rowCount: indices.count, columnCount: columns, format: matrix.format, bits: bits)
            selected.computePrecision = matrix.computePrecision
            return .halfPrecision(selected)
        case .quantized(let matrix):
            return .quantized(matrix.rowSelection(indices))
        case .gguf(let matrix):
            return .gguf(matrix.rowSelection(indices))
        }
    }
}
