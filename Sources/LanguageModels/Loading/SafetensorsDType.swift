/// The element types a safetensors file can declare that this reader understands.
///
/// Floating-point types convert to `Float` (``SafetensorsFile/tensor(named:)``); integer types are read raw,
/// e.g. the `U32` words of MLX-quantized weights (``SafetensorsFile/uint32Scalars(named:)``). `F8_E4M3`
/// (`torch.float8_e4m3fn`, the codes of Hugging Face FP8 checkpoints) is read only as the codes of an FP8 matrix
/// with its block scales (``WeightStore/fp8Matrix(module:shape:settings:)``), never converted alone.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case float64 = "F64"
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int64 = "I64"
    case int32 = "I32"
    case int16 = "I16"
    case int8 = "I8"
    case uint64 = "U64"
    case uint32 = "U32"
    case uint16 = "U16"
    case uint8 = "U8"
    case bool = "BOOL"
    case float8E4M3 = "F8_E4M3"

    /// The size of one element in bytes.
    public var byteCount: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool, .float8E4M3: return 1
        }
    }

    /// Whether values of this type convert to `Float`.
    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16: return true
        default: return false
        }
    }
}
