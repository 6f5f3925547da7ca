import Foundation
import Testing
import Tensors

/// The values of MLX's microscaling codes and scales against torch's `float8_e4m3fn` (every E4M3 code) and MLX's own
/// mxfp4 dequantization (every E2M1 code, every E8M0 scale); scripts/make_mlx_fixtures.py writes them.
@Suite struct FloatCodesTests {
    static let reference: [String: [Double?]] = {
        let url = Bundle.module.url(forResource: "mlx_fp_codes", withExtension: "json", subdirectory: "Fixtures")!
        let object = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: [Any]]
        return object.mapValues { $0.map { $0 as? Double } }
    }()

    static func expectValues(_ name: String, _ value: (UInt8) -> Float) {
        let expected = reference[name]!
        for (code, wanted) in expected.enumerated() {
            let found = value(UInt8(code))
            if let wanted {
                #expect(found == Float(wanted) && found.sign == Float(wanted).sign, "\(name) code \(code): \(found), expected \(wanted)")
            } else {
                #expect(found.isNaN, "\(name) code \(code): \(found), expected NaN")
            }
        }
    }

    @Test func e4m3CodesMatchTorch() {
        #expect(Self.reference["e4m3"]!.count == 256)
        Self.expectValues("e4m3") { FusedQuantizedProduct.FloatCodes.e4m3.value($0) }
    }

    @Test func e2m1CodesMatchMLX() {
        #expect(Self.reference["e2m1"]!.count == 16)
        Self.expectValues("e2m1") { FusedQuantizedProduct.FloatCodes.e2m1.value($0) }
    }

    /// Every code decoded as the products decode them (the vectorized decoders on AVX2 / AVX-512 machines): a row of
    /// all codes in groups with different scales equals torch's and MLX's values times the group's scale (E2M1's
    /// zero may lose its sign there, which no product can see).
    @Test(arguments: [FusedQuantizedProduct.FloatCodes.e4m3, .e2m1])
    func dequantizedRowsMatchTheReference(_ codes: FusedQuantizedProduct.FloatCodes) {
        let expected = Self.reference[codes == .e4m3 ? "e4m3" : "e2m1"]!
        let depth = 256, groupSize = 32, codeCount = expected.count
        let scales: [Float] = (0..<depth / groupSize).map { Float(1 << $0) / 4 }
        let codesPerByte = 8 / codes.bits
        let packed: [UInt8] = (0..<depth / codesPerByte).map { byte in
            codes == .e4m3 ? UInt8(byte % codeCount) : UInt8((2 * byte) % codeCount | ((2 * byte + 1) % codeCount) << 4)
        }
        var decoded = [Float](repeating: 0, count: depth)
        scales.withUnsafeBufferPointer { scales in
            packed.withUnsafeBytes { packed in
                FusedQuantizedProduct.dequantize(
                    weights: packed.baseAddress!, rowBytes: packed.count,
                    layout: .mlxFloat(codes: codes, groupSize: groupSize, scales: scales.baseAddress!),
                    outputs: 1, depth: depth, rowRange: 0..<1, into: &decoded)
            }
        }
        for column in 0..<depth {
            let scale = scales[column / groupSize]
            if let wanted = expected[column % codeCount] {
                #expect(decoded[column] == scale * Float(wanted), "code \(column % codeCount) scaled by \(scale): \(decoded[column])")
            } else {
                #expect(decoded[column].isNaN, "code \(column % codeCount): \(decoded[column]), expected NaN")
            }
        }
    }

    @Test func e8m0ScalesMatchMLX() {
        #expect(Self.reference["e8m0"]!.count == 255)
        Self.expectValues("e8m0") { FusedQuantizedProduct.FloatCodes.e8m0Value($0) }
        #expect(FusedQuantizedProduct.FloatCodes.e8m0Value(255).isNaN)
    }
}
