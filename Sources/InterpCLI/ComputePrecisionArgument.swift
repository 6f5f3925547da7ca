import ArgumentParser
import Circuits

/// `--compute float32|bfloat16` (also `fp32`, `bf16`).
extension ComputePrecision: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "float32", "fp32", "f32": self = .float32
        case "bfloat16", "bf16": self = .bfloat16
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["float32", "bf16"] }
}
