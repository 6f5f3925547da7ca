import Tensors

/// A `[out, in]` weight matrix of a Linear or Embedding layer, stored densely, MLX-quantized or in a GGUF type.
///
/// Model code uses the same calls either way:
///
/// ```swift
/// let qProj = try weights.weightMatrix(module: "model.layers.0.self_attn.q_proj", shape: [64, 64],
///                                      quantization: configuration.quantization)
/// let q = qProj.matmulTransposed(x)   // x [..., 64] -> [..., 64]
/// ```
public enum WeightMatrix {
    /// A `Float` tensor `[out, in]`.
    case dense(Tensor)
    /// Packed codes with per-group scales and biases.
    case quantized(QuantizedMatrix)
    /// A GGUF tensor kept in its stored type (F16, BF16, Q8_0, Q4_K, ...).
    case gguf(GGUFMatrix)

    /// `[out, in]`.
    public var shape: [Int] {
        switch self {
        case .dense(let tensor): return tensor.shape
        case .quantized(let matrix): return matrix.shape
        case .gguf(let matrix): return matrix.shape
        }
    }

    /// `x · Wᵀ` for `x` of shape `[..., in]`, giving `[..., out]` (as `torch.nn.Linear` without bias).
    public func matmulTransposed(_ x: Tensor) -> Tensor {
        switch self {
        case .dense(let tensor): return x.matmul(tensor, transposeOther: true)
        case .quantized(let matrix): return matrix.matmulTransposed(x)
        case .gguf(let matrix): return matrix.matmulTransposed(x)
        }
    }

    /// The rows at `indices` (an embedding lookup), `[indices.count, in]`.
    public func rows(_ indices: [Int]) -> Tensor {
        switch self {
        case .dense(let tensor): return tensor.indexSelect(axis: 0, indices)
        case .quantized(let matrix): return matrix.rows(indices)
        case .gguf(let matrix): return matrix.rows(indices)
        }
    }

    /// The columns `range` of every row (one head's block of an output projection), `[out, range.count]`.
    public func columns(_ range: Range<Int>) -> Tensor {
        switch self {
        case .dense(let tensor): return tensor.slice(axis: 1, range)
        case .quantized(let matrix): return matrix.columns(range)
        case .gguf(let matrix): return matrix.columns(range)
        }
    }

    /// Whether both matrices are the same stored values (tied embeddings), without comparing elements.
    public func sharesStorage(with other: WeightMatrix) -> Bool {
        func address<T>(_ array: [T]) -> UnsafeRawPointer? { array.withUnsafeBytes { $0.baseAddress } }
        switch (self, other) {
        case let (.dense(a), .dense(b)): return address(a.scalars) == address(b.scalars)
        case let (.quantized(a), .quantized(b)): return address(a.packed) == address(b.packed)
        case let (.gguf(a), .gguf(b)): return address(a.packed) == address(b.packed)
        default: return false
        }
    }

    /// The matrix as a dense `Float` tensor.
    public func dequantized() -> Tensor {
        switch self {
        case .dense(let tensor): return tensor
        case .quantized(let matrix): return matrix.dequantized()
        case .gguf(let matrix): return matrix.dequantized()
        }
    }
}

extension WeightStore {
    /// The weight of the Linear or Embedding module at `module` (e.g. `model.layers.0.mlp.up_proj`), checked
    /// to be `[out, in]`: quantized when the checkpoint has `module.scales`, dense `module.weight` otherwise.
    public func weightMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> WeightMatrix {
        guard has("\(module).scales") else {
            return .dense(try tensor(named: "\(module).weight", shape: shape))
        }
        guard let quantization else {
            throw LoadingError("\(module).scales: the checkpoint is MLX-quantized but config.json has no 'quantization' settings")
        }
        switch quantization.setting(forModule: module) {
        case .unquantized:
            throw LoadingError("\(module).scales: config.json's quantization marks \(module) unquantized, but the checkpoint has scales for it")
        case .quantized(let groupSize, let bits):
            return .quantized(try quantizedMatrix(module: module, shape: shape, groupSize: groupSize, bits: bits))
        }
    }

    /// Reads `module.weight` (`U32` codes), `module.scales` and `module.biases` as a `[out, in]` matrix,
    /// checking every shape against `shape`, `groupSize` and `bits`.
    public func quantizedMatrix(module: String, shape: [Int], groupSize: Int, bits: Int) throws -> QuantizedMatrix {
        precondition(shape.count == 2, "a quantized matrix is [out, in], got \(shape)")
        let (rows, columns) = (shape[0], shape[1])
        guard MLXQuantization.supportedBits.contains(bits), groupSize > 0, columns % groupSize == 0, columns * bits % 32 == 0 else {
            throw LoadingError("\(module): cannot hold [\(rows), \(columns)] at \(bits) bits with group size \(groupSize)")
        }
        let weightName = "\(module).weight"
        let packedShape = [rows, columns * bits / 32]
        let found = try self.shape(of: weightName)
        guard found == packedShape else {
            let implied = found.count == 2 && columns > 0 ? " (that would be \(found[1] * 32 / columns) bits)" : ""
            throw LoadingError("\(weightName): expected packed shape \(packedShape) for \(shape) at \(bits) bits, found \(found)\(implied)")
        }
        for part in ["scales", "biases"] {
            try checkShape(of: "\(module).\(part)", expected: [rows, columns / groupSize])
        }
        return QuantizedMatrix(
            rowCount: rows, columnCount: columns, bits: bits, groupSize: groupSize,
            packed: try uint32Scalars(named: weightName),
            scales: try floatScalars(named: "\(module).scales"), biases: try floatScalars(named: "\(module).biases")
        )
    }
}
