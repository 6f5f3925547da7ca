import Foundation

/// Where one tensor lives in a safetensors file and what it holds.
public struct SafetensorsTensorInfo: Equatable, Sendable {
    /// The tensor's name, e.g. `model.layers.0.mlp.up_proj.weight`.
    public let name: String
    /// The element type.
    public let dtype: SafetensorsDType
    /// The extent of each axis, outermost first.
    public let shape: [Int]
    /// The tensor's bytes, relative to the start of the data section (after the header).
    public let dataOffsets: Range<Int>

    /// The number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// The parsed and validated JSON header of a safetensors file.
///
/// Layout: 8 bytes of little-endian header size `N`, `N` bytes of JSON, then the data section. The JSON maps
/// each tensor name to `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}` (offsets relative to
/// the data section) and may hold a `__metadata__` object of string values.
struct SafetensorsHeader {
    /// Headers larger than this are refused, as by the reference implementation.
    static let maximumHeaderSize = 100_000_000

    let tensors: [String: SafetensorsTensorInfo]
    let metadata: [String: String]
    /// The offset of the data section from the start of the file.
    let dataStart: Int

    /// Parses and validates the header of a file whose complete bytes are `file`; `path` names it in errors.
    init(file: UnsafeRawBufferPointer, path: String) throws {
        func failure(_ message: String) -> LoadingError { LoadingError("\(path): \(message)") }
        guard file.count >= 8 else {
            throw failure("file is \(file.count) bytes, too short for the 8-byte header size")
        }
        let declaredSize = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard declaredSize <= UInt64(file.count - 8) else {
            throw failure("header size \(declaredSize) runs past the end of the file (\(file.count) bytes, so at most \(file.count - 8))")
        }
        let headerSize = Int(declaredSize)
        guard headerSize <= Self.maximumHeaderSize else {
            throw failure("header size \(headerSize) exceeds the limit of \(Self.maximumHeaderSize) bytes")
        }
        dataStart = 8 + headerSize
        let dataSize = file.count - dataStart
        let json = Data(file[8..<dataStart])

        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw failure("header is not valid JSON (\(headerSize) bytes starting \(Self.preview(json)))")
        }
        guard let entries = root as? [String: Any] else {
            throw failure("header is not a JSON object (\(headerSize) bytes starting \(Self.preview(json)))")
        }

        var metadata: [String: String] = [:]
        var tensors: [String: SafetensorsTensorInfo] = [:]
        for name in entries.keys.sorted() {
            if name == "__metadata__" {
                guard let values = entries[name] as? [String: Any] else {
                    throw failure("__metadata__ is not a JSON object")
                }
                for (key, value) in values {
                    guard let string = value as? String else {
                        throw failure("__metadata__ value for '\(key)' is not a string")
                    }
                    metadata[key] = string
                }
                continue
            }
            tensors[name] = try Self.tensorInfo(name: name, entry: entries[name]!, dataSize: dataSize) {
                failure("tensor '\(name)': \($0)")
            }
        }
        try Self.checkNoOverlap(tensors.values) { failure($0) }
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func tensorInfo(
        name: String, entry: Any, dataSize: Int, failure: (String) -> LoadingError
    ) throws -> SafetensorsTensorInfo {
        guard let fields = entry as? [String: Any] else { throw failure("entry is not a JSON object") }
        guard let dtypeName = fields["dtype"] as? String else { throw failure("missing or non-string 'dtype'") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            let known = SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw failure("unknown dtype '\(dtypeName)' (known: \(known))")
        }
        guard let shape = integers(fields["shape"]) else {
            throw failure("'shape' is missing or not an array of integers")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw failure("shape \(shape) has a negative dimension") }
        guard let offsets = integers(fields["data_offsets"]), offsets.count == 2 else {
            throw failure("'data_offsets' is missing or not a pair of integers [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw failure("data_offsets [\(begin), \(end)] lie outside the data section of \(dataSize) bytes")
        }
        var needed = dtype.byteCount
        for dimension in shape {
            let (product, overflow) = needed.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw failure("shape \(shape) is too large") }
            needed = product
        }
        guard end - begin == needed else {
            throw failure("data_offsets [\(begin), \(end)] hold \(end - begin) bytes but \(dtype.rawValue) \(shape) needs \(needed)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    private static func checkNoOverlap(
        _ tensors: Dictionary<String, SafetensorsTensorInfo>.Values, failure: (String) -> LoadingError
    ) throws {
        let ordered = tensors.filter { !$0.dataOffsets.isEmpty }
            .sorted { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where next.dataOffsets.lowerBound < previous.dataOffsets.upperBound {
            throw failure("tensors '\(previous.name)' \(describe(previous.dataOffsets)) and '\(next.name)' \(describe(next.dataOffsets)) overlap")
        }
    }

    private static func describe(_ range: Range<Int>) -> String { "[\(range.lowerBound), \(range.upperBound)]" }

    /// Integers from a JSON array, or nil when it is not an array of integral numbers.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Int] = []
        for element in array {
            guard let number = element as? NSNumber,
                  let integer = Int(exactly: number.doubleValue) else { return nil }
            result.append(integer)
        }
        return result
    }

    private static func preview(_ json: Data) -> String {
        let text = String(decoding: json.prefix(40), as: UTF8.self)
        return "'\(text)\(json.count > 40 ? "..." : "")'"
    }
}
