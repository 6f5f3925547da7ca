import CKernels

/// Which formula ``Tensor/gelu(approximate:)`` uses.
public enum GELUApproximation: Sendable {
    /// `x Φ(x)` with Φ the standard normal CDF (the erf form, `torch.nn.functional.gelu`'s default);
    /// Φ is evaluated to within 1e-7.
    case none
    /// `0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))`, GPT-2's "gelu_new".
    case tanh
}

/// Elementwise activation functions with analytic gradients.
extension Tensor {
    /// The Gaussian error linear unit.
    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        activated(approximate == .none ? NN_GELU_ERF : NN_GELU_TANH)
    }

    /// `x * sigmoid(x)` (also called swish).
    public func silu() -> Tensor { activated(NN_SILU) }

    /// `max(x, 0)`; the gradient at 0 is 0.
    public func relu() -> Tensor { activated(NN_RELU) }

    /// `1 / (1 + exp(-x))`.
    public func sigmoid() -> Tensor { activated(NN_SIGMOID) }

    /// `silu(self) * up` (a gated MLP's product) in one pass when neither operand is recorded for gradients;
    /// otherwise the recorded composition. Both give the same values.
    public func siluGated(_ up: Tensor) -> Tensor { gated(NN_SILU, up) { $0.silu() } }

    /// `gelu(self) * up` (GeGLU's product), fused as ``siluGated(_:)``.
    public func geluGated(_ up: Tensor, approximate: GELUApproximation = .none) -> Tensor {
        gated(approximate == .none ? NN_GELU_ERF : NN_GELU_TANH, up) { $0.gelu(approximate: approximate) }
    }

    private func gated(_ kind: nn_activation, _ up: Tensor, composition: (Tensor) -> Tensor) -> Tensor {
        guard shape == up.shape, !isTracked, !up.isTracked else { return composition(self) * up }
        let n = count
        return computed(with: up) { x, u, y in
            Parallel.forRanges(n, alignment: 8) { range in
                nn_gated_activation_forward(kind, x + range.lowerBound, u + range.lowerBound, y + range.lowerBound, range.count)
            }
        }
    }

    private func activated(_ kind: nn_activation) -> Tensor {
        let n = count
        // Whole 8-lane vectors per thread, so every element is computed as in one call.
        let y = computed { x, y in
            Parallel.forRanges(n, alignment: 8) { range in
                nn_activation_forward(kind, x + range.lowerBound, y + range.lowerBound, range.count)
            }
        }
        return y.recorded(from: [self]) { g in
            [self.detached.computed(with: g) { nn_activation_backward(kind, $0, $1, $2, n) }]
        }
    }
}
