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

    @Test func e8m0ScalesMatchMLX() {
        #expect(Self.reference["e8m0"]!.count == 255)
        Self.expectValues("e8m0") { FusedQuantizedProduct.FloatCodes.e8m0Value($0) }
        #expect(FusedQuantizedProduct.FloatCodes.e8m0Value(255).isNaN)
    }
}
