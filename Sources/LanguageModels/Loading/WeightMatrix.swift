import Tensors

/// A `[out, in]` weight matrix of a Linear or Embedding layer: `Float`, 16-bit as the checkpoint stores it,
/// MLX-quantized, or in a GGUF type.
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
    /// bfloat16 or float16 values, kept in the checkpoint's format (usually read in place from the mapped file).
    case halfPrecision(HalfPrecisionMatrix)

    /// `[out, in]`.
    public var shape: [Int] {
        switch self {
        case .dense(let tensor): return tensor.shape
        case .quantized(let matrix): return matrix.shape
        case .gguf(let matrix): return matrix.shape
        case .halfPrecision(let matrix): return matrix.shape
        }
    }

    /// `x · Wᵀ + bias` for `x` of shape `[..., in]`, giving `[..., out]` (as `torch.nn.Linear`; no bias when nil).
    /// Dense and 16-bit weights add the bias inside the GEMM (the same bits as adding it afterwards).
    public func matmulTransposed(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        switch self {
        case .dense(let tensor): return x.matmul(tensor, transposeOther: true, bias: bias)
        case .halfPrecision(let matrix): return matrix.matmulTransposed(x, bias: bias)
        case .quantized(let matrix): return adding(bias, to: matrix.matmulTransposed(x))
        case .gguf(let matrix): return adding(bias, to: matrix.matmulTransposed(x))
        }
    }

    private func adding(_ bias: Tensor?, to product: Tensor) -> Tensor {
        bias.map { product + $0 } ?? product
    }

    /// The rows at `indices` (an embedding lookup), `[indices.count, in]`.
    public func rows(_ indices: [Int]) -> Tensor {
        switch self {
        case .dense(let tensor): return tensor.indexSelect(axis: 0, indices)
        case .quantized(let matrix): return matrix.rows(indices)
        case .gguf(let matrix): return matrix.rows(indices)
        case .halfPrecision(let matrix): return matrix.rows(indices)
        }
    }

    /// The columns `range` of every row (one head's block of an output projection), `[out, range.count]`.
    public func columns(_ range: Range<Int>) -> Tensor {
        switch self {
        case .dense(let tensor): return tensor.slice(axis: 1, range)
        case .quantized(let matrix): return matrix.columns(range)
        case .gguf(let matrix): return matrix.columns(range)
        case .halfPrecision(let matrix): return matrix.columns(range)
        }
    }

    /// The rows `range` in the stored form: a view for 16-bit and GGUF matrices, a copy of the packed rows for
    /// MLX-quantized ones (the parts of a fused projection, e.g. Phi-3's `qkv_proj`, stay quantized).
    public func rowBlock(_ range: Range<Int>) -> WeightMatrix {
        switch self {
        case .dense(let tensor): return .dense(tensor.slice(axis: 0, range))
        case .quantized(let matrix): return .quantized(matrix.rowSelection(Array(range)))
        case .halfPrecision(let matrix): return .halfPrecision(matrix.rowBlock(range))
        case .gguf(let matrix): return .gguf(matrix.rowBlock(range))
        }
    }

    /// Whether both matrices are the same stored values (tied embeddings), without comparing elements.
    public func sharesStorage(with other: WeightMatrix) -> Bool {
        func address<T>(_ array: [T]) -> UnsafeRawPointer? { array.withUnsafeBytes { $0.baseAddress } }
        switch (self, other) {
        case let (.dense(a), .dense(b)): return address(a.scalars) == address(b.scalars)
        case let (.quantized(a), .quantized(b)): return address(a.packed) == address(b.packed)
        case let (.gguf(a), .gguf(b)): return a.sharesStorage(with: b)
        case let (.halfPrecision(a), .halfPrecision(b)): return a.sharesStorage(with: b)
        default: return false
        }
    }

    /// The matrix as a dense `Float` tensor (converted on demand when stored otherwise).
    public func dequantized() -> Tensor {
        switch self {
        case .dense(let tensor): return tensor
        case .quantized(let matrix): return matrix.dequantized()
        case .gguf(let matrix): return matrix.dequantized()
        case .halfPrecision(let matrix): return matrix.floats()
        }
    }
}

extension WeightStore {
    /// The weight of the Linear or Embedding module at `module` (e.g. `model.layers.0.mlp.up_proj`), checked
    /// to be `[out, in]`: quantized when the checkpoint has `module.scales` (MLX) or `module.weight_scale_inv`
    /// (Hugging Face FP8); otherwise `module.weight` as stored when it is bfloat16 or float16 (read in place, not
    /// converted), converted to `Float` when not.
    public func weightMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> WeightMatrix {
        if has("\(module).weight_scale_inv") {
            guard let fp8 = quantization?.fp8 else {
                throw LoadingError("\(module).weight_scale_inv: the checkpoint has FP8 weights but config.json has no "
                                   + "quantization_config with quant_method 'fp8'")
            }
            return .quantized(try fp8Matrix(module: module, shape: shape, settings: fp8))
        }
        guard has("\(module).scales") else {
            let name = "\(module).weight"
            try checkShape(of: name, expected: shape)
            if let matrix = try halfPrecisionMatrix(named: name) { return .halfPrecision(matrix) }
            return .dense(try tensor(named: name))
        }
        return .quantized(try quantizedMatrix(module: module, shape: shape, quantization: quantization))
    }

