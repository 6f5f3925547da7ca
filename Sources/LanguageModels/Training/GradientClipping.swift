/// The L2 norm of all `gradients` taken together.
public func globalNorm(_ gradients: [Tensor]) -> Float {
    var sumOfSquares: Double = 0
    for gradient in gradients {
        for x in gradient.scalars { sumOfSquares += Double(x) * Double(x) }
    }
    return Float(sumOfSquares.squareRoot())
}

/// Scales `gradients` down so that their global L2 norm (over all tensors together) is at most `maxNorm`,
/// as `torch.nn.utils.clip_grad_norm_` does (factor `maxNorm / (norm + 1e-6)` when that is below 1).
///
/// - Returns: the global norm before clipping.
@discardableResult
public func clipGlobalNorm(_ gradients: inout [Tensor], maxNorm: Float) -> Float {
    precondition(maxNorm > 0, "maxNorm must be positive, got \(maxNorm)")
    let norm = globalNorm(gradients)
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 { gradients = gradients.map { ($0 * factor).detached } }
    return norm
}
