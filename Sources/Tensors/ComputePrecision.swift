import CKernels

/// The arithmetic of matrix products with bfloat16 and float16 weights (safetensors or GGUF F16/BF16). `Float`
/// weights, and quantized ones (MLX, GGUF Q8_0, Q4_K, ...) with their fused dequantize-and-dot kernels, always
/// compute in `Float`.
///
/// ```swift
/// let lm = try LanguageModel.load(from: directory, computePrecision: .bfloat16)
/// ```
public enum ComputePrecision: String, CaseIterable, Sendable {
    /// Activations and accumulation in `Float`; weights widened exactly (the default: every result equals the
    /// product with the weights converted to `Float`).
    case float32
    /// Activations rounded to bfloat16 (nearest, ties to even) as they enter a product with 16-bit weights,
    /// products of bfloat16 pairs accumulated in `Float`, as PyTorch computes a bfloat16 model on the CPU. Uses
    /// the CPU's AVX512-BF16 dot products (`vdpbf16ps`) when it has them, `Float` multiply-adds of the widened
    /// values otherwise (the same numbers up to summation order: bfloat16 products are exact in `Float`).
    ///
    /// float16 weights are rounded to bfloat16 too (nearest, ties to even) as the kernel reads them, staying
    /// float16 in memory: this is lossy (10 stored mantissa bits become 7) and gives what PyTorch computes after
    /// loading the float16 checkpoint with `dtype=torch.bfloat16`.
    case bfloat16

    var cValue: ck_compute_type {
        switch self {
        case .float32: CK_COMPUTE_F32
        case .bfloat16: CK_COMPUTE_BF16
        }
    }
}
