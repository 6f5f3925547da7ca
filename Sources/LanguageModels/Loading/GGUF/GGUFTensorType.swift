/// The element types of GGUF tensors that this library reads (ggml's `ggml_type` ids).
///
/// Quantized types store a row as consecutive blocks of `blockSize` values, each `bytesPerBlock` bytes
/// (the layouts of ggml's `block_q4_0`, `block_q4_K`, `block_iq4_xs`, ...; `QK_K` = 256 for the K- and i-quants
/// other than IQ4_NL).
public enum GGUFTensorType: UInt32, CaseIterable, Sendable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case iq2_XXS = 16
    case iq2_XS = 17
    case iq3_XXS = 18
    case iq1_S = 19
    case iq4_NL = 20
    case iq3_S = 21
    case iq2_S = 22
    case iq4_XS = 23
    case iq1_M = 29
    case bf16 = 30

    /// Values per block (1 for the plain floating-point types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_NL: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq2_XXS, .iq2_XS, .iq2_S, .iq3_XXS, .iq3_S, .iq1_S, .iq1_M, .iq4_XS:
            return 256
        }
    }

    /// Bytes per block.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .iq2_XXS: return 66
        case .iq2_XS: return 74
        case .iq2_S: return 82
        case .iq3_XXS: return 98
        case .iq3_S: return 110
        case .iq1_S: return 50
        case .iq1_M: return 56
        case .iq4_NL: return 18
        case .iq4_XS: return 136
        }
    }

    /// ggml's name of the type, e.g. `Q4_K`.
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .iq2_XXS: return "IQ2_XXS"
        case .iq2_XS: return "IQ2_XS"
        case .iq2_S: return "IQ2_S"
        case .iq3_XXS: return "IQ3_XXS"
        case .iq3_S: return "IQ3_S"
        case .iq1_S: return "IQ1_S"
        case .iq1_M: return "IQ1_M"
        case .iq4_NL: return "IQ4_NL"
        case .iq4_XS: return "IQ4_XS"
        }
    }

    /// ggml's names of the type ids this library does not read, for error messages.
    static let unsupportedNames: [UInt32: String] = [
        4: "Q4_2 (removed)", 5: "Q4_3 (removed)", 9: "Q8_1", 15: "Q8_K", 24: "I8", 25: "I16", 26: "I32", 27: "I64",
        28: "F64", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
    ]

    /// A description of a type id for errors: the name when known.
    static func describe(id: UInt32) -> String {
        if let type = GGUFTensorType(rawValue: id) { return type.name }
        return unsupportedNames[id].map { "\(id) (\($0))" } ?? "\(id)"
    }
}
