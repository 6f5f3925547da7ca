import CKernels

/// Layer norm and RMS norm over the last axis, as fused row kernels with analytic gradients.
///
/// The `…WithScale` variants also return the per-row scale (`1/std` or `1/rms`), shaped like the input
/// with the last axis of size 1: TransformerLens's `hook_scale`. Without a weight and bias the output is
/// TransformerLens's `hook_normalized`, so a model can normalize, expose the hooks, then apply the gain
/// itself. The scale is differentiable as well.
///
/// ```swift
/// let (normalized, scale) = x.layerNormWithScale(epsilon: 1e-5)
/// let y = normalized * weight + bias        // equals x.layerNorm(weight: weight, bias: bias)
/// ```
extension Tensor {
    /// `(x - mean) / sqrt(variance + epsilon) * weight + bias` over the last axis, with the biased
    /// variance (as `torch.nn.LayerNorm`). `weight` and `bias` have the size of the last axis.
    public func layerNorm(weight: Tensor? = nil, bias: Tensor? = nil, epsilon: Float = 1e-5) -> Tensor {
        layerNormWithScale(weight: weight, bias: bias, epsilon: epsilon).output
    }

    /// ``layerNorm(weight:bias:epsilon:)`` and the per-row scale `1 / sqrt(variance + epsilon)`.
    public func layerNormWithScale(weight: Tensor? = nil, bias: Tensor? = nil,
                                   epsilon: Float = 1e-5) -> (output: Tensor, scale: Tensor) {
        normalizedRows(.layer, weight: weight, bias: bias, epsilon: epsilon)
    }

    /// `x / sqrt(mean(x²) + epsilon) * weight` over the last axis (Llama, Mistral and Qwen's RMSNorm,
    /// computed in Float32). `weight` has the size of the last axis.
    public func rmsNorm(weight: Tensor? = nil, epsilon: Float = 1e-6) -> Tensor {
        rmsNormWithScale(weight: weight, epsilon: epsilon).output
    }

    /// ``rmsNorm(weight:epsilon:)`` and the per-row scale `1 / sqrt(mean(x²) + epsilon)`.
    public func rmsNormWithScale(weight: Tensor? = nil, epsilon: Float = 1e-6) -> (output: Tensor, scale: Tensor) {
        normalizedRows(.rms, weight: weight, bias: nil, epsilon: epsilon)
    }

    /// The input gradients of ``layerNorm(weight:bias:epsilon:)`` at `self` (`[rows..., n]`) for several
    /// upstream gradients at once: `upstream` is `[groups, rows..., n]`, and so is the result. The row statistics
    /// are computed once for all groups. Not recorded on the gradient tape.
    ///
    /// ```swift
    /// // One residual [batch, pos, d], read by every head through its own copy of ln1:
    /// let perHead = residual.layerNormInputGradients(headGradients, weight: gain)   // [heads, batch, pos, d]
    /// ```
    public func layerNormInputGradients(_ upstream: Tensor, weight: Tensor?, epsilon: Float = 1e-5) -> Tensor {
        normInputGradients(.layer, upstream, weight: weight, epsilon: epsilon)
    }

    /// The input gradients of ``rmsNorm(weight:epsilon:)`` at `self` for several upstream gradients at once,
    /// as ``layerNormInputGradients(_:weight:epsilon:)``.
    public func rmsNormInputGradients(_ upstream: Tensor, weight: Tensor?, epsilon: Float = 1e-6) -> Tensor {
        normInputGradients(.rms, upstream, weight: weight, epsilon: epsilon)
    }

