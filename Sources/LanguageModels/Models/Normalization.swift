/// The normalization layer of a block (`ln1`, `ln2`, `ln_final`).
public struct Normalization {
    public enum Kind: Sendable { case layerNorm, rmsNorm }

    public var kind: Kind
    /// The gain, `[d]`.
    public var weight: Tensor
    /// The LayerNorm bias, `[d]`.
    public var bias: Tensor?
    public var epsilon: Float

    public init(kind: Kind, weight: Tensor, bias: Tensor? = nil, epsilon: Float) {
        self.kind = kind
        self.weight = weight
        self.bias = bias
        self.epsilon = epsilon
    }

    /// Normalizes the last axis of `x`, calling the `scale` and `normalized` hook points.
    ///
    /// As in TransformerLens 3, `hook_scale` is the per-row divisor `sqrt(var + ε)` (LayerNorm, after
    /// centring) or `sqrt(mean(x²) + ε)` (RMSNorm), shaped `[..., 1]`; `hook_normalized` is the input
    /// divided by it (centred first for LayerNorm), before the gain and the bias, for both kinds.
    public func callAsFunction(_ x: Tensor, hooks: ForwardHooks?, scaleName: String, normalizedName: String) -> Tensor {
        guard hooks.wants(scaleName) || hooks.wants(normalizedName) else { return normalize(x) }
        // The fused kernels give the unit-gain output `u` and the inverse divisor; the hooked divisor `s'`
        // then gives `u · (s / s')`, which is `centred / s'` as a function (so values and gradients are the
        // reference formula's, up to rounding) and exactly `u` when the hook leaves the divisor alone.
        let (unit, inverseScale) = kind == .layerNorm ? x.layerNormWithScale(epsilon: epsilon) : x.rmsNormWithScale(epsilon: epsilon)
        let scale = Tensor(1) / inverseScale
        let ratio = scale / hooks.apply(scaleName, scale)
        let scaled = hooks.apply(normalizedName, unit * ratio) * weight
        return bias.map { scaled + $0 } ?? scaled
    }

    /// Normalizes the last axis of `x` without hook points (a per-head q/k norm).
    public func normalize(_ x: Tensor) -> Tensor {
        switch kind {
        case .layerNorm: return x.layerNorm(weight: weight, bias: bias, epsilon: epsilon)
        case .rmsNorm: return x.rmsNorm(weight: weight, epsilon: epsilon)
        }
    }

    /// Applies the norm with a given per-row divisor instead of the one `x` implies.
    ///
    /// This is the linear map that direct logit attribution applies to each component's write, with the
    /// divisor cached from the real forward pass.
    public func apply(_ x: Tensor, divisor: Tensor) -> Tensor {
        switch kind {
        case .layerNorm:
            let centered = x - x.mean(axis: -1, keepingDimension: true)
            return centered / divisor * weight
        case .rmsNorm:
            return x / divisor * weight
        }
    }

    /// The gradients with respect to `x` of this norm at `x` for several upstream gradients at once:
    /// `upstream` is `[groups] + x.shape`, and so is the result (e.g. every head reading its own copy of `x`).
    public func inputGradients(at x: Tensor, upstream: Tensor) -> Tensor {
        switch kind {
        case .layerNorm: return x.layerNormInputGradients(upstream, weight: weight, epsilon: epsilon)
        case .rmsNorm: return x.rmsNormInputGradients(upstream, weight: weight, epsilon: epsilon)
        }
    }
}
