import Tensors

/// Dequantization of one block of each GGUF tensor type into `Float`s, following ggml's block layouts.
///
/// Each function performs the same `Float` operations in the same order as `gguf.quants.dequantize` of the
/// gguf Python package (scale products first, then one multiply and one add or subtract per value), so the
/// values are bit-for-bit those of the reference. The i-quants (IQ4_NL, IQ4_XS and the grid-based IQ1_S ... IQ3_S)
/// are decoded by the fused kernel's C decoders, which hold their codebook grids
/// (``FusedQuantizedProduct/dequantize(weights:rowBytes:layout:outputs:depth:rowRange:into:)``).
enum GGUFBlockDecoding {
    /// Writes the `type.blockSize` values of the block at `block` to `out`.
    static func decode(_ type: GGUFTensorType, block: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        let b = block.assumingMemoryBound(to: UInt8.self)
        switch type {
        case .f32: out[0] = Float(bitPattern: UInt32(littleEndian: block.loadUnaligned(as: UInt32.self)))
        case .f16: out[0] = half(b)
        case .bf16: out[0] = Float(bitPattern: UInt32(UInt16(b[0]) | UInt16(b[1]) << 8) << 16)
        case .q8_0: q8_0(b, out)
        case .q4_0: q4(b + 2, out, scale: half(b), minimum: nil)
        case .q4_1: q4(b + 4, out, scale: half(b), minimum: half(b + 2))
        case .q5_0: q5(b + 2, out, scale: half(b), minimum: nil)
        case .q5_1: q5(b + 4, out, scale: half(b), minimum: half(b + 2))
        case .q2_K: q2_K(b, out)
        case .q3_K: q3_K(b, out)
        case .q4_K: q4_K(b, out)
        case .q5_K: q5_K(b, out)
        case .q6_K: q6_K(b, out)
        case .iq2_XXS, .iq2_XS, .iq2_S, .iq3_XXS, .iq3_S, .iq1_S, .iq1_M, .iq4_NL, .iq4_XS:
            FusedQuantizedProduct.dequantize(weights: block, rowBytes: type.bytesPerBlock, layout: .gguf(typeID: type.rawValue),
                                             outputs: 1, depth: type.blockSize, rowRange: 0..<1, into: out)
        }
    }

