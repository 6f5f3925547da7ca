import CKernels

/// The arithmetic of matrix products with bfloat16 weights.
///
/// ```swift
/// let lm = try LanguageModel.load(from: directory, computePrecision: .bfloat16)
/// ```
public enum ComputePrecision: String, CaseIterable, Sendable {
    /// Activations and accumulation in `Float`; weights widened exactly (the default: every result equals the
    /// product with the weights converted to `Float`).
    case float32
    /// Activations rounded to bfloat16 (nearest, ties to even) as they enter a product with bfloat16 weights,
    /// products of bfloat16 pairs accumulated in `Float`, as PyTorch computes a bfloat16 model on the CPU. Uses
    /// the CPU's AVX512-BF16 dot products (`vdpbf16ps`) when it has them, `Float` multiply-adds of the widened
    /// values otherwise (the same numbers up to summation order: bfloat16 products are exact in `Float`).
    case bfloat16

    var cValue: ck_compute_type {
        switch self {
        case .float32: CK_COMPUTE_F32
        case .bfloat16: CK_COMPUTE_BF16
        }
    }
}
