/// Scalar conversions from 16-bit floating-point bit patterns to `Float`.
///
/// Kept in one place so that a vectorized converter can replace it without touching the readers.
enum HalfPrecisionConversion {
    /// The `Float` value of IEEE 754 binary16 bits (exact: every half value is a float value).
    @inline(__always)
    static func float(fromHalfBits bits: UInt16) -> Float {
        let sign: UInt32 = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1f
        let mantissa = UInt32(bits & 0x3ff)
        switch exponent {
        case 0:
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1f:
            return Float(bitPattern: sign | 0x7f80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    /// The `Float` value of bfloat16 bits (the upper half of a binary32 pattern).
    @inline(__always)
    static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
