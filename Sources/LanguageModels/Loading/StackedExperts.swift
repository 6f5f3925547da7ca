import Tensors

extension WeightSource {
    /// The `experts` matrices `[out, in]` (`shape`) of mlx-lm's stacked expert module `module` (e.g.
    /// `model.layers.0.mlp.switch_mlp.gate_proj`), whose `weight` has a leading expert axis: `[experts, out, in]`, or,
    /// MLX-quantized, `[experts, out, in · bits / 32]` codes with `scales` and `biases` `[experts, out, in / groupSize]`.
    /// Each expert's matrix is its block of rows of the stack, packed rows kept packed.
    func stackedExpertMatrices(module: String, experts: Int, shape: [Int], quantization: MLXQuantization?) throws -> [WeightMatrix] {
        let (rows, columns) = (shape[0], shape[1])
        func split(_ whole: WeightMatrix) -> [WeightMatrix] {
            (0..<experts).map { whole.rowBlock(($0 * rows)..<(($0 + 1) * rows)) }
        }
        guard has("\(module).scales") else {
            return split(.dense(try tensor(named: "\(module).weight", shape: [experts, rows, columns]).reshaped([experts * rows, columns])))
        }
        guard let store = self as? WeightStore else {
            throw LoadingError("\(module).scales: quantized stacked experts are read from safetensors files only")
        }
        guard let quantization else {
            throw LoadingError("\(module).scales: the checkpoint is MLX-quantized but config.json has no 'quantization' settings")
        }
        guard case .quantized(let groupSize, let bits, let mode) = quantization.setting(forModule: module) else {
            throw LoadingError("\(module).scales: config.json's quantization marks \(module) unquantized, but the checkpoint has scales for it")
        }
        guard mode == .affine else {
            throw LoadingError("\(module): stacked experts quantized in mode \(mode.rawValue) are not supported (affine only)")
        }
        guard MLXQuantization.supportedBits.contains(bits), groupSize > 0, columns % groupSize == 0, columns * bits % 32 == 0 else {
            throw LoadingError("\(module): cannot hold [\(experts), \(rows), \(columns)] at \(bits) bits with group size \(groupSize)")
        }
        try store.checkShape(of: "\(module).weight", expected: [experts, rows, columns * bits / 32])
        for part in ["scales", "biases"] {
            try store.checkShape(of: "\(module).\(part)", expected: [experts, rows, columns / groupSize])
        }
        let whole = QuantizedMatrix(rowCount: experts * rows, columnCount: columns, bits: bits, groupSize: groupSize,
                                    packed: try store.uint32Scalars(named: "\(module).weight"),
                                    scales: try store.floatScalars(named: "\(module).scales"),
                                    biases: try store.floatScalars(named: "\(module).biases"))
        return split(.quantized(whole))
    }
}