    private func normInputGradients(_ kind: Normalization, _ upstream: Tensor, weight: Tensor?, epsilon: Float) -> Tensor {
        let (rows, n) = lastAxisRows
        precondition(upstream.rank == rank + 1 && Array(upstream.shape.dropFirst()) == shape,
                     "upstream gradients of shape \(upstream.shape) are not [groups] + \(shape)")
        precondition(weight == nil || weight!.shape == [n], "norm weight of shape \(weight!.shape) does not match last axis \(n)")
        let groups = upstream.shape[0]
        let x = detached, w = weight?.detached, g = upstream.detached
        var mean = [Float](repeating: 0, count: rows), scale = [Float](repeating: 0, count: rows)
        var normalized = [Float](repeating: 0, count: count)
        x.scalars.withUnsafeBufferPointer { xp in
            switch kind {
            case .layer: nn_layer_norm_rows(xp.baseAddress, nil, nil, &normalized, &mean, &scale, rows, n, epsilon)
            case .rms: nn_rms_norm_rows(xp.baseAddress, nil, &normalized, &scale, rows, n, epsilon)
            }
        }
        return Tensor.build(shape: upstream.shape) { out in
            x.scalars.withUnsafeBufferPointer { xp in
                g.scalars.withUnsafeBufferPointer { gp in
                    withScalarsIfPresent(w) { wp in
                        Parallel.forEach(groups) { group in
                            let offset = group * rows * n
                            switch kind {
                            case .layer:
                                nn_layer_norm_backward_rows(xp.baseAddress, mean, scale, wp, gp.baseAddress! + offset,
                                                            out.baseAddress! + offset, nil, nil, rows, n)
                            case .rms:
                                nn_rms_norm_backward_rows(xp.baseAddress, scale, wp, gp.baseAddress! + offset,
                                                          out.baseAddress! + offset, nil, rows, n)
                            }
                        }
                    }
                }
            }
        }
    }

    private enum Normalization { case layer, rms }

    private func normalizedRows(_ kind: Normalization, weight: Tensor?, bias: Tensor?,
                                epsilon: Float) -> (output: Tensor, scale: Tensor) {
        let (rows, n) = lastAxisRows
        for gain in [weight, bias].compactMap({ $0 }) {
            precondition(gain.shape == [n], "norm weight/bias of shape \(gain.shape) does not match last axis \(n) of \(shape)")
        }
        let x = detached, w = weight?.detached, b = bias?.detached
        var mean = [Float](repeating: 0, count: rows), scale = [Float](repeating: 0, count: rows)
        let y = Tensor.build(shape: shape) { out in
            x.scalars.withUnsafeBufferPointer { xp in
                withScalarsIfPresent(w) { wp in
                    withScalarsIfPresent(b) { bp in
                        mean.withUnsafeMutableBufferPointer { mean in
                            scale.withUnsafeMutableBufferPointer { scale in
                                // Rows are independent: each part normalizes its own block of rows (small
                                // inputs stay on one thread, where a parallel region would cost more than it saves).
                                let parts = rows * n >= 1 << 16 ? Swift.min(rows, Parallel.threadCount) : 1
                                Parallel.forEach(parts) { part in
                                    let first = rows * part / parts, count = rows * (part + 1) / parts - first
                                    let offset = first * n
                                    switch kind {
                                    case .layer:
                                        nn_layer_norm_rows(xp.baseAddress! + offset, wp, bp, out.baseAddress! + offset,
                                                           mean.baseAddress! + first, scale.baseAddress! + first, count, n, epsilon)
                                    case .rms:
                                        nn_rms_norm_rows(xp.baseAddress! + offset, wp, out.baseAddress! + offset,
                                                         scale.baseAddress! + first, count, n, epsilon)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let gains = [weight, bias].compactMap { $0 }
        let output = y.recorded(from: [self] + gains) { [mean, scale] g in
            var gx = [Float](repeating: 0, count: x.count)
            var gw = [Float](repeating: 0, count: n), gb = [Float](repeating: 0, count: n)
            x.scalars.withUnsafeBufferPointer { xp in
                g.scalars.withUnsafeBufferPointer { gp in
                    withScalarsIfPresent(w) { wp in
                        switch kind {
                        case .layer:
                            nn_layer_norm_backward_rows(xp.baseAddress, mean, scale, wp, gp.baseAddress, &gx, &gw, &gb, rows, n)
                        case .rms:
                            nn_rms_norm_backward_rows(xp.baseAddress, scale, wp, gp.baseAddress, &gx, &gw, rows, n)
                        }
                    }
                }
            }
            var grads: [Tensor?] = [Tensor(shape: x.shape, scalars: gx)]
            if w != nil { grads.append(Tensor(shape: [n], scalars: gw)) }
            if b != nil { grads.append(Tensor(shape: [n], scalars: gb)) }
            return grads
        }
        var scaleShape = shape
        scaleShape[rank - 1] = 1
        let scaleTensor = Tensor(shape: scaleShape, scalars: scale)
        let meanTensor = Tensor(shape: scaleShape, scalars: mean)
        // d scale / dx = -scale³ (x - mean) / n, the same form for both norms (mean is 0 for RMS norm).
        let recordedScale = scaleTensor.recorded(from: [self]) { g in
            let normalized = (x - meanTensor) * scaleTensor
            return [normalized * (g * scaleTensor.squared() * (-1 / Float(n)))]
        }
        return (output, recordedScale)
    }
}
