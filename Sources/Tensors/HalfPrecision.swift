import CKernels

/// Bulk conversions between `Float` and the 16-bit float formats found in checkpoints, given as raw bits:
/// IEEE binary16 ("float16", `torch.float16`) and bfloat16 (`torch.bfloat16`).
///
/// Widening is exact. Narrowing rounds to nearest, ties to even; values too large become infinity,
/// infinities stay infinities and NaNs stay (quiet) NaNs. float16 subnormals are handled exactly.
/// float16 uses the CPU's F16C instructions when it has them.
///
/// ```swift
/// let floats = bits.withUnsafeBufferPointer { HalfPrecision.floats(fromFloat16Bits: $0) }
/// HalfPrecision.floats(fromBFloat16Bits: [0x3F80])   // [1.0]
/// ```
public enum HalfPrecision {
    /// A 16-bit floating-point format.
    public enum Format: String, Sendable, CaseIterable {
        /// IEEE binary16 (`torch.float16`).
        case float16
        /// bfloat16 (`torch.bfloat16`), the top half of a `Float`.
        case bfloat16

        var elementType: ck_element_type {
            switch self {
            case .float16: CK_ELEMENT_F16
            case .bfloat16: CK_ELEMENT_BF16
            }
        }
    }

    /// Writes `count` values of `format` read from `bits` to `destination`, widened to `Float` (exact).
    public static func widen(_ bits: UnsafePointer<UInt16>, format: Format, count: Int, into destination: UnsafeMutablePointer<Float>) {
        switch format {
        case .float16: ck_float16_to_float32(bits, destination, count)
        case .bfloat16: ck_bfloat16_to_float32(bits, destination, count)
        }
    }

    /// `floats` rounded to `format` bits.
    public static func bits(from floats: [Float], format: Format) -> [UInt16] {
        switch format {
        case .float16: float16Bits(from: floats)
        case .bfloat16: bfloat16Bits(from: floats)
        }
    }

    /// The float16 values `bits` widened to `Float`.
    public static func floats(fromFloat16Bits bits: UnsafeBufferPointer<UInt16>) -> [Float] {
        widen(bits, ck_float16_to_float32)
    }

    /// The bfloat16 values `bits` widened to `Float`.
    public static func floats(fromBFloat16Bits bits: UnsafeBufferPointer<UInt16>) -> [Float] {
        widen(bits, ck_bfloat16_to_float32)
    }

    /// `floats` rounded to float16 bits.
    public static func float16Bits(from floats: UnsafeBufferPointer<Float>) -> [UInt16] {
        narrow(floats, ck_float32_to_float16)
    }

    /// `floats` rounded to bfloat16 bits.
    public static func bfloat16Bits(from floats: UnsafeBufferPointer<Float>) -> [UInt16] {
        narrow(floats, ck_float32_to_bfloat16)
    }

    /// The float16 values `bits` widened to `Float`.
    public static func floats(fromFloat16Bits bits: [UInt16]) -> [Float] {
        bits.withUnsafeBufferPointer { floats(fromFloat16Bits: $0) }
    }

    /// The bfloat16 values `bits` widened to `Float`.
    public static func floats(fromBFloat16Bits bits: [UInt16]) -> [Float] {
        bits.withUnsafeBufferPointer { floats(fromBFloat16Bits: $0) }
    }

    /// `floats` rounded to float16 bits.
    public static func float16Bits(from floats: [Float]) -> [UInt16] {
        floats.withUnsafeBufferPointer { float16Bits(from: $0) }
    }

    /// `floats` rounded to bfloat16 bits.
    public static func bfloat16Bits(from floats: [Float]) -> [UInt16] {
        floats.withUnsafeBufferPointer { bfloat16Bits(from: $0) }
    }

    /// float16 conversions without F16C (the fallback used on CPUs without it), for testing.
    public enum Portable {
        /// The float16 values `bits` widened to `Float`.
        public static func floats(fromFloat16Bits bits: [UInt16]) -> [Float] {
            bits.withUnsafeBufferPointer { widen($0, ck_float16_to_float32_portable) }
        }

        /// `floats` rounded to float16 bits.
        public static func float16Bits(from floats: [Float]) -> [UInt16] {
            floats.withUnsafeBufferPointer { narrow($0, ck_float32_to_float16_portable) }
        }
    }

    private static func widen(
        _ bits: UnsafeBufferPointer<UInt16>, _ convert: (UnsafePointer<UInt16>?, UnsafeMutablePointer<Float>?, Int) -> Void
    ) -> [Float] {
        [Float](unsafeUninitializedCapacity: bits.count) { out, initialized in
            convert(bits.baseAddress, out.baseAddress, bits.count)
            initialized = bits.count
        }
    }

    private static func narrow(
        _ floats: UnsafeBufferPointer<Float>, _ convert: (UnsafePointer<Float>?, UnsafeMutablePointer<UInt16>?, Int) -> Void
    ) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: floats.count) { out, initialized in
            convert(floats.baseAddress, out.baseAddress, floats.count)
            initialized = floats.count
        }
    }
}
