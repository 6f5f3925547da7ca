import Foundation
import Testing
import Tensors
import LanguageModels
import TestScratch

/// GGUF matrices read the mapped file in place: their bytes are the file's (no copy), they outlive the
/// ``GGUFFile`` object, data at odd addresses (a file aligned to 1 byte) is copied with the same values, and a
/// truncated file is refused naming the file and the tensor. Values are checked against `gguf.quants.dequantize`
/// (quants_expected.safetensors, scripts/make_gguf_fixtures.py).
@Suite struct GGUFMappingTests {
    static func expected(_ type: String) throws -> Tensor {
        try SafetensorsFile(contentsOf: GGUFTests.directory.appendingPathComponent("quants_expected.safetensors")).tensor(named: type)
    }

    static func address(_ file: GGUFFile, _ name: String) throws -> UnsafeRawPointer? {
        try file.withUnsafeBytes(ofTensor: name) { $0.baseAddress }
    }

    @Test(arguments: GGUFTests.typeNames) func everyTypeBorrowsTheMappedBytes(type: String) throws {
        let file = try GGUFTests.file("quants.gguf")
        let matrix = try file.matrix(named: type)
        #expect(matrix.isBorrowed)
        #expect(matrix.withUnsafePackedBytes { $0.baseAddress } == (try Self.address(file, type)))
        #expect(matrix.dequantized().scalars.map(\.bitPattern) == (try Self.expected(type)).scalars.map(\.bitPattern))
        guard let half = matrix.halfPrecisionMatrix() else { return }
        #expect(UnsafeRawPointer(half.withUnsafeBits { $0.baseAddress }) == (try Self.address(file, type)), "\(type) bits copied")
        #expect(half.floats() == (try Self.expected(type)))
    }

    /// Matrices, and the 16-bit matrices made from them, keep the file mapped after the file object is released.
    @Test func matricesOutliveTheFileObject() throws {
        var file: GGUFFile? = try GGUFTests.file("quants.gguf")
        let quantized = try file!.matrix(named: "Q4_K")
        let half = try file!.matrix(named: "BF16").halfPrecisionMatrix()!
        weak var released = file
        file = nil
        #expect(released == nil)
        #expect(quantized.dequantized() == (try Self.expected("Q4_K")))
        #expect(half.floats() == (try Self.expected("BF16")))
        let x = Tensor(shape: [1, 512], scalars: (0..<512).map { Float($0 % 7) - 3 })
        #expect(quantized.matmulTransposed(x).maxAbsDifference(x.matmul(try Self.expected("Q4_K"), transposeOther: true)) <= 1e-3)
    }

    /// A model's weights: quantized and 16-bit projections read the file; the llama q/k projections, whose rows are
    /// put back in Hugging Face's order, are copies in their stored type.
    @Test func modelWeightsReadTheFileExceptReorderedRows() throws {
        let file = try GGUFTests.file("llama.gguf")
        let weights = try GGUFWeights(file: file, configuration: try ModelConfiguration(gguf: file))
        let down = try weights.weightMatrix(module: "model.layers.0.mlp.down_proj", shape: [64, 256], quantization: nil)
        guard case .gguf(let packed) = down else { Issue.record("expected a packed Q2_K matrix"); return }
        #expect(packed.withUnsafePackedBytes { $0.baseAddress } == (try Self.address(file, "blk.0.ffn_down.weight")))
        for (module, name) in [("model.layers.1.mlp.gate_proj", "blk.1.ffn_gate.weight"), ("model.layers.1.mlp.up_proj", "blk.1.ffn_up.weight")] {
            let matrix = try weights.weightMatrix(module: module, shape: [256, 64], quantization: nil)
            guard case .halfPrecision(let half) = matrix else { Issue.record("\(module): expected a 16-bit matrix"); continue }
            #expect(UnsafeRawPointer(half.withUnsafeBits { $0.baseAddress }) == (try Self.address(file, name)), "\(module) copied")
        }
        let query = try weights.weightMatrix(module: "model.layers.0.self_attn.q_proj", shape: [64, 64], quantization: nil)
        guard case .gguf(let reordered) = query else { Issue.record("expected a packed Q4_0 matrix"); return }
        #expect(!reordered.isBorrowed && reordered.type == .q4_0)
    }