    /// The MLX-quantized matrix of `module` (which has `scales`) at its setting in `quantization`; an error naming
    /// the module when config.json has no quantization or marks the module unquantized.
    func quantizedMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> QuantizedMatrix {
        guard let quantization else {
            throw LoadingError("\(module).scales: the checkpoint is MLX-quantized but config.json has no 'quantization' settings")
        }
        guard case .quantized(let groupSize, let bits, let mode) = quantization.setting(forModule: module) else {
            throw LoadingError("\(module).scales: config.json's quantization marks \(module) unquantized, but the checkpoint has scales for it")
        }
        return try quantizedMatrix(module: module, shape: shape, groupSize: groupSize, bits: bits, mode: mode)
    }

    /// The `[out, in]` weight of a GPT-2 `Conv1D` module, stored `[in, out]` as `name`: transposed once,
    /// kept 16-bit when stored so (the mapped pages are released), converted to `Float` otherwise.
    public func conv1DWeight(named name: String, inputs: Int, outputs: Int) throws -> WeightMatrix {
        try checkShape(of: name, expected: [inputs, outputs])
        guard let stored = try halfPrecisionMatrix(named: name) else {
            return .dense(try tensor(named: name).transposed())
        }
        defer { try? file(holding: name).releasePages(ofTensor: name) }
        return .halfPrecision(stored.transposed())
    }

    /// Reads `module.weight` (`U32` codes), `module.scales` and (affine mode) `module.biases` as a `[out, in]`
    /// matrix, checking every shape against `shape`, `groupSize` and `bits`; the microscaling modes' `U8` scales
    /// (E8M0 for mxfp4 and mxfp8, E4M3 for nvfp4) are widened to `Float` exactly. A `shape` with leading axes
    /// (mlx-lm's stacked experts, `[experts, out, in]`) reads them as one matrix of `experts · out` rows.
    public func quantizedMatrix(module: String, shape: [Int], groupSize: Int, bits: Int,
                                mode: MLXQuantization.Mode = .affine) throws -> QuantizedMatrix {
        precondition(shape.count >= 2, "a quantized matrix is [..., out, in], got \(shape)")
        let leading = Array(shape.dropLast()), columns = shape.last!
        guard MLXQuantization.supportedBits.contains(bits), groupSize > 0, columns % groupSize == 0, columns * bits % 32 == 0 else {
            throw LoadingError("\(module): cannot hold \(shape) at \(bits) bits with group size \(groupSize)")
        }
        let weightName = "\(module).weight"
        let packedShape = leading + [columns * bits / 32]
        let found = try self.shape(of: weightName)
        guard found == packedShape else {
            let implied = found.count == shape.count && columns > 0 ? " (that would be \(found.last! * 32 / columns) bits)" : ""
            throw LoadingError("\(weightName): expected packed shape \(packedShape) for \(shape) at \(bits) bits, found \(found)\(implied)")
        }
        for part in mode == .affine ? ["scales", "biases"] : ["scales"] {
            try checkShape(of: "\(module).\(part)", expected: leading + [columns / groupSize])
        }
        if mode != .affine, has("\(module).global_scale") {
            throw LoadingError("\(module).global_scale: \(mode.rawValue) weights with a global scale are not supported")
        }
        return QuantizedMatrix(
            rowCount: leading.reduce(1, *), columnCount: columns, bits: bits, groupSize: groupSize, mode: mode,
            packed: try uint32Scalars(named: weightName), scales: try quantizationScales(module: module, mode: mode),
            biases: mode == .affine ? try floatScalars(named: "\(module).biases") : []
        )
    }

    /// `module.scales` as `Float`: as stored in the affine mode, else decoded from `U8` E8M0 (`2^(code − 127)`,
    /// NaN for 255) or E4M3 codes.
    private func quantizationScales(module: String, mode: MLXQuantization.Mode) throws -> [Float] {
        let name = "\(module).scales"
        guard mode != .affine else { return try floatScalars(named: name) }
        let dtype = try info(named: name).dtype
        guard dtype == .uint8 else {
            throw LoadingError("\(name): \(mode.rawValue) scales must be U8, found \(dtype.rawValue)")
        }
        return try file(holding: name).withUnsafeBytes(ofTensor: name) { bytes in
            bytes.map { mode == .nvfp4 ? FusedQuantizedProduct.FloatCodes.e4m3.value($0) : FusedQuantizedProduct.FloatCodes.e8m0Value($0) }
        }
    }
}
