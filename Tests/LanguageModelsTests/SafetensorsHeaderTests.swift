import Foundation
import Testing
import TestScratch
import Tensors
import LanguageModels

/// Header validation, on files built byte by byte.
@Suite struct SafetensorsHeaderTests {
    /// Writes `bytes` to a temporary file, opens it, and returns the file.
    private func open(_ bytes: Data) throws -> SafetensorsFile {
        return try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try bytes.write(to: url)
            return try SafetensorsFile(contentsOf: url)
        }
    }

    private func float32Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    }

    @Test func readsAValidFileWithMetadata() throws {
        let header = #"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]}}"#
        let file = try open(safetensorsBytes(header: header, data: float32Bytes([1, 2, 3, -4.5, 0.25])))
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensorNames == ["a", "b", "empty"])
        #expect(try file.tensor(named: "a") == Tensor(shape: [3], scalars: [1, 2, 3]))
        #expect(try file.tensor(named: "b") == Tensor(shape: [2], scalars: [-4.5, 0.25]))
        #expect(try file.tensor(named: "empty").shape == [0, 4])
    }

    @Test func convertsHalfBFloatAndDoubleBitPatterns() throws {
        // F16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), -0.0, inf.
        let half: [UInt16] = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00]
        // BF16: 1.0, -1.5, 3.140625.
        let bfloat: [UInt16] = [0x3f80, 0xbfc0, 0x4049]
        let double: [Double] = [0.1, -1e30]
        var data = half.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        data += bfloat.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        data += double.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let header = #"{"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},"d":{"dtype":"F64","shape":[2],"data_offsets":[18,34]}}"#
        let file = try open(safetensorsBytes(header: header, data: data))
        let h = try file.floatScalars(named: "h")
        #expect(Array(h.prefix(4)) == [1, -2, 65504, 0x1p-24])
        #expect(h[4] == 0 && h[4].sign == .minus)
        #expect(h[5] == .infinity)
        #expect(try file.floatScalars(named: "b") == [1, -1.5, 3.140625])
        #expect(try file.floatScalars(named: "d") == [Float(0.1), Float(-1e30)])
    }

    @Test func readsRawUInt32AndRefusesIntegersAsFloats() throws {
        let words: [UInt32] = [0xdead_beef, 7]
        let header = #"{"packed":{"dtype":"U32","shape":[1,2],"data_offsets":[0,8]}}"#
        let file = try open(safetensorsBytes(header: header, data: words.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }))
        #expect(try file.uint32Scalars(named: "packed") == words)
        expectLoadingError(containing: ["'packed'", "dtype U32", "not a floating-point type"]) { _ = try file.tensor(named: "packed") }
        expectLoadingError(containing: ["no tensor named 'other'"]) { _ = try file.tensor(named: "other") }
    }

    @Test func rejectsAFileTooShortForTheHeaderSize() {
        expectLoadingError(containing: ["model.safetensors", "file is 5 bytes", "8-byte header size"]) {
            _ = try open(Data([1, 2, 3, 4, 5]))
        }
        expectLoadingError(containing: ["file is 0 bytes"]) { _ = try open(Data()) }
    }

    @Test func rejectsAHeaderSizePastTheEndOfTheFile() {
        let bytes = safetensorsBytes(header: "{}", data: [], declaredHeaderSize: 1000)
        expectLoadingError(containing: ["model.safetensors", "header size 1000 runs past the end of the file (10 bytes"]) {
            _ = try open(bytes)
        }
    }

    @Test func rejectsInvalidJSON() {
        expectLoadingError(containing: ["model.safetensors", "header is not valid JSON", "{\"a\": [1,"]) {
            _ = try open(safetensorsBytes(header: #"{"a": [1,"#, data: []))
        }
        expectLoadingError(containing: ["header is not a JSON object"]) {
            _ = try open(safetensorsBytes(header: "[1, 2]", data: []))
        }
    }

    @Test func rejectsAnUnknownDType() {
        let header = #"{"w":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[0,2]}}"#
        expectLoadingError(containing: ["model.safetensors", "tensor 'w'", "unknown dtype 'F8_E5M2'", "BF16"]) {
            _ = try open(safetensorsBytes(header: header, data: [0, 0]))
        }
    }

    @Test func rejectsMalformedShapesAndOffsets() {
        expectLoadingError(containing: ["tensor 'w'", "shape [2, -1] has a negative dimension"]) {
            _ = try open(safetensorsBytes(header: #"{"w":{"dtype":"U8","shape":[2,-1],"data_offsets":[0,0]}}"#, data: []))
        }
        expectLoadingError(containing: ["tensor 'w'", "'shape' is missing"]) {
            _ = try open(safetensorsBytes(header: #"{"w":{"dtype":"U8","data_offsets":[0,0]}}"#, data: []))
        }
        expectLoadingError(containing: ["tensor 'w'", "'data_offsets' is missing or not a pair"]) {
            _ = try open(safetensorsBytes(header: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}"#, data: [0]))
        }
    }

    @Test func rejectsOffsetsOutsideTheDataSection() {
        let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        expectLoadingError(containing: ["model.safetensors", "tensor 'w'", "data_offsets [4, 12] lie outside the data section of 8 bytes"]) {
            _ = try open(safetensorsBytes(header: header, data: float32Bytes([1, 2])))
        }
        expectLoadingError(containing: ["tensor 'w'", "data_offsets [8, 4] lie outside"]) {
            _ = try open(safetensorsBytes(header: #"{"w":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}}"#, data: float32Bytes([1, 2])))
        }
    }

    @Test func rejectsASizeMismatch() {
        let header = #"{"lm_head.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,12]}}"#
        expectLoadingError(containing: ["tensor 'lm_head.weight'", "data_offsets [0, 12] hold 12 bytes but F32 [2, 3] needs 24"]) {
            _ = try open(safetensorsBytes(header: header, data: float32Bytes([1, 2, 3, 4, 5, 6])))
        }
    }

    @Test func rejectsOverlappingTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        expectLoadingError(containing: ["model.safetensors", "tensors 'a' [0, 12] and 'b' [8, 16] overlap"]) {
            _ = try open(safetensorsBytes(header: header, data: float32Bytes([1, 2, 3, 4])))
        }
    }

    @Test func rejectsMetadataThatIsNotAStringMap() {
        expectLoadingError(containing: ["__metadata__ value for 'n' is not a string"]) {
            _ = try open(safetensorsBytes(header: #"{"__metadata__":{"n":3}}"#, data: []))
        }
    }
}
