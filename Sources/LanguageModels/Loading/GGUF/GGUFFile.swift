import Foundation
import Tensors

/// A memory-mapped llama.cpp GGUF file with a validated header: metadata and tensor index.
///
/// Opening a file maps it and checks the header (see ``GGUFHeader``); reading a tensor copies only its bytes.
/// Quantized matrices stay packed (``matrix(named:rowOrder:)``); other tensors are dequantized to `Float`.
///
/// ```swift
/// let file = try GGUFFile(contentsOf: URL(fileURLWithPath: "model.Q4_K_M.gguf"))
/// print(file.metadata["general.architecture"]?.string ?? "?", file.tensorInfos.count)
/// let norm = try file.tensor(named: "output_norm.weight")      // any type -> Float
/// ```
public final class GGUFFile: @unchecked Sendable {
    /// The file's location.
    public let url: URL
    /// The format version (2 or 3).
    public let version: Int
    /// Every metadata value, by key.
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order.
    public let metadataKeys: [String]
    /// Every tensor, by name.
    public let tensorInfos: [String: GGUFTensorInfo]
    /// The tensor names in file order.
    public let tensorNames: [String]
    /// The alignment of the data section (`general.alignment`, default 32).
    public let alignment: Int
    private let mapping: MappedFile
    private let dataStart: Int

    /// Maps `url` and validates its header; throws a ``LoadingError`` naming the file and the field at fault.
    public init(contentsOf url: URL) throws {
        mapping = try MappedFile(url: url, minimumSize: 1) { size in
            LoadingError("\(url.path): file is \(size) bytes, too short for a GGUF header")
        }
        let header = try GGUFHeader(file: mapping.bytes, path: url.path)
        self.url = url
        version = Int(header.version)
        metadata = Dictionary(uniqueKeysWithValues: header.metadata.map { ($0.key, $0.value) })
        metadataKeys = header.metadata.map(\.key)
        tensorInfos = Dictionary(uniqueKeysWithValues: header.tensors.map { ($0.name, $0) })
        tensorNames = header.tensors.map(\.name)
        alignment = header.alignment
        dataStart = header.dataStart
    }

    /// Whether the file has a tensor of this name.
    public func has(_ name: String) -> Bool { tensorInfos[name] != nil }

    /// The description of one tensor; throws when the file has no tensor of that name.
    public func info(named name: String) throws -> GGUFTensorInfo {
        guard let info = tensorInfos[name] else {
            throw LoadingError("\(url.path): no tensor named '\(name)' (the file has \(tensorInfos.count) tensors)")
        }
        return info
    }

    /// A tensor of any supported type dequantized to a `Float` ``Tensor`` of its shape (outermost first).
    public func tensor(named name: String) throws -> Tensor {
        let info = try info(named: name)
        let columns = info.dimensions[0]
        let rows = columns == 0 ? 0 : info.elementCount / columns
        let matrix = GGUFMatrix(rowCount: rows, columnCount: columns, type: info.type, packed: try bytes(of: info))
        return matrix.dequantized().reshaped(info.shape)
    }

    /// A two-dimensional tensor kept packed, `[ne[1], ne[0]]`; `rowOrder[r]`, when given, is the stored row that
    /// becomes row `r` (to undo a permutation of rows made at conversion).
    public func matrix(named name: String, rowOrder: [Int]? = nil) throws -> GGUFMatrix {
        let info = try info(named: name)
        guard info.dimensions.count == 2 else {
            throw LoadingError("\(url.path): tensor '\(name)' has \(info.dimensions.count) dimensions \(info.shape), expected a matrix")
        }
        let (rows, columns) = (info.dimensions[1], info.dimensions[0])
        var packed = try bytes(of: info)
        if let rowOrder {
            precondition(rowOrder.count == rows, "rowOrder has \(rowOrder.count) entries for \(rows) rows")
            let rowBytes = info.dataRange.count / Swift.max(rows, 1)
            let stored = packed
            stored.withUnsafeBytes { source in
                packed.withUnsafeMutableBytes { destination in
                    for (row, storedRow) in rowOrder.enumerated() {
                        destination.baseAddress!.advanced(by: row * rowBytes)
                            .copyMemory(from: source.baseAddress! + storedRow * rowBytes, byteCount: rowBytes)
                    }
                }
            }
        }
        return GGUFMatrix(rowCount: rows, columnCount: columns, type: info.type, packed: packed)
    }

    /// Calls `body` with the raw bytes of a tensor; the bytes must not escape `body`.
    public func withUnsafeBytes<Result>(ofTensor name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        let info = try info(named: name)
        return try body(UnsafeRawBufferPointer(rebasing: mapping.bytes[(dataStart + info.dataRange.lowerBound)..<(dataStart + info.dataRange.upperBound)]))
    }

    /// A copy of a tensor's bytes; the mapped pages are then released (see ``MappedFile/releasePages(_:)``).
    private func bytes(of info: GGUFTensorInfo) throws -> [UInt8] {
        let range = (dataStart + info.dataRange.lowerBound)..<(dataStart + info.dataRange.upperBound)
        defer { mapping.releasePages(range) }
        return [UInt8](mapping.bytes[range])
    }
}
