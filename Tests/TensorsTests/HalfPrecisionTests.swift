import Testing
import Tensors

/// Conversions against bit patterns worked out by hand from the formats' definitions.
@Suite struct HalfPrecisionTests {
    typealias Float16Encoder = ([Float]) -> [UInt16]
    typealias Float16Decoder = ([UInt16]) -> [Float]

    /// (value, float16 bits of the value rounded to nearest even)
    static let float16Cases: [(Float, UInt16)] = [
        (1, 0x3C00), (-2, 0xC000), (0, 0x0000), (-0.0, 0x8000), (0.5, 0x3800),
        (65504, 0x7BFF), (65519, 0x7BFF), (65520, 0x7C00), (1e6, 0x7C00),
        (.infinity, 0x7C00), (-.infinity, 0xFC00),
        (1 + 0x1p-11, 0x3C00),          // tie between 1 and 1 + 2^-10: to even
        (1 + 3 * 0x1p-11, 0x3C02),      // tie between 0x3C01 and 0x3C02: to even
        (1 + 0x1p-11 + 0x1p-20, 0x3C01), // just above the tie
        (0x1p-24, 0x0001),              // smallest subnormal
        (0x1p-25, 0x0000),              // tie between 0 and the smallest subnormal
        (3 * 0x1p-26, 0x0001),
        (1023 * 0x1p-24, 0x03FF),       // largest subnormal
        (0x1p-14, 0x0400),              // smallest normal
        (0x1p-14 - 0x1p-25, 0x0400),    // tie between largest subnormal and smallest normal (0x03FF odd)
    ]

    static let float16Encoders: [(String, Float16Encoder)] = [
        ("dispatched", { HalfPrecision.float16Bits(from: $0) }), ("portable", { HalfPrecision.Portable.float16Bits(from: $0) }),
    ]
    static let float16Decoders: [(String, Float16Decoder)] = [
        ("dispatched", { HalfPrecision.floats(fromFloat16Bits: $0) }), ("portable", { HalfPrecision.Portable.floats(fromFloat16Bits: $0) }),
    ]

    @Test func float16RoundsToNearestEven() {
        for (name, encode) in Self.float16Encoders {
            // Repeat the cases so the vector loop (8 at a time) and the scalar tail both see each one.
            let values = Array(repeating: Self.float16Cases.map(\.0), count: 9).flatMap { $0 }
            let expected = Array(repeating: Self.float16Cases.map(\.1), count: 9).flatMap { $0 }
            #expect(encode(values) == expected, "\(name)")
            let nans = encode([.nan, -.nan, Float(bitPattern: 0x7F80_0001)] + Array(repeating: .nan, count: 8))
            #expect(nans.allSatisfy { $0 & 0x7C00 == 0x7C00 && $0 & 0x03FF != 0 }, "\(name) NaN: \(nans)")
        }
    }

    @Test func float16WidensExactly() {
        let bits: [UInt16] = [0x3C00, 0xC000, 0x3555, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x8000]
        let expected: [Float] = [1, -2, 0.333251953125, 0x1p-24, 1023 * 0x1p-24, 0x1p-14, 65504, .infinity, -.infinity, -0.0]
        for (name, decode) in Self.float16Decoders {
            let floats = decode(bits + bits)
            #expect(floats.map(\.bitPattern) == (expected + expected).map(\.bitPattern), "\(name)")
            #expect(decode([0x7E00, 0xFD00, 0x7C01] + Array(repeating: 0x7E00, count: 8)).allSatisfy { $0.isNaN }, "\(name)")
        }
    }

    @Test func everyFloat16RoundTrips() {
        let all = (0...UInt16.max).map { $0 }
        for ((name, encode), (_, decode)) in zip(Self.float16Encoders, Self.float16Decoders) {
            let back = encode(decode(all))
            for (original, roundTripped) in zip(all, back) where original & 0x7C00 != 0x7C00 || original & 0x03FF == 0 {
                #expect(original == roundTripped, "\(name) \(original) -> \(roundTripped)")
            }
        }
    }

    @Test func dispatchedAndPortableFloat16Agree() {
        var values = TestValues(seed: 6)
        let floats = values.array(4096).enumerated().map { i, v in v * Float(1 << (i % 40)) * 0x1p-26 }
        #expect(HalfPrecision.float16Bits(from: floats) == HalfPrecision.Portable.float16Bits(from: floats))
    }

    @Test func bfloat16RoundsToNearestEven() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3F80), (-2, 0xC000), (-0.0, 0x8000), (3.140625, 0x4049),
            (1 + 0x1p-8, 0x3F80),       // tie: to even
            (1 + 3 * 0x1p-8, 0x3F82),   // tie: to even
            (1 + 0x1p-8 + 0x1p-20, 0x3F81),
            (.greatestFiniteMagnitude, 0x7F80), (.infinity, 0x7F80), (-.infinity, 0xFF80),
            (Float(bitPattern: 0x0001_2345), 0x0001),  // subnormal
        ]
        #expect(HalfPrecision.bfloat16Bits(from: cases.map(\.0)) == cases.map(\.1))
        let nans = HalfPrecision.bfloat16Bits(from: [.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFFF_FFFF)])
        #expect(nans.allSatisfy { $0 & 0x7F80 == 0x7F80 && $0 & 0x007F != 0 }, "\(nans)")
    }

    @Test func bfloat16WidensExactly() {
        let floats = HalfPrecision.floats(fromBFloat16Bits: [0x3F80, 0x4049, 0xC000, 0x7F80, 0x0001, 0x7FC0])
        #expect(Array(floats.prefix(5)) == [1, 3.140625, -2, .infinity, Float(bitPattern: 0x0001_0000)])
        #expect(floats[5].isNaN)
    }
}