    /// Converts `count` consecutive elements of a plain floating-point type (F32, F16, BF16) in one loop.
    static func decodeElements(_ type: GGUFTensorType, from source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        let b = source.assumingMemoryBound(to: UInt8.self)
        switch type {
        case .f32:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { out[i] = half(b + 2 * i) }
        case .bf16:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(b[2 * i]) | UInt16(b[2 * i + 1]) << 8) << 16) }
        default:
            preconditionFailure("\(type.name) is stored in blocks")
        }
    }

    /// The IEEE half-precision value of two little-endian bytes.
    @inline(__always)
    private static func half(_ b: UnsafePointer<UInt8>) -> Float {
        Float(Float16(bitPattern: UInt16(b[0]) | UInt16(b[1]) << 8))
    }

    /// `block_q8_0`: fp16 d, 32 int8 codes; `d * q`.
    private static func q8_0(_ b: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b)
        for i in 0..<32 { out[i] = Float(Int8(bitPattern: b[2 + i])) * d }
    }

    /// `block_q4_0` / `block_q4_1`: 16 bytes of nibbles, value `i` in the low nibble of byte `i` and value
    /// `i + 16` in its high nibble; `d * (q - 8)` without a minimum, `d * q + m` with one.
    private static func q4(_ qs: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>, scale d: Float, minimum m: Float?) {
        for i in 0..<16 {
            let low = Int(qs[i] & 0x0F), high = Int(qs[i] >> 4)
            if let m {
                out[i] = d * Float(low) + m
                out[i + 16] = d * Float(high) + m
            } else {
                out[i] = d * Float(low - 8)
                out[i + 16] = d * Float(high - 8)
            }
        }
    }

    /// `block_q5_0` / `block_q5_1`: a little-endian `uint32` of fifth bits (bit `i` for value `i`) then the nibbles
    /// as in Q4; `d * (q - 16)` without a minimum, `d * q + m` with one.
    private static func q5(_ b: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>, scale d: Float, minimum m: Float?) {
        let qh = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        let qs = b + 4
        for i in 0..<16 {
            let low = Int(qs[i] & 0x0F) | Int((qh >> UInt32(i)) & 1) << 4
            let high = Int(qs[i] >> 4) | Int((qh >> UInt32(i + 16)) & 1) << 4
            if let m {
                out[i] = d * Float(low) + m
                out[i + 16] = d * Float(high) + m
            } else {
                out[i] = d * Float(low - 16)
                out[i + 16] = d * Float(high - 16)
            }
        }
    }

    /// The 2-bit code of value `f` (0..<256) of a K-quant's 64-byte `qs`: 128 values per 32 bytes, four 2-bit planes.
    @inline(__always)
    private static func twoBitCode(_ qs: UnsafePointer<UInt8>, _ f: Int) -> Int {
        let half = f >> 7, plane = (f >> 5) & 3, lane = f & 31
        return Int((qs[half * 32 + lane] >> UInt8(2 * plane)) & 3)
    }

    /// `block_q2_K`: 16 scale bytes (low nibble scale, high nibble minimum per 16 values), 64 bytes of 2-bit codes,
    /// fp16 d and dmin; `(d * scale) * q - dmin * min`.
    private static func q2_K(_ b: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b + 80), dmin = half(b + 82)
        for s in 0..<16 {
            let dl = d * Float(b[s] & 0x0F), ml = dmin * Float(b[s] >> 4)
            for f in (s * 16)..<(s * 16 + 16) { out[f] = dl * Float(twoBitCode(b + 16, f)) - ml }
        }
    }

    /// `block_q3_K`: 32 bytes of high-bit masks, 64 bytes of 2-bit codes, 12 bytes of 6-bit signed scales, fp16 d;
    /// `(d * (scale - 32)) * (q - 4 * (1 - highBit))`.
    private static func q3_K(_ b: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>) {
        let hmask = b, qs = b + 32, scales = b + 96
        let d = half(b + 108)
        for s in 0..<16 {
            let low = s < 8 ? scales[s] & 0x0F : scales[s - 8] >> 4
            let high = (scales[8 + s % 4] >> UInt8(2 * (s / 4))) & 3
            let dl = d * Float(Int(low | high << 4) - 32)
            for f in (s * 16)..<(s * 16 + 16) {
                let highBit = Int((hmask[f & 31] >> UInt8(f >> 5)) & 1)
                out[f] = dl * Float(twoBitCode(qs, f) - ((highBit ^ 1) << 2))
            }
        }
    }

    /// The eight 6-bit scales and minimums packed in the 12 bytes of a Q4_K/Q5_K block.
    @inline(__always)
    private static func scaleAndMinimum(_ scales: UnsafePointer<UInt8>, _ j: Int) -> (scale: Float, minimum: Float) {
        if j < 4 { return (Float(scales[j] & 0x3F), Float(scales[4 + j] & 0x3F)) }
        let packed = scales[8 + j - 4]
        return (Float((packed & 0x0F) | ((scales[j - 4] >> 2) & 0x30)), Float((packed >> 4) | ((scales[j] >> 2) & 0x30)))
    }

    /// The 4-bit code of value `f` of a Q4_K/Q5_K's 128-byte `qs`: 64 values per 32 bytes, low nibbles first.
    @inline(__always)
    private static func nibbleCode(_ qs: UnsafePointer<UInt8>, _ f: Int) -> Int {
        let chunk = f >> 6, nibble = (f >> 5) & 1, lane = f & 31
        return Int((qs[chunk * 32 + lane] >> UInt8(4 * nibble)) & 0x0F)
    }

    /// `block_q4_K`: fp16 d and dmin, 12 bytes of 6-bit scales and minimums (one pair per 32 values), 128 bytes of
    /// nibbles; `(d * scale) * q - dmin * min`.
    private static func q4_K(_ b: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b), dmin = half(b + 2)
        for j in 0..<8 {
            let (scale, minimum) = scaleAndMinimum(b + 4, j)
            let dl = d * scale, ml = dmin * minimum
            for f in (j * 32)..<(j * 32 + 32) { out[f] = dl * Float(nibbleCode(b + 16, f)) - ml }
        }
    }

    /// `block_q5_K`: as Q4_K with 32 bytes of fifth bits (bit `f / 32` of byte `f % 32`) before the nibbles.
    private static func q5_K(_ b: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>) {
        let d = half(b), dmin = half(b + 2)
        let qh = b + 16, qs = b + 48
        for j in 0..<8 {
            let (scale, minimum) = scaleAndMinimum(b + 4, j)
            let dl = d * scale, ml = dmin * minimum
            for f in (j * 32)..<(j * 32 + 32) {
                let q = nibbleCode(qs, f) | Int((qh[f & 31] >> UInt8(j)) & 1) << 4
                out[f] = dl * Float(q) - ml
            }
        }
    }

    /// `block_q6_K`: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, fp16 d;
    /// `(d * scale) * (q - 32)`.
    private static func q6_K(_ b: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>) {
        let ql = b, qh = b + 128, scales = b + 192
        let d = half(b + 208)
        for s in 0..<16 {
            let dl = d * Float(Int8(bitPattern: scales[s]))
            for f in (s * 16)..<(s * 16 + 16) {
                let half = f >> 7, rest = f & 127
                let low = (ql[half * 64 + (rest & 63)] >> UInt8(4 * (rest >> 6))) & 0x0F
                let high = (qh[half * 32 + (rest & 31)] >> UInt8(2 * (rest >> 5))) & 3
                out[f] = dl * Float(Int(low | high << 4) - 32)
            }
        }
    }
}
