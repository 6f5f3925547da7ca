/// Hugging Face's fine-grained FP8 settings (`quantization_config` with `quant_method: "fp8"`, transformers'
/// `FineGrainedFP8Config`), as the official FP8 releases (Qwen3-*-FP8, Ministral 3, DeepSeek-V3) write them.
///
/// Each quantized Linear `W` stores `W.weight` as `F8_E4M3` codes and `W.weight_scale_inv` with one scale per
/// `weight_block_size` block of the weight (one for the whole weight when the block size is null): the weight is
/// `value(code) × scale`. Modules listed in `modules_to_not_convert` (and embeddings, norms) are stored unquantized.
///
/// ```json
/// "quantization_config": {"quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [128, 128],
///                         "modules_to_not_convert": ["lm_head"]}
/// ```
///
/// Weights are read as transformers reads them without a GPU (it then dequantizes every weight that has a
/// `weight_scale_inv`): activations are not quantized, so a `static` activation scheme's `activation_scale`
/// tensors are not used.
public struct FP8Quantization: Codable, Equatable, Sendable {
    /// Rows and columns of the weight sharing one scale; nil: one scale per weight.
    public var weightBlockSize: [Int]?
    /// `dynamic` or `static` (how the GPU kernels quantize activations; not used here).
    public var activationScheme: String?
    /// Modules stored unquantized (e.g. `lm_head`).
    public var modulesToNotConvert: [String]?
    /// The scales' format: `float` (F32 or BF16 scales) or `ue8m0` (DeepSeek-V4's byte exponents, refused).
    public var scaleFormat: String?
    /// The experts' format in mixtures: `fp8`, or `fp4` (refused).
    public var expertDtype: String?

    /// Creates settings (the block size as `[rows, columns]`, nil for one scale per weight).
    public init(weightBlockSize: [Int]? = [128, 128], activationScheme: String? = "dynamic", modulesToNotConvert: [String]? = nil) {
        self.weightBlockSize = weightBlockSize
        self.activationScheme = activationScheme
        self.modulesToNotConvert = modulesToNotConvert
    }

    enum CodingKeys: String, CodingKey {
        case weightBlockSize = "weight_block_size"
        case activationScheme = "activation_scheme"
        case modulesToNotConvert = "modules_to_not_convert"
        case scaleFormat = "scale_fmt"
        case expertDtype = "expert_dtype"
    }

    /// Throws unless transformers would read these settings and the format is one this library reads; `source`
    /// names the file and `field` the object.
    func validate(source: String, field: String) throws {
        if let weightBlockSize, weightBlockSize.count != 2 || weightBlockSize.contains(where: { $0 <= 0 }) {
            throw LoadingError("\(source): \(field).weight_block_size \(weightBlockSize) must be two positive integers or null")
        }
        if let activationScheme, !["dynamic", "static"].contains(activationScheme.lowercased()) {
            throw LoadingError("\(source): \(field).activation_scheme '\(activationScheme)' is not supported (supported: 'dynamic', 'static')")
        }
        if let scaleFormat, scaleFormat != "float" {
            throw LoadingError("\(source): \(field).scale_fmt '\(scaleFormat)' is not supported (only 'float' scales are)")
        }
        if let expertDtype, expertDtype != "fp8" {
            throw LoadingError("\(source): \(field).expert_dtype '\(expertDtype)' is not supported (only 'fp8' is)")
        }
    }
}

extension WeightStore {
    /// The FP8 weight of `module` (`module.weight` as `F8_E4M3` codes `[out, in]`, `module.weight_scale_inv` its
    /// block scales) kept packed: a ``QuantizedMatrix`` of E4M3 codes (the stored bytes, copied once) with one `Float`
    /// scale per row and group of columns, decoded by the fused kernel.
    ///
    /// As transformers reads them (`Fp8Dequantize`), the blocks are the weight divided evenly by the scales' grid
    /// (one scale: the whole weight); with `settings.weightBlockSize` set, the blocks must be that size, so a weight
    /// whose dimensions are not whole blocks is refused naming it rather than read with misplaced scales.
    public func fp8Matrix(module: String, shape: [Int], settings: FP8Quantization) throws -> QuantizedMatrix {
        let weightName = "\(module).weight", scaleName = "\(module).weight_scale_inv"
        try checkShape(of: weightName, expected: shape)
        let dtype = try self.dtype(of: weightName)
        guard dtype == .float8E4M3 else {
            throw LoadingError("\(weightName): has \(scaleName), so it must be F8_E4M3 codes, found \(dtype.rawValue)")
        }
        let (rows, columns) = (shape[0], shape[1])
        let scaleShape = try self.shape(of: scaleName)
        let grid: (rows: Int, columns: Int)
        if scaleShape.count <= 2 && scaleShape.reduce(1, *) == 1 {
            grid = (1, 1)
        } else if scaleShape.count == 2 {
            grid = (scaleShape[0], scaleShape[1])
        } else {
            throw LoadingError("\(scaleName): expected one scale or a [rows, columns] grid of block scales, found shape \(scaleShape)")
        }
        guard grid.rows > 0, grid.columns > 0, rows % grid.rows == 0, columns % grid.columns == 0 else {
            throw LoadingError("\(scaleName): the grid \(scaleShape) does not divide the weight \(shape) into whole blocks")
        }
        let block = (rows: rows / grid.rows, columns: columns / grid.columns)
        // A weight smaller than one configured block has one scale on either reading of the blocks.
        func agrees(_ size: Int, _ count: Int, _ expected: Int) -> Bool { size / count == expected || (count == 1 && size <= expected) }
        if let expected = settings.weightBlockSize, !agrees(rows, grid.rows, expected[0]) || !agrees(columns, grid.columns, expected[1]) {
            throw LoadingError("\(scaleName): the grid \(scaleShape) makes blocks of \(block.rows)x\(block.columns) for the weight "
                               + "\(shape), but weight_block_size is \(expected) (partial blocks are not supported)")
        }
        guard columns % 4 == 0 else {
            throw LoadingError("\(weightName): \(columns) columns cannot be packed into 32-bit words (a multiple of 4 is needed)")
        }
        let blockScales = try floatScalars(named: scaleName)
        let scales = (0..<rows).flatMap { row in blockScales[(row / block.rows * grid.columns)..<((row / block.rows + 1) * grid.columns)] }
        let file = try file(holding: weightName)
        defer { try? file.releasePages(ofTensor: weightName) }
        let packed = try file.withUnsafeBytes(ofTensor: weightName) { bytes in
            [UInt32](unsafeUninitializedCapacity: rows * columns / 4) { words, initialized in
                UnsafeMutableRawBufferPointer(words).copyMemory(from: bytes)
                initialized = rows * columns / 4
            }
        }
        return QuantizedMatrix(rowCount: rows, columnCount: columns, bits: 8, groupSize: block.columns, mode: .mxfp8,
                               packed: packed, scales: scales, biases: [])
    }
}
