import Tensors

extension WeightSource {
    /// The `experts` matrices `[out, in]` (`shape`) of mlx-lm's stacked expert module `module` (e.g.
    /// `model.layers.0.mlp.switch_mlp.gate_proj`), whose `weight` has a leading expert axis: `[experts, out, in]`, or,
    /// MLX-quantized, `[experts, out, in · bits / 32]` codes with `scales` (and `biases`) `[experts, out, in / groupSize]`.
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
        let whole = try store.quantizedMatrix(module: module, shape: [experts, rows, columns], quantization: quantization)
        return split(.quantized(whole))
    }
}
