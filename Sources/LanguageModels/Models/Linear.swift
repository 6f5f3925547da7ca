/// An affine map `y = x · Wᵀ + b` with `W` stored `[out, in]`, as `torch.nn.Linear` stores it.
///
/// GPT-2's `Conv1D` weights (`[in, out]`) are transposed once at load time so that every projection of
/// every family has one layout.
public struct Linear {
    /// `[out, in]`.
    public var weight: Tensor
    /// `[out]`, when the layer has a bias.
    public var bias: Tensor?

    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "a linear weight is [out, in], got \(weight.shape)")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "bias \(bias!.shape) does not match weight \(weight.shape)")
        self.weight = weight
        self.bias = bias
    }

    public var inputSize: Int { weight.shape[1] }
    public var outputSize: Int { weight.shape[0] }

    /// Applies the map to the last axis of `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let rows = x.reshaped([-1, inputSize])
        var y = rows.matmul(weight, transposeOther: true)
        if let bias { y = y + bias }
        return y.reshaped(Array(x.shape.dropLast()) + [outputSize])
    }

    /// Applies a different slice of the map to each group: `x` is `[..., groups, in]` and group `g`
    /// uses output rows `g * outputSize / groups ..< (g + 1) * outputSize / groups`.
    ///
    /// This is the per-head projection used when each head reads its own input (split q/k/v inputs).
    public func grouped(_ x: Tensor, groups: Int) -> Tensor {
        precondition(x.rank >= 2 && x.shape[x.rank - 2] == groups && x.shape[x.rank - 1] == inputSize,
                     "grouped linear expects [..., \(groups), \(inputSize)], got \(x.shape)")
        let perGroup = outputSize / groups
        let lead = Array(x.shape.dropLast(2))
        let byGroup = x.reshaped([-1, groups, inputSize]).permuted([1, 0, 2])        // [groups, N, in]
        let w = weight.reshaped([groups, perGroup, inputSize])                        // [groups, out/g, in]
        var y = byGroup.matmul(w, transposeOther: true)                               // [groups, N, out/g]
        if let bias { y = y + bias.reshaped([groups, 1, perGroup]) }
        return y.permuted([1, 0, 2]).reshaped(lead + [groups, perGroup])
    }
}
