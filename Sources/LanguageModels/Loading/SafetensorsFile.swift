import Foundation
import Tensors

/// A memory-mapped `.safetensors` file with a validated header.
///
/// Opening a file maps it and checks every header entry (known dtype, non-negative shape, offsets inside the
/// data section whose length matches the shape, no two tensors overlapping); reading a tensor copies only its
/// bytes, converting to `Float` on the way.
///
/// ```swift
/// let file = try SafetensorsFile(contentsOf: url)
/// let embedding = try file.tensor(named: "model.embed_tokens.weight")   // F32, F16, BF16 or F64 -> Float
/// let packed = try file.uint32Scalars(named: "model.layers.0.mlp.up_proj.weight")   // U32, raw
/// ```
public final class SafetensorsFile: @unchecked Sendable {
    /// The file's location.
    public let url: URL
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]
    /// Every tensor in the file, by name.
    public let tensorInfos: [String: SafetensorsTensorInfo]
    private let mapping: MappedFile
    private let dataStart: Int

    /// Maps `url` and validates its header; throws a ``LoadingError`` naming the file and tensor at fault.
    public init(contentsOf url: URL) throws {
        mapping = try MappedFile(url: url, minimumSize: 8) { size in
            LoadingError("\(url.path): file is \(size) bytes, too short for the 8-byte header size")
        }
        let header = try SafetensorsHeader(file: mapping.bytes, path: url.path)
        self.url = url
        metadata = header.metadata
        tensorInfos = header.tensors
        dataStart = header.dataStart
    }

    /// The tensor names, sorted.
    public var tensorNames: [String] { tensorInfos.keys.sorted() }

    /// The description of one tensor; throws when the file has no tensor of that name.
    public func info(named name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensorInfos[name] else {
            throw LoadingError("\(url.path): no tensor named '\(name)' (the file has \(tensorInfos.count) tensors)")
        }
        return info
    }

    /// A floating-point tensor (F32, F16, BF16 or F64) converted to a `Float` ``Tensor`` of the stored shape.
    public func tensor(named name: String) throws -> Tensor {
        let info = try info(named: name)
        return Tensor(shape: info.shape, scalars: try floatScalars(named: name))
    }

    /// The elements of a floating-point tensor converted to `Float`, in row-major order.
    public func floatScalars(named name: String) throws -> [Float] {
        let info = try info(named: name)
        guard info.dtype.isFloatingPoint else {
            throw LoadingError("\(url.path): tensor '\(name)' has dtype \(info.dtype.rawValue), not a floating-point type"
                + (info.dtype == .uint32 ? " (packed quantized weights are read with uint32Scalars or as a QuantizedMatrix)" : "")
                + (info.dtype == .float8E4M3 ? " (FP8 codes are read only as a Linear weight with its weight_scale_inv)" : ""))
        }
        defer { releasePages(of: info) }
        return withBytes(of: info) { bytes in
            switch info.dtype {
            case .float16: return Self.halfBits(bytes, count: info.elementCount, HalfPrecision.floats(fromFloat16Bits:))
            case .bfloat16: return Self.halfBits(bytes, count: info.elementCount, HalfPrecision.floats(fromBFloat16Bits:))
            default:
                return [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
                    Self.convert(bytes, of: info.dtype, into: buffer)
                    initialized = info.elementCount
                }
            }
        }
    }

    /// A rank-2 bfloat16 or float16 tensor kept in its format; nil when the tensor has another dtype.
    ///
    /// The matrix reads the mapped file in place (the file stays mapped while the matrix lives), so its pages
    /// are loaded when a product first touches them and can be dropped again by the system under memory
    /// pressure. Data at an odd address (possible only after odd-sized tensors) is copied instead.
    public func halfPrecisionMatrix(named name: String) throws -> HalfPrecisionMatrix? {
        let info = try info(named: name)
        let format: HalfPrecision.Format
        switch info.dtype {
        case .bfloat16: format = .bfloat16
        case .float16: format = .float16
        default: return nil
        }
        guard info.shape.count == 2 else {
            throw LoadingError("\(url.path): tensor '\(name)' has shape \(info.shape), expected a matrix")
        }
        let (rows, columns) = (info.shape[0], info.shape[1])
        return withBytes(of: info) { bytes in
            guard let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<UInt16>.alignment == 0 else {
                let copied = [UInt16](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<(2 * info.elementCount)]))
                    initialized = info.elementCount
                }
                return HalfPrecisionMatrix(rowCount: rows, columnCount: columns, format: format, bits: copied)
            }
            return HalfPrecisionMatrix(rowCount: rows, columnCount: columns, format: format,
                                       borrowing: base.assumingMemoryBound(to: UInt16.self), owner: mapping)
        }
    }

    /// The elements of a `U32` tensor (e.g. MLX-packed quantized weights), in row-major order.
    public func uint32Scalars(named name: String) throws -> [UInt32] {
        let info = try info(named: name)
        guard info.dtype == .uint32 else {
            throw LoadingError("\(url.path): tensor '\(name)' has dtype \(info.dtype.rawValue), expected U32")
        }
        defer { releasePages(of: info) }
        return withBytes(of: info) { bytes in
            (0..<info.elementCount).map { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
    }

    /// Calls `body` with the raw little-endian bytes of a tensor of any dtype; the bytes must not escape `body`.
    public func withUnsafeBytes<Result>(
        ofTensor name: String, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result {
        try withBytes(of: try info(named: name), body)
    }

    /// Lets the mapped bytes of tensor `name`, once copied out, leave memory; reading it again reads the file.
    public func releasePages(ofTensor name: String) throws {
        releasePages(of: try info(named: name))
    }

    /// Lets the mapped bytes of a tensor that has been copied out leave memory (see ``MappedFile/releasePages(_:)``).
    private func releasePages(of info: SafetensorsTensorInfo) {
        let start = dataStart + info.dataOffsets.lowerBound
        mapping.releasePages(start..<(start + info.dataOffsets.count))
    }

    private func withBytes<Result>(
        of info: SafetensorsTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        let start = dataStart + info.dataOffsets.lowerBound
        return try body(UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<(start + info.dataOffsets.count)]))
    }

    /// Converts `count` 16-bit patterns with `convert`, reading them in place when aligned.
    private static func halfBits(_ bytes: UnsafeRawBufferPointer, count: Int,
                                 _ convert: (UnsafeBufferPointer<UInt16>) -> [Float]) -> [Float] {
        if let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<UInt16>.alignment == 0 {
            return convert(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt16.self), count: count))
        }
        let aligned = [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<(2 * count)]))
            initialized = count
        }
        return aligned.withUnsafeBufferPointer(convert)
    }

    /// Converts little-endian F32 or F64 elements to `Float`.
    private static func convert(_ bytes: UnsafeRawBufferPointer, of dtype: SafetensorsDType, into out: UnsafeMutableBufferPointer<Float>) {
        switch dtype {
        case .float32:
            for i in out.indices {
                out[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .float64:
            for i in out.indices {
                out[i] = Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        default:
            preconditionFailure("convert called with non-floating dtype \(dtype)")
        }
    }
}