    /// `general.alignment` 1 lets a 16-bit tensor start at an odd address: it is copied (aligned) with the same
    /// values; a Q8_0 tensor at an odd address is read in place (its decoders read bytes).
    @Test func oddAddressesAreCopiedForSixteenBitTypes() throws {
        let halfValues: [Float] = [1, -2, 0.5, 3.25, -0.125, 8, 1.5, -1]
        let q8Scale = Float16(0.5)
        let q8Codes: [Int8] = (0..<32).map { Int8($0 - 16) }
        for (typeID, format) in [(UInt32(1), HalfPrecision.Format.float16), (30, .bfloat16)] {
            var bytes = GGUFBytes()
            bytes.header(tensors: 2, metadata: 1)
            bytes.keyUInt32("general.alignment", 1)
            bytes.tensor("q", [32, 1], type: 8, offset: 0)
            let recordsEnd = bytes.data.count + 8 + 1 + 4 + 8 + 8 + 4 + 8
            let halfOffset = (recordsEnd + 34) % 2 == 1 ? 34 : 35
            bytes.tensor("h", [4, 2], type: typeID, offset: UInt64(halfOffset))
            #expect(bytes.data.count == recordsEnd)
            withUnsafeBytes(of: q8Scale.bitPattern.littleEndian) { bytes.data.append(contentsOf: $0) }
            q8Codes.forEach { bytes.u8(UInt8(bitPattern: $0)) }
            while bytes.data.count < recordsEnd + halfOffset { bytes.u8(0) }
            for bits in HalfPrecision.bits(from: halfValues, format: format) {
                withUnsafeBytes(of: bits.littleEndian) { bytes.data.append(contentsOf: $0) }
            }
            let file = try withTemporaryFile(bytes.data, named: "odd.gguf") { try GGUFFile(contentsOf: $0) }
            #expect(Int(bitPattern: try Self.address(file, "h")) % 2 == 1)
            let half = try file.matrix(named: "h").halfPrecisionMatrix()!
            #expect(half.format == format && half.shape == [2, 4])
            #expect(UnsafeRawPointer(half.withUnsafeBits { $0.baseAddress }) != (try Self.address(file, "h")))
            #expect(half.floats().scalars == halfValues)
            let q8 = try file.matrix(named: "q")
            let x = Tensor(shape: [1, 32], scalars: (0..<32).map { Float($0 % 5) })
            let weights: [Float] = q8Codes.map { Float($0) * Float(q8Scale) }
            var dot: Float = 0
            for (value, weight) in zip(x.scalars, weights) { dot += value * weight }
            #expect(q8.isBorrowed && q8.dequantized().scalars == weights)
            #expect(q8.matmulTransposed(x).scalars == [dot])
        }
    }

    /// A file cut short: the tensor that no longer fits is named with the file.
    @Test func truncatedDataNamesTheFileAndTensor() throws {
        let source = GGUFTests.directory.appendingPathComponent("quants.gguf")
        let file = try GGUFFile(contentsOf: source)
        let last = file.tensorInfos.values.max { $0.dataRange.upperBound < $1.dataRange.upperBound }!
        // The padding after the last tensor is shorter than the alignment: this cuts 7 bytes of the tensor itself.
        let truncated = try Data(contentsOf: source).dropLast(file.alignment + 7)
        try withTemporaryFile(truncated, named: "truncated.gguf") { url in
            expectLoadingError(containing: [url.path, "tensor '\(last.name)'", "past the end of the"]) { _ = try GGUFFile(contentsOf: url) }
        }
    }
}
