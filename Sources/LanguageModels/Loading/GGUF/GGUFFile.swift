import Foundation
import Tensors

/// A memory-mapped llama.cpp GGUF file with a validated header: metadata and tensor index.
///
/// Opening a file maps it and checks the header (see ``GGUFHeader``). Matrices of every type stay in their stored
/// type and read the mapped file in place (``matrix(named:rowOrder:)``; the file stays mapped while any of them
/// lives, even after this object is gone), so their pages are loaded when first touched; other tensors are
/// dequantized to `Float` (``tensor(named:)``).
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
        defer { mapping.releasePages(fileRange(of: info)) }
        let matrix = GGUFMatrix(rowCount: rows, columnCount: columns, type: info.type, storage: borrowedBytes(of: info))
        return matrix.dequantized().reshaped(info.shape)
    }

    /// A two-dimensional tensor kept in its stored type, `[ne[1], ne[0]]`, reading the mapped file in place;
    /// `rowOrder[r]`, when given, is the stored row that becomes row `r` (to undo a permutation of rows made at
    /// conversion): such a matrix is a copy in the stored type, and the mapped pages it was copied from are released.
    public func matrix(named name: String, rowOrder: [Int]? = nil) throws -> GGUFMatrix {
        let info = try info(named: name)
        guard info.dimensions.count == 2 else {
            throw LoadingError("\(url.path): tensor '\(name)' has \(info.dimensions.count) dimensions \(info.shape), expected a matrix")
        }
        let (rows, columns) = (info.dimensions[1], info.dimensions[0])
        let stored = GGUFMatrix(rowCount: rows, columnCount: columns, type: info.type, storage: borrowedBytes(of: info))
        guard let rowOrder else { return stored }
        precondition(rowOrder.count == rows, "rowOrder has \(rowOrder.count) entries for \(rows) rows")
        defer { mapping.releasePages(fileRange(of: info)) }
        return stored.rowSelection(rowOrder)
    }

    /// Expert `expert`'s matrix `[ne[1], ne[0]]` of a three-dimensional tensor stacking one matrix per expert
    /// (`[ne[2] experts, ne[1], ne[0]]`, llama.cpp's `ffn_{gate,up,down}_exps`), kept in its stored type and reading
    /// the mapped file in place: the stack is never copied nor dequantized whole.
    public func expertMatrix(named name: String, expert: Int) throws -> GGUFMatrix {
        let info = try info(named: name)
        guard info.dimensions.count == 3 else {
            throw LoadingError("\(url.path): tensor '\(name)' has \(info.dimensions.count) dimensions \(info.shape), expected a stack of expert matrices [experts, rows, columns]")
        }
        let (experts, rows, columns) = (info.dimensions[2], info.dimensions[1], info.dimensions[0])
        guard expert >= 0 && expert < experts else {
            throw LoadingError("\(url.path): tensor '\(name)' stacks \(experts) experts; expert \(expert) is not among them")
        }
        let stack = GGUFMatrix(rowCount: experts * rows, columnCount: columns, type: info.type, storage: borrowedBytes(of: info))
        return stack.rowBlock((expert * rows)..<((expert + 1) * rows))
    }

    /// Calls `body` with the raw bytes of a tensor; the bytes must not escape `body`.
    public func withUnsafeBytes<Result>(ofTensor name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        let info = try info(named: name)
        return try body(UnsafeRawBufferPointer(rebasing: mapping.bytes[fileRange(of: info)]))
    }

    /// The bytes of a tensor in the mapped file, read in place; they keep the file mapped while they live.
    private func borrowedBytes(of info: GGUFTensorInfo) -> GGUFPackedBytes {
        GGUFPackedBytes(borrowing: UnsafeRawBufferPointer(rebasing: mapping.bytes[fileRange(of: info)]), owner: mapping)
    }

    /// Where a tensor's bytes lie in the file (the header checked that they lie inside it).
    private func fileRange(of info: GGUFTensorInfo) -> Range<Int> {
        (dataStart + info.dataRange.lowerBound)..<(dataStart + info.dataRange.upperBound)
    }
}
