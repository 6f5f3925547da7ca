/// An affine map `y = x · Wᵀ + b` with `W` stored `[out, in]`, as `torch.nn.Linear` stores it.
///
/// GPT-2's `Conv1D` weights (`[in, out]`) are transposed once at load time so that every projection of
/// every family has one layout.
///
/// The weight may be MLX-quantized: products then dequantize a block of rows at a time, so memory stays
/// near the packed size.
public struct Linear {
    /// `[out, in]`, dense or quantized.
    public var matrix: WeightMatrix
    /// `[out]`, when the layer has a bias.
    public var bias: Tensor?

    public init(matrix: WeightMatrix, bias: Tensor? = nil) {
        precondition(matrix.shape.count == 2, "a linear weight is [out, in], got \(matrix.shape)")
        precondition(bias == nil || bias!.shape == [matrix.shape[0]], "bias \(bias!.shape) does not match weight \(matrix.shape)")
        self.matrix = matrix
        self.bias = bias
    }

    /// A dense linear map with weight `[out, in]`.
    public init(weight: Tensor, bias: Tensor? = nil) {
        self.init(matrix: .dense(weight), bias: bias)
    }

    /// The weight `[out, in]` as a dense tensor (dequantized when quantized).
    public var weight: Tensor { matrix.dequantized() }
    public var inputSize: Int { matrix.shape[1] }
    public var outputSize: Int { matrix.shape[0] }

    /// Applies the map to the last axis of `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let rows = x.reshaped([-1, inputSize])
        return matrix.matmulTransposed(rows, bias: bias).reshaped(Array(x.shape.dropLast()) + [outputSize])
    }

    /// Applies a different slice of the map to each group: `x` is `[..., groups, in]` and group `g`
    /// uses output rows `g * outputSize / groups ..< (g + 1) * outputSize / groups`.
    ///
    /// This is the per-head projection used when each head reads its own input (split q/k/v inputs).
    public func grouped(_ x: Tensor, groups: Int) -> Tensor {
        precondition(x.rank >= 2 && x.shape[x.rank - 2] == groups && x.shape[x.rank - 1] == inputSize,
                     "grouped linear expects [..., \(groups), \(inputSize)], got \(x.shape)")
        let perGroup = outputSize / groups
        // One in-place GEMM per group against its block of rows of the weight (no permuted copies).
        var y = x.groupedMatmul(weight, blocks: .rows)                                 // [..., groups, out/g]
        if let bias { y = y + bias.reshaped([groups, perGroup]) }
        return y
    }
}
